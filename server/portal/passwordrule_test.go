package portal

import (
	"strings"
	"testing"
)

func TestCommonPasswordList(t *testing.T) {
	c := &commonPasswords{}
	n, err := c.Len()
	if err != nil {
		t.Fatal(err)
	}
	if n < 100_000 {
		t.Errorf("common password list has %d entries, want at least 100,000", n)
	}
	for _, p := range []string{"password1", "iloveyou", "qwertyuiop", "baseball1"} {
		if ok, err := c.contains(p); err != nil || !ok {
			t.Errorf("%q not found in the list: %v", p, err)
		}
	}
	for _, p := range []string{"tulip-orbit-93", "correct horse battery staple 7q", ""} {
		if ok, _ := c.contains(p); ok {
			t.Errorf("%q found in the list", p)
		}
	}
}

func TestNewPasswordRule(t *testing.T) {
	s := &Service{common: &commonPasswords{}}
	tests := []struct {
		password, user, display string
		want                    string // "" accepted, else part of the message
	}{
		{"tulip-orbit-93", "joe", "Joe", ""},
		{"Zürich-ärger-Ölbaum", "joe", "Joe", ""},
		{"パスワードは長い秘密", "joe", "Joe", ""},                        // any Unicode
		{strings.Repeat("xy z", 16), "joe", "Joe", ""},          // 64 characters allowed
		{"ａｂｃｄｅｆｇ", "joe", "Joe", "at least 8"},                 // NFKC: 7 characters
		{"short", "joe", "Joe", "at least 8"},                   //
		{strings.Repeat("q", 257), "joe", "Joe", "at most 256"}, //
		{"aaaaaaaa", "joe", "Joe", "repeated"},
		{"        ", "joe", "Joe", "repeated"},
		{"12345678", "joe", "Joe", "sequence"},
		{"abcdefghij", "joe", "Joe", "sequence"},
		{"87654321", "joe", "Joe", "sequence"},
		{"abababab", "joe", "Joe", "repeated"},
		{"password1", "joe", "Joe", "most common"},
		{"PassWord1", "joe", "Joe", "most common"},
		{"ｐａｓｓｗｏｒｄ１", "joe", "Joe", "most common"}, // full-width, NFKC to password1
		{"iloveyou", "joe", "Joe", "most common"},
		{"weak3weak3", "weak3", "weak3", "close to your username"},
		{"joe.smith2024", "joe.smith", "Joe Smith", "close to your username"},
		{"JoeSmith!!", "jsmith", "Joe Smith", "close to your username"},
		{"htimsnaej1", "jeansmith", "x", "close to your username"}, // reversed
		{"htims.naej99", "jeansmith", "Jean Smith", ""},            // unrelated letters
		{"9jeansmith", "jeansmith", "Jean", "close to your username"},
		{"jeansmith but with more words", "jeansmith", "Jean", ""},
	}
	for _, tt := range tests {
		err := s.checkNewPassword(tt.password, tt.user, tt.display)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q refused: %v", tt.password, err)
		case tt.want != "" && (err == nil || !strings.Contains(ErrorMessage(err), tt.want)):
			t.Errorf("%q: %v, want a refusal saying %q", tt.password, err, tt.want)
		case err != nil && ErrorCode(err) != EINVALID:
			t.Errorf("%q: code %s, want invalid", tt.password, ErrorCode(err))
		}
		if err != nil && tt.password != "12345678" && strings.Contains(ErrorMessage(err), tt.password) {
			t.Errorf("the message repeats the password: %q", ErrorMessage(err))
		}
	}
}

func BenchmarkCommonPasswordLookup(b *testing.B) {
	c := &commonPasswords{}
	if _, err := c.Len(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		c.contains("tulip-orbit-93")
	}
}

// Every per-address counter takes an IPv6 client's /64, an IPv4 client's
// address.
func TestClientKey(t *testing.T) {
	for ip, want := range map[string]string{
		"203.0.113.9":                "203.0.113.9",
		"::ffff:203.0.113.9":         "203.0.113.9",
		"2001:db8:1:2:aaaa::1":       "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:0:9": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":            "2001:db8:1:3::/64",
		"not an address":             "not an address",
	} {
		if got := clientKey(ip); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", ip, got, want)
		}
	}
}
