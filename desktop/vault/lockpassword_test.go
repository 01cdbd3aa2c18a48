package vault_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"twofold.dev/desktop/vault"
)

func TestLockPasswordHashAndCheck(t *testing.T) {
	h, err := vault.HashLockPassword([]byte("correct horse"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "correct horse") {
		t.Fatalf("hash %q", h)
	}
	p, err := vault.ParseLockHash(h)
	if err != nil || p.Memory != vault.LockParams.Memory || p.Time != vault.LockParams.Time || p.Threads != vault.LockParams.Threads || len(p.Salt) != 16 {
		t.Fatalf("parse: %+v %v", p, err)
	}
	if err := vault.CheckLockPassword(h, []byte("correct horse")); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, wrong := range []string{"", "correct hors", "correct horse ", "Correct horse"} {
		if err := vault.CheckLockPassword(h, []byte(wrong)); !errors.Is(err, vault.ErrWrongLockPassword) {
			t.Errorf("%q: %v, want wrong password", wrong, err)
		}
	}
	// A fresh salt every time: the same password hashes differently.
	h2, _ := vault.HashLockPassword([]byte("correct horse"), rand.Reader)
	if h2 == h {
		t.Fatal("two hashes of one password are equal")
	}
	// The salt comes from the reader given.
	h3, err := vault.HashLockPassword([]byte("x"), bytes.NewReader(bytes.Repeat([]byte{7}, 16)))
	if err != nil || !strings.Contains(h3, "$BwcHBwcHBwcHBwcHBwcHBw$") {
		t.Fatalf("salt from the reader: %q %v", h3, err)
	}
	if _, err := vault.HashLockPassword([]byte("x"), bytes.NewReader(make([]byte, 15))); err == nil {
		t.Fatal("a short random source gave a hash")
	}
}

// TestLockHashParsedStrictly: a tampered or damaged item is refused before
// any argon2 work, so it cannot make an unlock take minutes or gigabytes.
func TestLockHashParsedStrictly(t *testing.T) {
	good, err := vault.HashLockPassword([]byte("pw123456"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$")
	salt, hash := f[4], f[5]
	with := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + hash }
	bad := map[string]string{
		"empty":             "",
		"plain password":    "pw123456",
		"argon2i":           "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + hash,
		"argon2d":           "$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + hash,
		"version 16":        "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + hash,
		"no version":        "$argon2id$m=19456,t=2,p=1$" + salt + "$" + hash,
		"extra field":       good + "$x",
		"leading text":      "x" + good,
		"trailing newline":  good + "\n",
		"4 GiB memory":      with("m=4194304,t=2,p=1"),
		"65 MiB memory":     with("m=66560,t=2,p=1"),
		"max uint32 memory": with("m=4294967295,t=2,p=1"),
		"too big for u32":   with("m=4294967296,t=2,p=1"),
		"tiny memory":       with("m=8,t=2,p=1"),
		"1000 passes":       with("m=19456,t=1000,p=1"),
		"zero passes":       with("m=19456,t=0,p=1"),
		"255 lanes":         with("m=19456,t=2,p=255"),
		"zero lanes":        with("m=19456,t=2,p=0"),
		"order":             with("t=2,m=19456,p=1"),
		"missing p":         with("m=19456,t=2"),
		"extra param":       with("m=19456,t=2,p=1,k=3"),
		"leading zero":      with("m=019456,t=2,p=1"),
		"plus sign":         with("m=+19456,t=2,p=1"),
		"space":             with("m=19456, t=2,p=1"),
		"negative":          with("m=19456,t=-2,p=1"),
		"hex":               with("m=0x4c00,t=2,p=1"),
		"padded salt":       "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + hash,
		"short salt":        "$argon2id$v=19$m=19456,t=2,p=1$" + salt[:10] + "$" + hash,
		"url base64":        "$argon2id$v=19$m=19456,t=2,p=1$" + strings.NewReplacer("+", "-", "/", "_").Replace(salt) + "-_$" + hash,
		"short hash":        "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + hash[:20],
		"long hash":         "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + hash + "AAAA",
		"newline in hash":   "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + hash[:10] + "\n" + hash[10:],
		"huge":              good + strings.Repeat("A", 10000),
	}
	for name, s := range bad {
		if _, err := vault.ParseLockHash(s); !errors.Is(err, vault.ErrLockHashDamaged) {
			t.Errorf("%s: ParseLockHash(%q) = %v, want damaged", name, s, err)
		}
		if err := vault.CheckLockPassword(s, []byte("pw123456")); !errors.Is(err, vault.ErrLockHashDamaged) {
			t.Errorf("%s: CheckLockPassword = %v, want damaged", name, err)
		}
	}
	// In bounds but not ours: still read (parameters live in the hash).
	for _, params := range []string{"m=65536,t=1,p=4", "m=8192,t=10,p=1"} {
		if _, err := vault.ParseLockHash(with(params)); err != nil {
			t.Errorf("%s: %v", params, err)
		}
	}
}
