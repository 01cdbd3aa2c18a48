package totp

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseURIAccepts(t *testing.T) {
	jbs := []byte("Hello!\xde\xad\xbe\xef") // JBSWY3DPEHPK3PXP
	tests := []struct {
		name string
		uri  string
		want Key
	}{
		{"google example", "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			Key{Type: TOTP, Issuer: "Example", Account: "alice@google.com", Secret: jbs, Algorithm: SHA1, Digits: 6, Period: 30}},
		{"lower-case spaced padded secret", "otpauth://totp/Example:alice?secret=jbsw%20y3dp%20ehpk%203pxp%3D%3D%3D%3D&issuer=Example",
			Key{Type: TOTP, Issuer: "Example", Account: "alice", Secret: jbs, Algorithm: SHA1, Digits: 6, Period: 30}},
		{"issuer only in label", "otpauth://totp/ACME%20Co:john.doe@email.com?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Issuer: "ACME Co", Account: "john.doe@email.com", Secret: jbs, Algorithm: SHA1, Digits: 6, Period: 30}},
		{"issuer only in parameter", "otpauth://totp/alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME+Co",
			Key{Type: TOTP, Issuer: "ACME Co", Account: "alice@example.com", Secret: jbs, Algorithm: SHA1, Digits: 6, Period: 30}},
		{"encoded colon and space after it", "otpauth://totp/ACME%3A%20bob?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Issuer: "ACME", Account: "bob", Secret: jbs, Algorithm: SHA1, Digits: 6, Period: 30}},
		{"parameter issuer wins", "otpauth://totp/Old:bob?secret=JBSWY3DPEHPK3PXP&issuer=New",
			Key{Type: TOTP, Issuer: "New", Account: "bob", Secret: jbs, Algorithm: SHA1, Digits: 6, Period: 30}},
		{"sha256 7 digits 20 s", "otpauth://totp/SPDX:James?secret=JBSWY3DPEHPK3PXP&issuer=SPDX&algorithm=sha256&digits=7&period=20",
			Key{Type: TOTP, Issuer: "SPDX", Account: "James", Secret: jbs, Algorithm: SHA256, Digits: 7, Period: 20}},
		{"sha512 8 digits", "OTPAUTH://TOTP/A:b?secret=JBSWY3DPEHPK3PXP&algorithm=SHA512&digits=8",
			Key{Type: TOTP, Issuer: "A", Account: "b", Secret: jbs, Algorithm: SHA512, Digits: 8, Period: 30}},
		{"hotp with counter", "otpauth://hotp/Issuu:James?secret=JBSWY3DPEHPK3PXP&issuer=Issuu&counter=10300",
			Key{Type: HOTP, Issuer: "Issuu", Account: "James", Secret: jbs, Algorithm: SHA1, Digits: 6, Counter: 10300}},
		{"utf-8 label", "otpauth://totp/encoding%3A%20%C2%BF%C3%A4%C3%84%C3%A9%C3%89%3F?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Issuer: "encoding", Account: "¿äÄéÉ?", Secret: jbs, Algorithm: SHA1, Digits: 6, Period: 30}},
		{"surrounding whitespace", "  otpauth://totp/x?secret=JBSWY3DPEHPK3PXP\n",
			Key{Type: TOTP, Account: "x", Secret: jbs, Algorithm: SHA1, Digits: 6, Period: 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURI(tt.uri)
			if err != nil {
				t.Fatalf("ParseURI: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseURIRefuses(t *testing.T) {
	tests := []struct {
		uri, field, reason string
	}{
		{"http://totp/a?secret=JBSWY3DPEHPK3PXP", "scheme", "want otpauth://"},
		{"otpauth://steam/a?secret=JBSWY3DPEHPK3PXP", "type", `unsupported "steam"`},
		{"otpauth:///a?secret=JBSWY3DPEHPK3PXP", "type", "missing"},
		{"otpauth://totp/?secret=JBSWY3DPEHPK3PXP", "label", "missing account"},
		{"otpauth://totp/Issuer:?secret=JBSWY3DPEHPK3PXP", "label", "missing account"},
		{"otpauth://totp/a", "secret", "missing"},
		{"otpauth://totp/a?secret=", "secret", "missing"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PX1", "secret", "not valid base32"},
		{"otpauth://totp/a?secret=%3D%3D%3D", "secret", "empty"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", "algorithm", `unknown algorithm "MD5"`},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=5", "digits", "must be 6, 7 or 8"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=9", "digits", "must be 6, 7 or 8"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=six", "digits", "must be 6, 7 or 8"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=0", "period", "positive"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=-30", "period", "positive"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=abc", "period", "positive"},
		{"otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP", "counter", "missing"},
		{"otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=-1", "counter", "non-negative"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=%zz", "query", "malformed"},
		{"otpauth://totp/%zz?secret=JBSWY3DPEHPK3PXP", "uri", "not a URI"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			k, err := ParseURI(tt.uri)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseURI = %+v, %v; want a FieldError on %s", k, err, tt.field)
			}
			if k != nil {
				t.Errorf("a refused URI also returned a key: %+v", k)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("error %q; want field %q with %q", err, tt.field, tt.reason)
			}
		})
	}
}

func TestURIRoundTrip(t *testing.T) {
	keys := []*Key{
		{Type: TOTP, Issuer: "Twofold Portal", Account: "joe", Secret: seedSHA1, Algorithm: SHA1, Digits: 6, Period: 30},
		{Type: TOTP, Issuer: "A:B & C?", Account: "x/y+z@ex ample", Secret: seedSHA256, Algorithm: SHA256, Digits: 7, Period: 20},
		{Type: TOTP, Account: "no issuer", Secret: seedSHA512, Algorithm: SHA512, Digits: 8, Period: 90},
		{Type: HOTP, Issuer: "Ünïcødé", Account: "🙂", Secret: []byte{1, 2, 3}, Algorithm: SHA1, Digits: 6, Counter: 1<<63 + 5},
	}
	for _, k := range keys {
		uri := k.URI()
		got, err := ParseURI(uri)
		if err != nil {
			t.Fatalf("ParseURI(%s): %v", uri, err)
		}
		if !reflect.DeepEqual(got, k) {
			t.Errorf("round trip of %s:\ngot  %+v\nwant %+v", uri, got, k)
		}
		if strings.Contains(uri, "+") {
			t.Errorf("URI %s has '+', which some apps show literally", uri)
		}
	}
}

// What Google Authenticator reads: label Issuer:account, issuer parameter,
// SHA1, 6 digits, 30 s.
func TestGenerate(t *testing.T) {
	r := bytes.NewReader(seedSHA1)
	k, err := Generate(r, "Twofold Portal", "joe")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Secret, seedSHA1) || len(k.Secret)*8 != 160 {
		t.Errorf("secret %x, want the 160 bits read from rand", k.Secret)
	}
	want := "otpauth://totp/Twofold%20Portal:joe?algorithm=SHA1&digits=6&issuer=Twofold%20Portal&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if got := k.URI(); got != want {
		t.Errorf("URI\n got %s\nwant %s", got, want)
	}
	if strings.Contains(k.SecretBase32(), "=") {
		t.Error("secret has padding")
	}
	if _, err := Generate(bytes.NewReader(nil), "I", "a"); err == nil {
		t.Error("Generate with an exhausted random source succeeded")
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
		"otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=4&digits=8&algorithm=SHA512",
		"otpauth://totp/%C2%BF:x?secret=jbsw%20y3dp===&period=7",
		"otpauth://totp/a?secret=JBSWY3DPEHPK3PX1",
		"otpauth://totp/encoding%3A%20%C2%BF%C3%A4%C3%84%C3%A9%C3%89%3F%20(demo)?secret=JBSWY3DPEHPK3PXP",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseURI(s)
		if err != nil {
			if k != nil {
				t.Fatalf("error %v with a key", err)
			}
			return
		}
		if err := k.Validate(); err != nil {
			t.Fatalf("accepted an invalid key: %v", err)
		}
		// Whatever was accepted must survive our own formatting.
		again, err := ParseURI(k.URI())
		if err != nil {
			t.Fatalf("own URI %q refused: %v", k.URI(), err)
		}
		if again.Issuer != k.Issuer || again.Account != k.Account || again.Type != k.Type || !bytes.Equal(again.Secret, k.Secret) || again.Digits != k.Digits ||
			again.Period != k.Period || again.Counter != k.Counter || again.Algorithm != k.Algorithm {
			t.Fatalf("round trip changed the key: %+v -> %+v", k, again)
		}
	})
}

// A Google Authenticator export names an account "encoding: ¿äÄéÉ? (demo)"
// with no issuer; shown as a QR code, it must stay that account.
func TestURIKeepsColonInAccountWithoutIssuer(t *testing.T) {
	k := &Key{Type: TOTP, Account: "encoding: ¿äÄéÉ? (demo)", Secret: []byte("12345678901234567890"), Algorithm: SHA1, Digits: 6, Period: 30}
	again, err := ParseURI(k.URI())
	if err != nil {
		t.Fatal(err)
	}
	if again.Issuer != "" || again.Account != k.Account {
		t.Fatalf("%s read back as issuer %q, account %q", k.URI(), again.Issuer, again.Account)
	}
}

// An issuer or account with URI metacharacters neither changes the secret
// nor loses a character on the way through the URI.
func TestGenerateIssuerRoundTrip(t *testing.T) {
	for _, issuer := range []string{
		"Acme&secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "a=b", "a#b", "100%", "a+b", "a/b", "a?b", "a b  c",
		"Zürich Bank ✓", "日本", "x&issuer=evil&digits=8",
	} {
		k, err := Generate(bytes.NewReader(seedSHA1), issuer, "joe&secret=BBBB")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Secret, seedSHA1) {
			t.Errorf("issuer %q: secret %x, want the bytes read from rand", issuer, k.Secret)
		}
		back, err := ParseURI(k.URI())
		if err != nil {
			t.Fatalf("issuer %q: %v", issuer, err)
		}
		if back.Issuer != issuer || back.Account != "joe&secret=BBBB" || !bytes.Equal(back.Secret, seedSHA1) || back.Digits != 6 {
			t.Errorf("issuer %q: read back issuer %q account %q secret %x digits %d", issuer, back.Issuer, back.Account, back.Secret, back.Digits)
		}
	}
}
