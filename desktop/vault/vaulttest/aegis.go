package vaulttest

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"golang.org/x/crypto/scrypt"
)

// An independent reader of Aegis's vault format for the tests, written
// from docs/vault.md of beemdevelopment/Aegis; it shares no code with the
// vault package it checks.

// Unhex decodes one of the format's hex strings.
func Unhex(t testing.TB, v any) []byte {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("want a hex string, got %T %v", v, v)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("not hex: %q", s)
	}
	return b
}

// aesGCMOpen decrypts ciphertext whose tag and nonce are stored apart.
func aesGCMOpen(t testing.TB, key, ct []byte, params map[string]any) ([]byte, error) {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce, tag := Unhex(t, params["nonce"]), Unhex(t, params["tag"])
	if len(nonce) != 12 || len(tag) != 16 {
		t.Fatalf("nonce %d bytes, tag %d bytes; the format has 12 and 16", len(nonce), len(tag))
	}
	return gcm.Open(nil, nonce, append(append([]byte{}, ct...), tag...), nil)
}

// DecryptAegis opens an encrypted Aegis vault and returns its
// content object, checking the structure the documentation gives.
func DecryptAegis(t testing.TB, data []byte, password string) (map[string]any, error) {
	t.Helper()
	var file map[string]any
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("vault is not JSON: %v", err)
	}
	if file["version"] != float64(1) {
		t.Errorf("vault version %v, want 1", file["version"])
	}
	header := file["header"].(map[string]any)
	slots := header["slots"].([]any)
	params := header["params"].(map[string]any)
	db, err := base64.StdEncoding.DecodeString(file["db"].(string))
	if err != nil {
		t.Fatalf("db is not padded base64: %v", err)
	}
	for _, s := range slots {
		slot := s.(map[string]any)
		if slot["type"] != float64(1) {
			continue
		}
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(slot["uuid"].(string)) {
			t.Errorf("slot uuid %q is not a version 4 UUID", slot["uuid"])
		}
		n, r, p := int(slot["n"].(float64)), int(slot["r"].(float64)), int(slot["p"].(float64))
		salt := Unhex(t, slot["salt"])
		derived, err := scrypt.Key([]byte(password), salt, n, r, p, 32)
		if err != nil {
			t.Fatal(err)
		}
		master, err := aesGCMOpen(t, derived, Unhex(t, slot["key"]), slot["key_params"].(map[string]any))
		if err != nil {
			continue
		}
		if len(master) != 32 {
			t.Fatalf("master key is %d bytes, want 32", len(master))
		}
		plain, err := aesGCMOpen(t, master, db, params)
		if err != nil {
			t.Fatalf("master key opened, db did not: %v", err)
		}
		var content map[string]any
		if err := json.Unmarshal(plain, &content); err != nil {
			t.Fatalf("decrypted db is not JSON: %v", err)
		}
		return content, nil
	}
	return nil, errors.New("no password slot opens")
}
