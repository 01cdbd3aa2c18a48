package portal

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLimitDelay(t *testing.T) {
	l := DefaultLimit
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {4, 0}, {5, 30 * time.Second}, {6, time.Minute}, {7, 2 * time.Minute}, {11, 32 * time.Minute},
		{12, time.Hour}, {60, time.Hour}, {99, time.Hour}, {100, 24 * time.Hour}, {1000, 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := l.Delay(tt.failures); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
	// NIST SP 800-63B 5.2.2: at most 100 consecutive failures before the
	// longer lock, and the delays grow.
	prev := time.Duration(0)
	for n := 1; n <= 100; n++ {
		d := l.Delay(n)
		if d < prev {
			t.Fatalf("Delay(%d) = %v shrinks from %v", n, d, prev)
		}
		prev = d
	}
	if l.Hard > 100 {
		t.Errorf("Hard = %d: more than 100 failures before the long lock", l.Hard)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1 second", 30 * time.Second: "30 seconds", 1500 * time.Millisecond: "2 seconds",
		60 * time.Second: "60 seconds", 2 * time.Minute: "2 minutes", 59*time.Minute + 1: "60 minutes", 24 * time.Hour: "24 hours",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword(rand.Reader, OWASPParams, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry the OWASP parameters", h)
	}
	if ok, err := CheckPassword(h, "correct horse"); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, err := CheckPassword(h, "correct horsE"); ok || err != nil {
		t.Errorf("wrong password: %v %v", ok, err)
	}
	h2, _ := HashPassword(rand.Reader, OWASPParams, "correct horse")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	good := strings.Split(h, "$")
	salt, key := good[4], good[5]
	with := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	for _, bad := range []string{
		"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA", "$argon2id$v=19$m=8,t=1,p=1$!!$AA",
		"x$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19x$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		with("m=0,t=1,p=1"), with("m=19456,t=2,p=1garbage"), with("m=19456,t=2,p=1,x=1"),
		with("m=19456,t=2"), with("t=2,m=19456,p=1"), with("m=+19456,t=2,p=1"), with("m=019456,t=2,p=1"),
		with("m=4294967295,t=2,p=1"), with("m=19456,t=100000,p=1"), with("m=19456,t=2,p=255"),
		with("m=19456,t=2,p=0"), with("m=7,t=1,p=1"), with("m=19456,t=2,p=1 "),
		"$argon2id$v=19$m=19456,t=2,p=1$$" + key,       // no salt
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$", // no key
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
	} {
		if _, err := CheckPassword(bad, "correct horse"); err == nil {
			t.Errorf("CheckPassword(%q) accepted a malformed hash", bad)
		}
	}
}

func TestKeys(t *testing.T) {
	k, err := NewKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.Seal(rand.Reader, 42, []byte("otpauth://totp/x?secret=ABC"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret=ABC")) {
		t.Error("sealed text contains the plaintext")
	}
	if got, err := k.Open(42, sealed); err != nil || string(got) != "otpauth://totp/x?secret=ABC" {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(43, sealed); err == nil {
		t.Error("a secret sealed for user 42 opened for user 43")
	}
	other, _ := NewKeys(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(42, sealed); err == nil {
		t.Error("opened with another master key")
	}
	if _, err := NewKeys([]byte("short")); err == nil {
		t.Error("short master key accepted")
	}
	if !bytes.Equal(k.HashRecoveryCode(1, "ABCDE-FGHJK"), k.HashRecoveryCode(1, "abcdefghjk")) {
		t.Error("recovery code hash depends on case or dash")
	}
	if bytes.Equal(k.HashRecoveryCode(1, "abcdefghjk"), k.HashRecoveryCode(2, "abcdefghjk")) {
		t.Error("recovery code hash does not depend on the user")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "secret.key")
	if _, err := LoadOrCreateKeyFile(rand.Reader, path, false); err == nil {
		t.Error("a missing key file was not an error without create")
	}
	k1, err := LoadOrCreateKeyFile(rand.Reader, path, true)
	if err != nil || len(k1) != 32 {
		t.Fatalf("create: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreateKeyFile(rand.Reader, path, true)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("reload gave another key: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyFile(rand.Reader, path, true); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("world-readable key file: %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not hex\n"), 0o600)
	if _, err := LoadOrCreateKeyFile(rand.Reader, bad, true); err == nil {
		t.Error("garbage key file accepted")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := newRecoveryCodes(rand.Reader, RecoveryCodeCount)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || !validRecoveryCode(NormalizeRecoveryCode(c)) {
			t.Errorf("malformed recovery code %q", c)
		}
		if seen[c] {
			t.Errorf("duplicate code %q", c)
		}
		seen[c] = true
	}
	if len(codes) != 10 {
		t.Errorf("%d codes", len(codes))
	}
	if NormalizeRecoveryCode(" ABCDE - fghij ") != "abcdefghij" {
		t.Error("normalisation")
	}
}

// TestSealMail: queued bodies are sealed to their Message-ID; a body
// moved to another message, altered, or opened without the key fails;
// a body queued before sealing existed passes unchanged.
func TestSealMail(t *testing.T) {
	keys, err := NewKeys(bytes.Repeat([]byte{7}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	m := &Mail{MessageID: "a@example.com", Text: "https://portal.example.com/password/reset?token=xyz", HTML: "<p>link</p>"}
	if err := keys.SealMail(rand.Reader, m); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "token") || strings.Contains(m.HTML, "link") {
		t.Fatalf("sealed bodies hold the text: %q %q", m.Text, m.HTML)
	}
	sealed := *m
	if err := keys.OpenMail(m); err != nil || m.Text != "https://portal.example.com/password/reset?token=xyz" || m.HTML != "<p>link</p>" {
		t.Fatalf("opened: %q %q %v", m.Text, m.HTML, err)
	}
	moved := sealed
	moved.MessageID = "b@example.com"
	if err := keys.OpenMail(&moved); err == nil {
		t.Error("a body opened under another Message-ID")
	}
	altered := sealed
	altered.Text = altered.Text[:len(altered.Text)-2] + "AA"
	if err := keys.OpenMail(&altered); err == nil {
		t.Error("an altered body opened")
	}
	other, _ := NewKeys(bytes.Repeat([]byte{8}, MasterKeySize))
	if err := other.OpenMail(&sealed); err == nil {
		t.Error("another key opened the body")
	}
	var none *Keys
	if err := none.OpenMail(&sealed); err == nil {
		t.Error("no key opened the body")
	}
	old := &Mail{MessageID: "c@example.com", Text: "plain", HTML: "<p>plain</p>"}
	if err := none.OpenMail(old); err != nil || old.Text != "plain" {
		t.Errorf("an unsealed body: %q %v", old.Text, err)
	}
}
