package ui

import (
	"context"
	"crypto/rand"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"twofold.dev/desktop/vault"
	"twofold.dev/desktop/vault/vaulttest"
	"twofold.dev/shared/migration"
	"twofold.dev/shared/totp"
)

// screenshot writes the window as drawn, dialogs included, to
// $TWOFOLD_UI_SHOTS (or the test's temp dir) for a person to look at.
func (h *harness) screenshot(name string) string {
	h.t.Helper()
	dir := os.Getenv("TWOFOLD_UI_SHOTS")
	if dir == "" {
		dir = h.t.TempDir()
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, h.u.win.Canvas().Capture()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Logf("screenshot: %s", path)
	return path
}

// saveTo is Options.SaveFile writing to path.
func saveTo(path string) func(string, func(io.WriteCloser, string, error)) {
	return func(_ string, save func(io.WriteCloser, string, error)) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		save(f, filepath.Base(path), err)
	}
}

// menuItem finds a main-menu item by label.
func (h *harness) menuItem(label string) *fyne.MenuItem {
	h.t.Helper()
	for _, m := range h.u.win.MainMenu().Items {
		for _, it := range m.Items {
			if it.Label == label {
				return it
			}
		}
	}
	h.t.Fatalf("no menu item %q", label)
	return nil
}

const hotpURI = "otpauth://hotp/Bank:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=41&digits=8"

func TestExportEncryptedFromWindow(t *testing.T) {
	file := filepath.Join(t.TempDir(), "backup.json")
	h := newHarness(t, Options{SaveFile: saveTo(file), Rand: rand.Reader})
	h.add(aliceURI)
	h.add(hotpURI)
	h.add("otpauth://totp/Slow:carol?secret=KRUGS4ZANFZSAYJAONSWG4TFOQ&period=60&digits=7")
	h.u.pin(h.accounts()[1], true) // an Aegis favourite in the backup
	h.settle()

	h.menuItem("Export encrypted backup…").Action()
	dlg := h.top()
	if got := text(dlg); !strings.Contains(got, "Aegis") || !strings.Contains(got, "Without the password") {
		t.Fatalf("export dialog:\n%s", got)
	}
	es := entries(dlg)
	h.tap(dlg, "Choose file…")
	if got := text(h.top()); !strings.Contains(got, "Choose a password") {
		t.Fatalf("an empty password was not refused:\n%s", got)
	}
	test.Type(es[0], "window pass")
	test.Type(es[1], "window pas")
	h.tap(dlg, "Choose file…")
	if got := text(h.top()); !strings.Contains(got, "differ") {
		t.Fatalf("different passwords were not refused:\n%s", got)
	}
	test.Type(es[1], "s")
	h.screenshot("export-password.png")
	h.tap(dlg, "Choose file…")
	h.settle()
	if got := text(h.top()); !strings.Contains(got, "3 accounts written to backup.json") {
		t.Fatalf("after export:\n%s", got)
	}
	h.tap(h.top(), "OK")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	content, err := vaulttest.DecryptAegis(t, data, "window pass")
	if err != nil || len(content["entries"].([]any)) != 3 {
		t.Fatalf("independent reader: %v, %v", err, content)
	}

	// Opened in another window: the password is asked, a wrong one refused.
	other := newHarness(t, Options{})
	other.u.addFromFile("backup.json", data)
	other.settle()
	pw := entries(other.top())[0]
	test.Type(pw, "wrong")
	other.tap(other.top(), "Open")
	if got := text(other.top()); !strings.Contains(got, "Wrong password for this backup") {
		t.Fatalf("wrong password:\n%s", got)
	}
	if n := len(other.accounts()); n != 0 {
		t.Fatalf("a wrong password added %d accounts", n)
	}
	pw.SetText("")
	test.Type(pw, "window pass")
	other.tap(other.top(), "Open")
	if got := text(other.top()); !strings.Contains(got, "Found in backup.json: 3 accounts") {
		t.Fatalf("preview:\n%s", got)
	}
	other.tap(other.top(), "Add")
	want, got := h.accounts(), other.accounts()
	if len(got) != 3 || !got[1].Pinned {
		t.Fatalf("restored %+v: want 3, the second pinned", got)
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Label() != g.Label() || w.Type != g.Type || w.Algorithm != g.Algorithm || w.Digits != g.Digits || w.Period != g.Period || w.Counter != g.Counter || w.Pinned != g.Pinned {
			t.Errorf("restored %+v, want %+v", g, w)
		}
	}
}

