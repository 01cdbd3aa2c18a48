package vault_test

import (
	"bufio"
	"context"
	"errors"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"twofold.dev/desktop/vault"
	"twofold.dev/desktop/vault/vaulttest"
	"twofold.dev/shared/migration"
	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

// uris returns the non-comment lines of a sample file.
func uris(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(vaulttest.Write(t), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func labels(keys []*totp.Key) []string {
	var l []string
	for _, k := range keys {
		l = append(l, k.Label()+"="+k.SecretBase32())
	}
	return l
}

func TestParseTextGoogleExport(t *testing.T) {
	var all []*totp.Key
	for _, u := range uris(t, vaulttest.ExportText) {
		f, err := vault.ParseText(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		all = append(all, f.Keys...)
	}
	if len(all) != 6 {
		t.Fatalf("%d keys, want 6: %v", len(all), labels(all))
	}
	for _, k := range all {
		if k.SecretBase32() != vaulttest.ExportSecret {
			t.Errorf("%s secret %s", k.Label(), k.SecretBase32())
		}
	}
	if h := all[4]; h.Type != totp.HOTP || h.Counter != 4 || h.Account != "hotp demo" {
		t.Errorf("HOTP key = %+v, want counter 4", h)
	}
	if got := all[5].Account; got != "encoding: ¿äÄéÉ? (demo)" {
		t.Errorf("UTF-8 name = %q", got)
	}
	plus := uris(t, vaulttest.ExportPlus)
	f, err := vault.ParseText(plus[0])
	if err != nil || len(f.Keys) != 4 {
		t.Fatalf("plus problem export: %v, %d keys", err, len(f.Keys))
	}
}

func TestParseTextRefusesClearly(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{uris(t, vaulttest.ExportWrongData)[0], "Google Authenticator export"},
		{uris(t, vaulttest.ExportWrongPrefix)[0], "not an otpauth:// or otpauth-migration:// URI"},
		{"otpauth://steam/Boeing:Sophia?secret=JRZCL47CMXVOQMNPZR2F7J4RGI&digits=5", `unsupported "steam"`},
		{"otpauth://totp/A:b?secret=not*base32", "secret"},
		{"otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=9", "digits"},
		{"https://example.com/", "not an otpauth"},
		{"   ", "empty"},
	} {
		_, err := vault.ParseText(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseText(%.40q) = %v, want an error mentioning %q", tc.in, err, tc.want)
		}
	}
}

func TestParseTextAegisPlain(t *testing.T) {
	var ok []*totp.Key
	var refused []string
	for _, u := range uris(t, vaulttest.PlainURIs) {
		f, err := vault.ParseText(u)
		if err != nil {
			refused = append(refused, err.Error())
			continue
		}
		ok = append(ok, f.Keys...)
	}
	if len(ok) != 6 || len(refused) != 1 || !strings.Contains(refused[0], "steam") {
		t.Fatalf("parsed %v, refused %v; want 6 and steam refused", labels(ok), refused)
	}
	orbit := ok[1]
	if orbit.Algorithm != totp.SHA256 || orbit.Digits != 7 || orbit.Period != 20 {
		t.Errorf("Orbit key %+v", orbit)
	}
	if ok[4].Issuer != "Blue Sky Air" || ok[4].Counter != 50 {
		t.Errorf("Blue Sky Air key %+v", ok[4])
	}
}

func TestParseImages(t *testing.T) {
	dir := vaulttest.Write(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	s, err := vault.ParseImageBytes(read(vaulttest.KeyPNG))
	if err != nil || len(s.Keys) != 1 || s.Keys[0].Label() != "Example:alice@google.com" {
		t.Fatalf("key.png: %v %+v", err, s)
	}
	s, err = vault.ParseImageBytes(read(vaulttest.ExportPhoto))
	if err != nil {
		t.Fatalf("GA export photo: %v", err)
	}
	want := vaulttest.PhotoAccounts
	if got := labels(s.Keys); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("GA export photo gave %v, want %v", got, want)
	}
	if _, err := vault.ParseImageBytes(read(vaulttest.NotAKey)); !errors.Is(err, vault.ErrNoKey) {
		t.Errorf("QR without key: %v", err)
	}
	if _, err := vault.ParseImageBytes(read(vaulttest.TextAsImage)); !errors.Is(err, qr.ErrNotImage) {
		t.Errorf("text as image: %v", err)
	}
	blank := image.NewGray(image.Rect(0, 0, 200, 200))
	if _, err := vault.ParseImages([]image.Image{blank}); !errors.Is(err, qr.ErrNotFound) || !strings.Contains(err.Error(), "on the screen") {
		t.Errorf("blank screen: %v", err)
	}
}

// A screen with two QR codes, one of them not a key: the key is found and
// the other is named.
func TestParseImagesScreenWithSeveralCodes(t *testing.T) {
	screen := image.NewGray(image.Rect(0, 0, 1280, 800))
	draw.Draw(screen, screen.Rect, image.White, image.Point{}, draw.Src)
	batch, err := migration.Encode([]*totp.Key{
		{Type: totp.TOTP, Issuer: "A", Account: "a", Secret: []byte("12345678901234567890"), Digits: 6, Period: 30},
		{Type: totp.HOTP, Issuer: "B", Account: "b", Secret: []byte("abcdefghijabcdefghij"), Digits: 8, Counter: 3},
	}, 7, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{batch[0], "https://example.com/not-a-key"} {
		m, err := qr.Image(text, 300)
		if err != nil {
			t.Fatal(err)
		}
		draw.Draw(screen, m.Bounds().Add(image.Pt(100+i*600, 200)), m, image.Point{}, draw.Src)
	}
	s, err := vault.ParseImages([]image.Image{screen})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Keys) != 2 || len(s.Refused) != 1 || s.Keys[1].Counter != 3 {
		t.Fatalf("keys %v refused %v", labels(s.Keys), s.Refused)
	}
}

func TestFind(t *testing.T) {
	list := []vault.Account{
		{ID: "1", Issuer: "ACME", Account: "alice"},
		{ID: "2", Issuer: "ACME", Account: "alice2"},
		{ID: "3", Issuer: "Bank", Account: "bob"},
		{ID: "4", Account: "solo"},
	}
	for _, tc := range []struct{ label, id, err string }{
		{"ACME:alice", "1", ""},
		{"acme:ALICE", "1", ""},
		{"alice2", "2", ""},
		{"bob", "3", ""},
		{"solo", "4", ""},
		{"ACME", "", "matches 2 accounts"},
		{"zzz", "", "no such account"},
		{"", "", "empty"},
	} {
		a, err := vault.Find(list, tc.label)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Find(%q) = %v, %v; want error %q", tc.label, a.ID, err, tc.err)
			}
			continue
		}
		if err != nil || a.ID != tc.id {
			t.Errorf("Find(%q) = %q, %v; want %q", tc.label, a.ID, err, tc.id)
		}
	}
}

// The fake store behaves like the real one where the UI relies on it.
func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	m := vault.NewMemory()
	k, _ := totp.ParseURI("otpauth://hotp/H:x?secret=JBSWY3DPEHPK3PXP&counter=2")
	a, err := m.Add(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add(ctx, k); !errors.Is(err, vault.ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	code, _ := m.NextHOTP(ctx, a.ID)
	if want, _ := k.HOTPCode(2); code != want {
		t.Fatalf("HOTP = %s, want %s", code, want)
	}
	if l, _ := m.List(ctx); l[0].Counter != 3 {
		t.Fatalf("counter %d", l[0].Counter)
	}
	m.Vanish(a.ID)
	if _, err := m.Code(ctx, a.ID, time.Now()); !errors.Is(err, vault.ErrSecretMissing) {
		t.Fatalf("vanished: %v", err)
	}
	if l, _ := m.List(ctx); !l[0].Missing {
		t.Fatal("not marked missing")
	}
}

func TestMessageSaysWhatToDo(t *testing.T) {
	for _, err := range []error{vault.ErrKeyringUnavailable, vault.ErrKeyringLocked, vault.ErrKeyringTimeout, vault.ErrSecretMissing} {
		msg := vault.Message(errors.Join(err))
		if !strings.Contains(msg, err.Error()) || len(msg) < len(err.Error())+20 {
			t.Errorf("Message(%v) = %q", err, msg)
		}
	}
}

func TestMemoryPin(t *testing.T) {
	m := vault.NewMemory()
	vaulttest.CheckPin(t, m, func() vault.Store { return m }, func(i int) []byte { return []byte("memory-secret-" + string(rune('a'+i))) })
}

func TestPinnedFirstKeepsEachGroupsOrder(t *testing.T) {
	list := []vault.Account{{ID: "1"}, {ID: "2", Pinned: true}, {ID: "3"}, {ID: "4", Pinned: true}, {ID: "5"}}
	var got string
	for _, a := range vault.PinnedFirst(list) {
		got += a.ID
	}
	if got != "24135" {
		t.Fatalf("PinnedFirst order %s, want 24135", got)
	}
	if list[0].ID != "1" || list[1].ID != "2" {
		t.Fatal("PinnedFirst changed its argument")
	}
}

func TestNotifyingPin(t *testing.T) {
	m := vault.NewMemory()
	changes := 0
	st := &vault.Notifying{Store: m, Changed: func() { changes++ }}
	vaulttest.CheckPin(t, st, func() vault.Store { return m }, func(i int) []byte { return []byte("notify-secret-" + string(rune('a'+i))) })
	list, _ := m.List(context.Background())
	before := changes
	if err := st.Pin(context.Background(), list[1].ID, true); err != nil {
		t.Fatal(err)
	}
	if changes != before+1 {
		t.Fatalf("a pin made %d change notices, want 1 (an automatic backup carries the pin)", changes-before)
	}
	if err := st.Pin(context.Background(), "no-such-id", true); err == nil || changes != before+1 {
		t.Fatalf("a failed pin: err %v, %d change notices, want an error and none", err, changes-before-1)
	}
}

// Text that is not a key is quoted back so the user recognises it, but a
// secret in it never is: a bare secret is named as one, a secret= or
// data= value and any long base32 run are cut out.
func TestParseTextNeverEchoesASecret(t *testing.T) {
	const s = "JBSWY3DPEHPK3PXPKRUGS4ZA"
	for _, tc := range []struct{ in, want string }{
		{s, "looks like a bare secret key"},
		{"jbsw y3dp ehpk 3pxp krug s4za", "looks like a bare secret key"},
		{"garbage: " + s, `"garbage: …"`},
		{"garbage " + s, `"garbage …"`},
		{"JBSW-Y3DP-EHPK-3PXP-KRUG-S4ZA==", "looks like a bare secret key"},
		{"This QR code is not an authenticator key", `"This QR code is not an authenticator key"`},
		{"x-otpauth://totp/A:b?secret=" + s, `"x-otpauth://totp/A:b?secret=…"`},
		{"QR:otpauth-migration://offline?data=" + s, `"QR:otpauth-migration://offline?data=…"`},
		{"line one\n" + s + "\n", "line 2: not an authenticator key: the text looks like a bare secret key"},
		{"https://example.com/", `"https://example.com/"`},
	} {
		_, err := vault.ParseText(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseText(%q) = %v, want %s", tc.in, err, tc.want)
			continue
		}
		for _, part := range []string{s[:12], strings.ToLower(s[:12]), "jbsw y3dp"} {
			if strings.Contains(err.Error(), part) {
				t.Errorf("ParseText(%q): the error shows the secret: %v", tc.in, err)
			}
		}
	}
}
