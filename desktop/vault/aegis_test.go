package vault_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/scrypt"

	"twofold.dev/desktop/vault"
	"twofold.dev/desktop/vault/vaulttest"
	"twofold.dev/shared/totp"
)

// exportKeys is one of every kind of account Twofold holds.
func exportKeys(t *testing.T) []*totp.Key {
	t.Helper()
	sec := func(s string) []byte {
		b, err := totp.DecodeSecret(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []*totp.Key{
		{Type: totp.TOTP, Issuer: "GitHub", Account: "joe", Secret: sec("JBSWY3DPEHPK3PXP"), Algorithm: totp.SHA1, Digits: 6, Period: 30},
		{Type: totp.TOTP, Issuer: "Orbit", Account: "james", Secret: sec("5QXNMOMVZ4GYFRD3LGEI3J7SKE"), Algorithm: totp.SHA256, Digits: 7, Period: 20},
		{Type: totp.TOTP, Issuer: "Bänk Zürich", Account: "anna@example.ch", Secret: sec("HU2VGQ4KMZ7XW3EDLYFBTNRPOAHU2VGQ4K"), Algorithm: totp.SHA512, Digits: 8, Period: 60},
		{Type: totp.HOTP, Issuer: "Blue Sky Air", Account: "benjamin", Secret: sec("KRUGS4ZANFZSAYJAONSWG4TFOQ"), Algorithm: totp.SHA1, Digits: 6, Counter: 42},
		{Type: totp.TOTP, Account: "no-issuer", Secret: sec("GEZDGNBVGY3TQOJQ"), Algorithm: totp.SHA1, Digits: 6, Period: 30},
	}
}

// describeKey is every field of a key, for comparing.
func describeKey(k *totp.Key) string {
	return strings.Join([]string{k.Type.String(), k.Issuer, k.Account, k.SecretBase32(), k.Algorithm.String(),
		itoa(k.Digits), itoa(k.Period), itoa(int(k.Counter))}, "|")
}

func itoa(i int) string { return strconv.Itoa(i) }

func sameKeys(t *testing.T, got, want []*totp.Key) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d keys, want %d", len(got), len(want))
	}
	for i := range want {
		if g, w := describeKey(got[i]), describeKey(want[i]); g != w {
			t.Errorf("key %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

func TestEncryptAegisIndependentReader(t *testing.T) {
	keys := exportKeys(t)
	data, err := vault.EncryptAegis(keys, nil, []byte("correct horse"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	json.Unmarshal(data, &file)
	// Names are looked for outside the base64 ciphertext, where a short
	// one such as "joe" turns up by chance.
	clear := bytes.Replace(data, []byte(file["db"].(string)), nil, 1)
	for _, k := range keys {
		if bytes.Contains(data, []byte(k.SecretBase32())) || bytes.Contains(clear, []byte(k.Account)) {
			t.Fatalf("%s is readable in the encrypted vault", k.Label())
		}
	}
	slot := file["header"].(map[string]any)["slots"].([]any)[0].(map[string]any)
	if slot["n"] != float64(1<<15) || slot["r"] != float64(8) || slot["p"] != float64(1) || len(vaulttest.Unhex(t, slot["salt"])) != 32 || len(vaulttest.Unhex(t, slot["key"])) != 32 {
		t.Errorf("slot %v: want Aegis's n=32768 r=8 p=1, a 32-byte salt and a 32-byte wrapped key", slot)
	}
	if _, err := vaulttest.DecryptAegis(t, data, "wrong horse"); err == nil {
		t.Fatal("a wrong password opened the vault")
	}
	content, err := vaulttest.DecryptAegis(t, data, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if content["version"] != float64(1) {
		t.Errorf("content version %v, want 1", content["version"])
	}
	entries := content["entries"].([]any)
	if len(entries) != len(keys) {
		t.Fatalf("%d entries, want %d", len(entries), len(keys))
	}
	for i, e := range entries {
		entry, k := e.(map[string]any), keys[i]
		info := entry["info"].(map[string]any)
		got := []any{entry["type"], entry["name"], entry["issuer"], info["secret"], info["algo"], info["digits"]}
		want := []any{k.Type.String(), k.Account, k.Issuer, strings.TrimRight(base32.StdEncoding.EncodeToString(k.Secret), "="), k.Algorithm.String(), float64(k.Digits)}
		if k.Type == totp.HOTP {
			got, want = append(got, info["counter"]), append(want, float64(k.Counter))
		} else {
			got, want = append(got, info["period"]), append(want, float64(k.Period))
		}
		if jsonOf(got) != jsonOf(want) {
			t.Errorf("entry %d: got %s, want %s", i, jsonOf(got), jsonOf(want))
		}
		if _, ok := entry["uuid"].(string); !ok {
			t.Errorf("entry %d has no uuid", i)
		}
		// Aegis's importer reads "icon" with get(), not opt(): it must be
		// there, null when there is none.
		if icon, ok := entry["icon"]; !ok || icon != nil {
			t.Errorf("entry %d: icon %v (present %v), want null", i, icon, ok)
		}
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAegisRoundTrip(t *testing.T) {
	keys := exportKeys(t)
	data, err := vault.EncryptAegis(keys, nil, []byte("pässwörd"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !vault.BackupEncrypted(data) {
		t.Error("BackupEncrypted = false for an encrypted vault")
	}
	if _, err := vault.ParseBackup(data); !errors.Is(err, vault.ErrPasswordNeeded) {
		t.Errorf("without a password: %v, want ErrPasswordNeeded", err)
	}
	f, err := vault.ReadBackup(data, []byte("pässwörd"))
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, f.Keys, keys)

	_, err = vault.ReadBackup(data, []byte("passwort"))
	if !errors.Is(err, vault.ErrWrongPassword) || !strings.Contains(err.Error(), "wrong password for this backup") {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := vault.EncryptAegis(keys, nil, nil, rand.Reader); !errors.Is(err, vault.ErrEmptyPassword) {
		t.Errorf("empty password: %v", err)
	}
	// A changed byte in the db is caught, not read as garbage.
	var file map[string]any
	json.Unmarshal(data, &file)
	db, _ := base64.StdEncoding.DecodeString(file["db"].(string))
	db[3] ^= 1
	file["db"] = base64.StdEncoding.EncodeToString(db)
	bad, _ := json.Marshal(file)
	if _, err := vault.ReadBackup(bad, []byte("pässwörd")); err == nil || !strings.Contains(err.Error(), "changed or damaged") {
		t.Errorf("tampered db: %v", err)
	}
}

// TestAegisHandBuilt reads a vault built in the test by following the
// documented format step by step, with known values (and the smaller scrypt
// cost a file may carry, to show the reader takes n, r, p from the slot).
func TestAegisHandBuilt(t *testing.T) {
	vaultJSON, password := handMadeVault(t, 1024), "hunter2"
	f, err := vault.ReadBackup(vaultJSON, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, k := range f.Keys {
		got = append(got, describeKey(k))
	}
	want := "totp|Example|alice@example.com|JBSWY3DPEHPK3PXP|SHA1|6|30|0 hotp|Bank|bob|GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ|SHA256|8|0|7"
	if strings.Join(got, " ") != want {
		t.Errorf("keys\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if len(f.Skipped) != 1 || !strings.Contains(f.Skipped[0], "Steam:gamer") {
		t.Errorf("skipped %q, want the steam entry named", f.Skipped)
	}
	if _, err := vault.ReadBackup([]byte(vaultJSON), []byte("hunter3")); !errors.Is(err, vault.ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
}

// encrypt2FAS makes an encrypted 2FAS backup the way 2FAS documents and
// writes it: servicesEncrypted = base64(ciphertext+tag):base64(salt):base64(iv),
// PBKDF2-HMAC-SHA256 with 10000 iterations, AES-256-GCM.
func encrypt2FAS(t *testing.T, plain []byte, password string) []byte {
	t.Helper()
	var backup map[string]any
	if err := json.Unmarshal(plain, &backup); err != nil {
		t.Fatal(err)
	}
	services, _ := json.Marshal(backup["services"])
	salt, iv := make([]byte, 256), make([]byte, 12)
	rand.Read(salt)
	rand.Read(iv)
	key, err := pbkdf2.Key(sha256.New, password, salt, 10000, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	sealed := gcm.Seal(nil, iv, services, nil)
	b64 := base64.StdEncoding.EncodeToString
	backup["services"] = []any{}
	backup["servicesEncrypted"] = b64(sealed) + ":" + b64(salt) + ":" + b64(iv)
	out, _ := json.Marshal(backup)
	return out
}

func TestEncrypted2FAS(t *testing.T) {
	plain, err := os.ReadFile("testdata/aegis-importers-2fas_authenticator_plain_v4.2fas")
	if err != nil {
		t.Fatal(err)
	}
	want, err := vault.ParseBackup(plain)
	if err != nil {
		t.Fatal(err)
	}
	enc := encrypt2FAS(t, plain, "2fas-pass")
	if !vault.BackupEncrypted(enc) {
		t.Fatal("BackupEncrypted = false")
	}
	got, err := vault.ReadBackup(enc, []byte("2fas-pass"))
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, got.Keys, want.Keys)
	if len(got.Skipped) != len(want.Skipped) {
		t.Errorf("skipped %q, want %q", got.Skipped, want.Skipped)
	}
	if _, err := vault.ReadBackup(enc, []byte("2fas-Pass")); !errors.Is(err, vault.ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := vault.ParseBackup(enc); !errors.Is(err, vault.ErrPasswordNeeded) {
		t.Errorf("no password: %v", err)
	}
}

// The plain samples from Aegis's test data still import (copied from
// ../shared/samples).
func TestPlainSamples(t *testing.T) {
	for name, want := range map[string]int{
		"aegis-importers-aegis_plain.json":                 6,
		"aegis-importers-2fas_authenticator_plain_v4.2fas": 4,
	} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if vault.BackupEncrypted(data) {
			t.Errorf("%s: BackupEncrypted = true", name)
		}
		f, err := vault.ReadBackup(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(f.Keys) != want || len(f.Skipped) != 1 {
			t.Errorf("%s: %d keys, skipped %q; want %d keys and the steam entry skipped", name, len(f.Keys), f.Skipped, want)
		}
	}
}

func TestParseTextLines(t *testing.T) {
	data, err := os.ReadFile("testdata/aegis-importers-plain.txt")
	if err != nil {
		t.Fatal(err)
	}
	f, err := vault.ParseText(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Keys) != 6 || len(f.Skipped) != 1 || !strings.HasPrefix(f.Skipped[0], "line 7: ") {
		t.Fatalf("%d keys, skipped %q; want 6 and line 7 (steam) named", len(f.Keys), f.Skipped)
	}
	if k := f.Keys[5]; k.Type != totp.HOTP || k.Counter != 10300 || k.Algorithm != totp.SHA512 {
		t.Errorf("WWE: %s", describeKey(k))
	}

	text := "# my accounts\n\notpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP\r\nnot a uri\notpauth://totp/B:b?secret=JBSWY3DPEHPK3PXQ&digits=9\n"
	f, err = vault.ParseText(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Keys) != 1 || len(f.Skipped) != 2 || !strings.HasPrefix(f.Skipped[0], "line 4: ") || !strings.HasPrefix(f.Skipped[1], "line 5: ") || !strings.Contains(f.Skipped[1], "digits") {
		t.Errorf("keys %d, skipped %q", len(f.Keys), f.Skipped)
	}
	_, err = vault.ParseText("\nfoo\nbar\n")
	if err == nil || !strings.Contains(err.Error(), "line 2: ") || !strings.Contains(err.Error(), "line 3: ") {
		t.Errorf("all bad: %v", err)
	}
}

func TestSecretWarning(t *testing.T) {
	for _, c := range []struct {
		secret string
		warn   bool
	}{{"JBSWY3DPEHPK", true}, {"JBSWY3DPEHPK3PXP", false}, {"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", false}} {
		k := &totp.Key{Account: "a"}
		k.Secret, _ = totp.DecodeSecret(c.secret)
		w := vault.SecretWarning(k)
		if (w != "") != c.warn {
			t.Errorf("%d-bit secret: warning %q", 8*len(k.Secret), w)
		}
		if c.warn && (!strings.Contains(w, "56 bits") || strings.Contains(w, c.secret)) {
			t.Errorf("warning %q: want the bit count and never the secret", w)
		}
	}
}

func TestGoogleAuthenticatorExport(t *testing.T) {
	keys := exportKeys(t)
	for i := 0; i < 12; i++ {
		k := *keys[0]
		k.Account = "user" + itoa(i)
		keys = append(keys, &k)
	}
	ex, err := vault.GoogleAuthenticator(keys, 77)
	if err != nil {
		t.Fatal(err)
	}
	// Orbit (7 digits, 20 s) and Bänk Zürich (60 s) cannot go.
	if len(ex.Refused) != 2 || !strings.HasPrefix(ex.Refused[0], "Orbit:james: ") || !strings.HasPrefix(ex.Refused[1], "Bänk Zürich:anna@example.ch: period") {
		t.Errorf("refused %q", ex.Refused)
	}
	if len(ex.Keys) != 15 || len(ex.URIs) != 2 {
		t.Errorf("%d keys in %d codes, want 15 in 2", len(ex.Keys), len(ex.URIs))
	}
}

// BenchmarkEncryptAegis is one encrypted backup of 50 accounts: scrypt at
// Aegis's cost dominates.
func BenchmarkEncryptAegis(b *testing.B) {
	keys := make([]*totp.Key, 50)
	for i := range keys {
		keys[i] = &totp.Key{Type: totp.TOTP, Issuer: "Svc", Account: "user" + strconv.Itoa(i), Secret: make([]byte, 20), Algorithm: totp.SHA1, Digits: 6, Period: 30}
	}
	for b.Loop() {
		if _, err := vault.EncryptAegis(keys, nil, []byte("bench"), rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadEncryptedAegis(b *testing.B) {
	keys := []*totp.Key{{Type: totp.TOTP, Account: "a", Secret: make([]byte, 20), Algorithm: totp.SHA1, Digits: 6, Period: 30}}
	data, err := vault.EncryptAegis(keys, nil, []byte("bench"), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := vault.ReadBackup(data, []byte("bench")); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzReadBackup: no input, with or without a password, panics or hangs.
func FuzzReadBackup(f *testing.F) {
	// The seed vault is Aegis's format with the cheapest scrypt (n=2): the
	// mutator keeps a seed's parameters, and Aegis's own (N=2^15) would
	// make every mutation of it cost a real password derivation.
	f.Add(handMadeVault(f, 2), []byte("hunter2"))
	f.Add([]byte(`{"version":1,"header":{"slots":[{"type":1,"key":"00","key_params":{"nonce":"00","tag":"00"},"n":1073741824,"r":8,"p":1,"salt":"00"}],"params":{"nonce":"","tag":""}},"db":""}`), []byte("pw"))
	f.Add([]byte(`{"servicesEncrypted":"AAAA:AAAA:AAAA"}`), []byte("pw"))
	f.Add([]byte(`{"db":{"entries":[{"type":"totp","name":"x","info":{"secret":"JBSWY3DPEHPK3PXP"}}]}}`), []byte(nil))
	f.Fuzz(func(t *testing.T, data, password []byte) {
		f, err := vault.ReadBackup(data, password)
		if err == nil && len(f.Keys) == 0 {
			t.Fatal("no error and no keys")
		}
	})
}

// handMadeVault builds an Aegis vault by following the documented format
// step by step, with known values, password "hunter2" and scrypt cost n (r
// 8, p 1): a biometric slot, then the password slot wrapping the master
// key, and the entries sealed with it (a TOTP, an HOTP and a Steam entry).
func handMadeVault(tb testing.TB, n int) []byte {
	tb.Helper()
	master := []byte("0123456789abcdef0123456789abcdef")
	salt := bytes.Repeat([]byte{0x5a}, 32)
	slotNonce, dbNonce := []byte("slot-nonce12"), []byte("vault-nonce!")
	seal := func(key, nonce, plain []byte) (ct, tag []byte) {
		block, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(block)
		out := gcm.Seal(nil, nonce, plain, nil)
		return out[:len(out)-16], out[len(out)-16:]
	}
	derived, err := scrypt.Key([]byte("hunter2"), salt, n, 8, 1, 32)
	if err != nil {
		tb.Fatal(err)
	}
	wrapped, wrapTag := seal(derived, slotNonce, master)
	content := `{"version":1,"entries":[` +
		`{"type":"totp","uuid":"11111111-2222-4333-8444-555555555555","name":"alice@example.com","issuer":"Example","icon":null,"info":{"secret":"JBSWY3DPEHPK3PXP","algo":"SHA1","digits":6,"period":30}},` +
		`{"type":"hotp","uuid":"11111111-2222-4333-8444-666666666666","name":"bob","issuer":"Bank","icon":null,"info":{"secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ","algo":"SHA256","digits":8,"counter":7}},` +
		`{"type":"steam","uuid":"11111111-2222-4333-8444-777777777777","name":"gamer","issuer":"Steam","icon":null,"info":{"secret":"JBSWY3DPEHPK3PXP","algo":"SHA1","digits":5,"period":30}}]}`
	ct, tag := seal(master, dbNonce, []byte(content))
	return []byte(`{"version":1,"header":{"slots":[` +
		`{"type":2,"uuid":"aaaaaaaa-2222-4333-8444-555555555555","key":"` + strings.Repeat("00", 32) + `","key_params":{"nonce":"` + strings.Repeat("00", 12) + `","tag":"` + strings.Repeat("00", 16) + `"}},` +
		`{"type":1,"uuid":"bbbbbbbb-2222-4333-8444-555555555555","key":"` + hex.EncodeToString(wrapped) + `","key_params":{"nonce":"` + hex.EncodeToString(slotNonce) + `","tag":"` + hex.EncodeToString(wrapTag) + `"},"n":` + strconv.Itoa(n) + `,"r":8,"p":1,"salt":"` + hex.EncodeToString(salt) + `","repaired":true}],` +
		`"params":{"nonce":"` + hex.EncodeToString(dbNonce) + `","tag":"` + hex.EncodeToString(tag) + `"}},` +
		`"db":"` + base64.StdEncoding.EncodeToString(ct) + `"}`)
}

// A file cannot make the reader allocate or compute without bound: scrypt
// parameters past 128 MiB or four times Aegis's work are refused before
// any derivation.
func TestAegisScryptBounds(t *testing.T) {
	for _, nrp := range [][3]int{{1 << 30, 8, 1}, {1 << 18, 8, 1}, {1 << 15, 8, 16}, {1 << 17, 8, 2}, {3, 8, 1}, {1 << 15, 0, 1}} {
		data := fmt.Sprintf(`{"version":1,"header":{"slots":[{"type":1,"key":"00","key_params":{"nonce":"00","tag":"00"},"n":%d,"r":%d,"p":%d,"salt":"00"}],"params":{"nonce":"00","tag":"00"}},"db":"AA=="}`, nrp[0], nrp[1], nrp[2])
		_, err := vault.ReadBackup([]byte(data), []byte("pw"))
		if err == nil || !strings.Contains(err.Error(), "unusual scrypt parameters") {
			t.Errorf("n=%d r=%d p=%d: %v", nrp[0], nrp[1], nrp[2], err)
		}
	}
}

// TestPinnedAreAegisFavourites: pinned accounts are written as Aegis
// favourites and read back as pinned, from an encrypted vault and from a
// plain one as Aegis writes it.
func TestPinnedAreAegisFavourites(t *testing.T) {
	keys := []*totp.Key{
		{Type: totp.TOTP, Issuer: "A", Account: "one", Secret: []byte("0123456789abcdef0123"), Digits: 6, Period: 30},
		{Type: totp.TOTP, Issuer: "B", Account: "two", Secret: []byte("0123456789abcdef0124"), Digits: 6, Period: 30},
	}
	data, err := vault.EncryptAegis(keys, map[*totp.Key]bool{keys[1]: true}, []byte("pw"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	content, err := vaulttest.DecryptAegis(t, data, "pw")
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range content["entries"].([]any) {
		if fav := e.(map[string]any)["favorite"]; fav != (i == 1) {
			t.Errorf("entry %d: favorite %v", i, fav)
		}
	}
	f, err := vault.ReadBackup(data, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Keys) != 2 || f.Pinned[f.Keys[0]] || !f.Pinned[f.Keys[1]] {
		t.Fatalf("read back: %d keys, pinned %v", len(f.Keys), f.Pinned)
	}
	plain := strings.Replace(vaulttest.AegisPlain, `"uuid": "2",`, `"uuid": "2", "favorite": true,`, 1)
	f, err = vault.ParseBackup([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Pinned) != 1 || !f.Pinned[f.Keys[1]] || f.Keys[1].Issuer != "Orbit" {
		t.Fatalf("plain Aegis favourite read as %v", f.Pinned)
	}
}