// zbar decodes an image with zbarimg, the independent QR reader.
func zbar(t *testing.T, img image.Image) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "code.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, img)
	f.Close()
	out, err := exec.Command("zbarimg", "--nodbus", "-q", "--raw", path).Output()
	if err != nil {
		t.Fatalf("zbarimg (package zbar-tools): %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestGoogleAuthenticatorExportFromWindow(t *testing.T) {
	h := newHarness(t, Options{Rand: rand.Reader})
	var want []string
	for i := 0; i < 12; i++ {
		k := &totp.Key{Type: totp.TOTP, Issuer: "Svc", Account: "user" + string(rune('a'+i)), Algorithm: totp.SHA1, Digits: 6, Period: 30, Secret: make([]byte, 20)}
		rand.Read(k.Secret)
		h.store.Add(context.Background(), k)
		want = append(want, k.Label()+"="+k.SecretBase32())
	}
	h.add("otpauth://totp/Slow:sixty?secret=KRUGS4ZANFZSAYJAONSWG4TFOQ&period=60")

	h.menuItem("Export to Google Authenticator…").Action()
	if got := text(h.top()); !strings.Contains(got, "anyone who sees or photographs them") {
		t.Fatalf("no warning first:\n%s", got)
	}
	h.tap(h.top(), "Show codes")
	dlg := h.top()
	got := text(dlg)
	if !strings.Contains(got, "1 of 2") || !strings.Contains(got, "Not included (Google Authenticator cannot hold it): Slow:sixty: period") {
		t.Fatalf("first code:\n%s", got)
	}
	h.screenshot("ga-export-1-of-2.png")
	qrImage := func() image.Image {
		var img image.Image
		walk(h.top(), func(o fyne.CanvasObject) {
			if i, ok := o.(*canvas.Image); ok && i.Image != nil {
				img = i.Image
			}
		})
		if img == nil {
			t.Fatal("no QR code shown")
		}
		return img
	}
	var in []string
	read := func() {
		b, err := migration.Decode(zbar(t, qrImage()))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range b.Keys {
			in = append(in, k.Label()+"="+k.SecretBase32())
		}
	}
	read()
	h.tap(dlg, "Next")
	if got := text(dlg); !strings.Contains(got, "2 of 2") || !strings.Contains(got, "[Done]") {
		t.Fatalf("second code:\n%s", got)
	}
	read()
	h.tap(dlg, "Back")
	if got := text(dlg); !strings.Contains(got, "1 of 2") {
		t.Fatalf("back:\n%s", got)
	}
	if strings.Join(in, " ") != strings.Join(want, " ") {
		t.Errorf("codes hold\n%s\nwant\n%s", strings.Join(in, " "), strings.Join(want, " "))
	}
	h.tap(dlg, "Next")
	h.tap(dlg, "Done")
	if h.u.win.Canvas().Overlays().Top() != nil {
		t.Error("Done did not close the codes")
	}
}

func TestBackupFolderFromWindow(t *testing.T) {
	folder := filepath.Join(t.TempDir(), "backups")
	var mu sync.Mutex
	at := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	b := &vault.AutoBackup{ConfigDir: t.TempDir(), Passwords: &vaulttest.Passwords{}, Rand: rand.Reader,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); at = at.Add(time.Second); return at }}
	h := newHarness(t, Options{Backups: b})
	h.add(aliceURI)

	h.menuItem("Automatic backups…").Action()
	dlg := h.top()
	if got := text(dlg); !strings.Contains(got, "Automatic backups are off") {
		t.Fatalf("settings:\n%s", got)
	}
	es := entries(dlg) // folder, keep, password, again
	if len(es) != 4 || es[1].Text != "10" {
		t.Fatalf("entries %d, keep %q", len(es), es[1].Text)
	}
	test.Type(es[0], folder)
	es[1].SetText("2")
	test.Type(es[2], "folder pass")
	test.Type(es[3], "folder pasS")
	h.tap(dlg, "Save")
	if got := text(h.top()); !strings.Contains(got, "differ") {
		t.Fatalf("different passwords:\n%s", got)
	}
	es[3].SetText("folder pass")
	h.screenshot("backup-settings.png")
	h.tap(dlg, "Save")
	if !strings.Contains(h.u.status.Text, "Automatic backups on; first backup") {
		t.Fatalf("status %q", h.u.status.Text)
	}
	names, _ := vault.Backups(folder)
	if len(names) != 1 {
		t.Fatalf("%d backups after turning them on", len(names))
	}

	// Several URIs pasted at once, one line bad and one secret short.
	h.u.app.Clipboard().SetContent("otpauth://totp/A:one?secret=KRUGS4ZANFZSAYJAONSWG4TFOQ\nnonsense\notpauth://totp/B:two?secret=JBSWY3DPEHPK\n")
	h.shortcut(&fyne.ShortcutPaste{})
	got := text(h.top())
	if !strings.Contains(got, "2 accounts") || !strings.Contains(got, "Skipped line 2: ") || !strings.Contains(got, "B:two: the secret is only 56 bits") {
		t.Fatalf("preview:\n%s", got)
	}
	h.screenshot("paste-preview.png")
	h.tap(h.top(), "Add")
	b.Flush()
	names, _ = vault.Backups(folder)
	if len(names) != 2 {
		t.Fatalf("%d backups with keep 2", len(names))
	}
	data, _ := os.ReadFile(names[1])
	f, err := vault.ReadBackup(data, []byte("folder pass"))
	if err != nil || len(f.Keys) != 3 {
		t.Fatalf("newest backup: %v, %d keys, want the 3 accounts", err, len(f.Keys))
	}

	h.menuItem("Automatic backups…").Action()
	if got := text(h.top()); !strings.Contains(got, "On: backups go to "+folder+", the newest 2 kept") {
		t.Fatalf("settings when on:\n%s", got)
	}
	h.tap(h.top(), "Turn off")
	if s, _ := b.Settings(); s.Dir != "" {
		t.Errorf("still on after Turn off: %+v", s)
	}
	h.add("otpauth://totp/C:three?secret=KRUGS4ZANFZSAYJAONSWG4TFOQ")
	b.Flush()
	if names, _ := vault.Backups(folder); len(names) != 2 {
		t.Errorf("a change after Turn off wrote a backup: %d files", len(names))
	}
}

func TestOpenTextFileOfURIs(t *testing.T) {
	h := newHarness(t, Options{})
	data := "# exported\notpauth://totp/A:one?secret=KRUGS4ZANFZSAYJAONSWG4TFOQ\notpauth://steam/S:x?secret=KRUGS4ZANFZSAYJAONSWG4TFOQ\n" + hotpURI + "\n"
	h.u.addFromFile("accounts.txt", []byte(data))
	h.settle()
	got := text(h.top())
	if !strings.Contains(got, "Found in accounts.txt: 2 accounts") || !strings.Contains(got, "Skipped line 3: ") {
		t.Fatalf("preview:\n%s", got)
	}
	h.tap(h.top(), "Add")
	if l := h.accounts(); len(l) != 2 || l[1].Counter != 41 {
		t.Fatalf("added %+v", l)
	}
}
