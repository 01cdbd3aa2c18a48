package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An encrypted 2FAS backup, made here as 2FAS documents and writes it
// (servicesEncrypted = base64(ciphertext+tag):base64(salt):base64(iv),
// PBKDF2-HMAC-SHA256, 10000 iterations, AES-256-GCM), is read by add
// --backup with its password from stdin; a wrong one adds nothing.
func TestAddEncrypted2FASBackup(t *testing.T) {
	c := newCLI(t)
	s1, s2 := secret(t), secret(t)
	services := `[{"name":"GitHub","secret":"` + s1 + `","otp":{"account":"joe","digits":6,"period":30,"algorithm":"SHA1","tokenType":"TOTP"}},` +
		`{"name":"Bank","secret":"` + s2 + `","otp":{"account":"ann","digits":8,"counter":3,"algorithm":"SHA1","tokenType":"HOTP"}}]`
	salt, iv := make([]byte, 256), make([]byte, 12)
	rand.Read(salt)
	rand.Read(iv)
	key, err := pbkdf2.Key(sha256.New, "2fas pass", salt, 10000, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	b64 := base64.StdEncoding.EncodeToString
	enc := b64(gcm.Seal(nil, iv, []byte(services), nil)) + ":" + b64(salt) + ":" + b64(iv)
	file := filepath.Join(t.TempDir(), "backup.2fas")
	os.WriteFile(file, []byte(`{"services":[],"groups":[],"schemaVersion":4,"appVersionCode":5000000,"appOrigin":"android","servicesEncrypted":"`+enc+`"}`), 0o600)

	if _, _, err := c.runIn("2fas Pass\n", "add", "--backup", file); err == nil || !strings.Contains(err.Error(), "wrong password for this backup") {
		t.Fatalf("wrong password: %v", err)
	}
	if got := c.accountsIn(); len(got) != 0 {
		t.Fatalf("a wrong password added %q", got)
	}
	out, _ := c.okIn("2fas pass\n", "add", "--backup", file)
	if out != "added GitHub:joe\nadded Bank:ann\n" {
		t.Fatalf("printed %q", out)
	}
	if got, want := c.ok("code", "GitHub"), oathtool(t, "--totp", "-b", "-N", "@1700000015", s1); got != want+"\n" {
		t.Errorf("GitHub: code %q, oathtool %q", got, want)
	}
	if got, want := c.ok("code", "Bank"), oathtool(t, "--hotp", "-d", "8", "-c", "3", "-b", s2); got != want+"\n" {
		t.Errorf("Bank: code %q, oathtool at counter 3 %q", got, want)
	}
}
