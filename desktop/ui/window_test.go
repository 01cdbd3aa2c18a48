package ui

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// screenSizes are the window sizes checked, in pixels, and the scales.
var (
	screenSizes = []fyne.Size{{Width: 320, Height: 640}, {Width: 460, Height: 640}, {Width: 900, Height: 800}, {Width: 1600, Height: 1000}}
	scales      = []float32{1, 2}
)

// minWindow is the smallest window, in Fyne units, the layout must serve:
// at scale 2 a 320-px window would be 160 units, less than the window's
// own minimum (search box and Add button), which the window keeps.
const minWindow = 300

func logical(px fyne.Size, scale float32) fyne.Size {
	return fyne.NewSize(max(px.Width/scale, minWindow), max(px.Height/scale, 400))
}

// fill adds n accounts straight to the store.
func (h *harness) fill(n int) {
	h.t.Helper()
	issuers := []string{"GitHub", "Google", "", "Amazon Web Services", "Dropbox", "Proton", "Bank of Examples", "Mastodon"}
	from := len(h.accounts())
	for i := from; i < from+n; i++ {
		k := &totp.Key{Type: totp.TOTP, Issuer: issuers[i%len(issuers)], Account: fmt.Sprintf("user%d@example.com", i),
			Secret: []byte(fmt.Sprintf("secret-%02d-0123456789", i)), Algorithm: totp.SHA1, Digits: 6 + i%3, Period: 30}
		if _, err := h.store.Add(context.Background(), k); err != nil {
			h.t.Fatal(err)
		}
	}
	h.u.reload()
	h.settle()
}

// fits fails unless the dialog on top, and the window's content, fit the
// window: nothing may make the window grow.
func (h *harness) fits(what string) {
	h.t.Helper()
	c := h.u.win.Canvas()
	size := c.Size()
	if m := h.u.win.Content().MinSize(); m.Width > size.Width || m.Height > size.Height {
		h.t.Errorf("%s at %v: the window's content needs %v", what, size, m)
	}
	o := c.Overlays().Top()
	if o == nil {
		h.t.Fatalf("%s: no dialog", what)
	}
	if m := o.MinSize(); m.Width > size.Width || m.Height > size.Height {
		h.t.Errorf("%s at %v: the dialog needs %v", what, size, m)
	}
}

// shot writes the window to $TWOFOLD_UI_SHOTS/name.png when set.
func (h *harness) shot(name string) {
	h.t.Helper()
	dir := os.Getenv("TWOFOLD_UI_SHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, h.u.win.Canvas().Capture()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) closeAll() {
	for h.u.win.Canvas().Overlays().Top() != nil {
		h.u.escape()
		if len(h.u.dialogs) == 0 {
			h.u.win.Canvas().Overlays().Remove(h.u.win.Canvas().Overlays().Top())
		}
	}
}

// TestEveryDialogFitsTheWindow opens every dialog at every window size
// and scale, light and dark, and checks that it fits the window (the
// window never grows to fit a dialog), writing screenshots when
// TWOFOLD_UI_SHOTS is set.
func TestEveryDialogFitsTheWindow(t *testing.T) {
	themes := map[string]fyne.Theme{"light": variantTheme{theme.DefaultTheme(), theme.VariantLight}, "dark": variantTheme{theme.DefaultTheme(), theme.VariantDark}}
	for tname, th := range themes {
		for _, px := range screenSizes {
			for _, scale := range scales {
				name := fmt.Sprintf("%s-%dx%d-scale%g", tname, int(px.Width), int(px.Height), scale)
				t.Run(name, func(t *testing.T) {
					h := newHarness(t, Options{Tray: &fakeTray{}}) // Settings with its tray row
					fyne.CurrentApp().Settings().SetTheme(th)
					h.u.win.Canvas().(test.WindowlessCanvas).SetScale(scale)
					size := logical(px, scale)
					h.u.win.Resize(size)
					h.shot(name + "-empty")
					if w := h.u.empty.Size().Width; w < min(size.Width-40, 300) {
						t.Errorf("first-run text is %v wide in a %v window", w, size.Width)
					}

					h.fill(5)
					h.shot(name + "-5")
					h.fill(77)
					h.shot(name + "-82")

					open := []struct {
						name string
						show func()
					}{
						{"add", h.u.showAdd},
						{"manual", h.u.showManual},
						{"paste", h.u.showPasteBox},
						{"preview", func() {
							h.u.addFromText("otpauth://totp/Example%20Corporation%20International:alice.longname@example.com?secret=JBSWY3DPEHPK3PXP\n" +
								"otpauth://totp/B:b?secret=KRSXG5CTMVRXEZLU\nnot a link\notpauth://totp/C:c?secret=KRSXG5CTMVRXEZLV")
						}},
						{"error", func() { h.u.addFromFile("settings.json", []byte(`[1,2,3]`)) }},
						{"ga-help", h.u.showExportHelp},
						{"export", h.u.showExport},
						{"ga-confirm", h.u.confirmGAExport},
						{"ga-codes", func() { h.u.exportGA(); h.settle() }},
						{"rename", func() { h.u.showRename(h.u.accounts[0]) }},
						{"delete", func() { h.u.confirmDelete(h.u.accounts[0]) }},
						{"qr", func() { h.u.confirmShowQR(h.u.accounts[0]); h.tap(h.top(), "Show QR code") }},
						{"encrypted", func() { h.u.askBackupPassword("twofold-backup-2026-11-30-v4.2fas", nil) }},
						{"settings", h.u.showSettings},
					}
					for _, d := range open {
						d.show()
						h.settle()
						h.fits(d.name)
						h.shot(name + "-" + d.name)
						h.closeAll()
					}
				})
			}
		}
	}
}

// lockedStore waits for its password prompt on every Code call.
type lockedStore struct {
	*vault.Memory
	release chan struct{}
}

func (s lockedStore) Code(ctx context.Context, id string, now time.Time) (string, error) {
	<-s.release
	return s.Memory.Code(ctx, id, now)
}

func TestLockedKeyringIsSaid(t *testing.T) {
	a := test.NewTempApp(t)
	mem := vault.NewMemory()
	if _, err := mem.Add(context.Background(), keyOf(t, aliceURI)); err != nil {
		t.Fatal(err)
	}
	st := lockedStore{mem, make(chan struct{})}
	h := &harness{t: t, store: mem, clock: newClock(1_700_000_005), queue: make(chan func(), 100)}
	h.u = newUI(a, st, h.clock.now, Options{}, func(f func()) { h.queue <- f })
	h.u.slowAfter = 0
	h.u.win.Resize(fyne.NewSize(460, 640))
	f := <-h.queue // the list came back; the codes are being read
	f()
	deadline := time.After(10 * time.Second)
	for h.u.status.Text != waitingStatus {
		select {
		case f := <-h.queue:
			f()
		case <-deadline:
			t.Fatalf("status while the keyring waits: %q", h.u.status.Text)
		}
	}
	h.shot("locked")
	close(st.release)
	h.settle()
	if h.u.status.Text != "" {
		t.Fatalf("status after the keyring answered: %q", h.u.status.Text)
	}
}

func TestShortcutsWorkFromTheSearchBox(t *testing.T) {
	h := newHarness(t, Options{})
	h.add(aliceURI)
	h.u.focusSearch()
	focused := h.u.win.Canvas().Focused().(fyne.Shortcutable) // as the driver hands it shortcuts

	h.u.app.Clipboard().SetContent("otpauth://totp/Paste:me?secret=KRSXG5CTMVRXEZLU")
	focused.TypedShortcut(&fyne.ShortcutPaste{Clipboard: h.u.app.Clipboard()})
	h.settle()
	if h.u.search.Text != "" {
		t.Fatalf("the link was pasted into the search box: %q", h.u.search.Text)
	}
	if got := text(h.top()); !strings.Contains(got, "Found in the pasted text") {
		t.Fatalf("Ctrl+V in the search box:\n%s", got)
	}
	h.closeAll()

	h.u.focusSearch()
	focused.TypedShortcut(ShortcutAdd)
	h.settle()
	if got := text(h.top()); !strings.Contains(got, "Where is the key?") {
		t.Fatalf("Ctrl+N in the search box:\n%s", got)
	}
	// Escape closes it.
	h.u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if o := h.u.win.Canvas().Overlays().Top(); o != nil {
		t.Fatalf("Escape left a dialog:\n%s", text(o))
	}

	// Plain text still pastes.
	h.u.app.Clipboard().SetContent("acme")
	h.u.focusSearch()
	focused.TypedShortcut(&fyne.ShortcutPaste{Clipboard: h.u.app.Clipboard()})
	if h.u.search.Text != "acme" {
		t.Fatalf("text pasted into search: %q", h.u.search.Text)
	}
	// Enter copies the only match.
	h.u.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.settle()
	if got, want := h.u.app.Clipboard().Content(), code(t, keyOf(t, aliceURI), h.clock.now()); got != want {
		t.Fatalf("Enter in the search box copied %q, want %q", got, want)
	}
}

func TestEnterAndEscapeInDialogs(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.add(aliceURI)

	h.u.showRename(a)
	es := entries(h.top())
	es[1].SetText("alice")
	es[1].TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.settle()
	if got := h.accounts()[0].Label(); got != "ACME:alice" {
		t.Fatalf("Enter in Rename: %q", got)
	}
	if o := h.u.win.Canvas().Overlays().Top(); o != nil {
		t.Fatalf("Rename still open:\n%s", text(o))
	}

	h.u.showManual()
	es = entries(h.top())
	es[1].SetText("bob")
	es[2].SetText("KRSXG5CTMVRXEZLU")
	es[2].TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.settle()
	if n := len(h.accounts()); n != 2 {
		t.Fatalf("Enter in manual entry: %d accounts", n)
	}

	h.u.showManual()
	entries(h.top())[0].TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if o := h.u.win.Canvas().Overlays().Top(); o != nil {
		t.Fatalf("Escape in a field left the dialog open:\n%s", text(o))
	}
}

func TestMoveWithFilterSkipsHiddenAccounts(t *testing.T) {
	h := newHarness(t, Options{})
	h.add("otpauth://totp/Work:x?secret=KRSXG5CTMVRXEZLA")
	h.add("otpauth://totp/Other:y?secret=KRSXG5CTMVRXEZLB")
	h.add("otpauth://totp/Home:z?secret=KRSXG5CTMVRXEZLC")
	last := h.add("otpauth://totp/Work:w?secret=KRSXG5CTMVRXEZLD")
	h.u.search.SetText("work")
	h.u.move(last, -1)
	h.settle()
	var got []string
	for _, r := range h.rows() {
		got = append(got, r.acc.Label())
	}
	if strings.Join(got, ",") != "Work:w,Work:x" {
		t.Fatalf("shown after moving Work:w up: %v", got)
	}
	h.u.search.SetText("")
	h.u.moveTo(h.u.accounts[2], len(h.u.accounts)-1) // to the bottom in one action
	h.settle()
	h.u.sortByName()
	h.settle()
	got = got[:0]
	for _, a := range h.accounts() {
		got = append(got, a.Label())
	}
	if strings.Join(got, ",") != "Home:z,Other:y,Work:w,Work:x" {
		t.Fatalf("sorted: %v", got)
	}
}

func TestHOTPNextKeepsCopiedStatus(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.add("otpauth://hotp/Counter:c?secret=KRSXG5CTMVRXEZLU&counter=5")
	h.u.nextHOTP(a)
	h.settle()
	if !strings.HasPrefix(h.u.status.Text, "Copied the code of Counter:c") {
		t.Fatalf("status after Next code: %q", h.u.status.Text)
	}
}

func TestMessagesAreInTheUsersWords(t *testing.T) {
	h := newHarness(t, Options{})
	h.u.addFromFile("settings.json", []byte(`[1, 2]`))
	h.settle()
	h.wantError("settings.json is not a backup Twofold reads")
	h.u.addFromFile("settings.json", []byte(`{"theme":"dark"}`))
	h.settle()
	h.wantError("not an Aegis or 2FAS backup")

	h.u.app.Clipboard().SetContent("otpauth://totp/A:a?secret=KRSXG5CTMVRXEZLU\notpauth://totp/B:b\x01?secret=KRSXG5CTMVRXEZLV")
	h.shortcut(&fyne.ShortcutPaste{})
	got := text(h.top())
	for _, bad := range []string{"net/url", "KRSXG5CTMVRXEZLV", "parse \""} {
		if strings.Contains(got, bad) {
			t.Errorf("preview says %q:\n%s", bad, got)
		}
	}
	if !strings.Contains(got, "line 2") || !strings.Contains(got, "control character") {
		t.Errorf("the bad line is not named:\n%s", got)
	}
	for in, want := range map[string]string{
		`json: cannot unmarshal array into Go value of type struct { DB json.RawMessage "json:\"db\"" }`: "not a backup Twofold reads",
		`exec: "dbus-launch": executable file not found in $PATH`:                                        "the helper program dbus-launch is not installed",
	} {
		if got := userWords(in); !strings.Contains(got, want) || strings.Contains(got, "json:") || strings.Contains(got, "exec:") {
			t.Errorf("userWords(%q) = %q", in, got)
		}
	}
}

func TestRowsShowTheCodeFirst(t *testing.T) {
	h := newHarness(t, Options{})
	h.add("otpauth://totp/alice?secret=KRSXG5CTMVRXEZLU&digits=7")
	r := h.rows()[0]
	if r.issuer.Text != "alice" || r.name.Visible() {
		t.Fatalf("an account without issuer shows %q and %q (visible %v)", r.issuer.Text, r.name.Text, r.name.Visible())
	}
	if r.code.TextSize <= theme.TextSize() { // its figures are one width: TestCodeFiguresOneWidth
		t.Fatalf("code drawn at %v, no larger than the text", r.code.TextSize)
	}
	if got := r.code.Text; len(got) != 8 || got[4] != ' ' {
		t.Fatalf("7-digit code grouped as %q, want 4+3", got)
	}
	if r.letter.Text != "A" || avatarColor("GitHub") != avatarColor("github") || avatarColor("GitHub") == avatarColor("Google") {
		t.Fatalf("avatar %q", r.letter.Text)
	}
	for in, want := range map[string]string{"123456": "123 456", "1234567": "1234 567", "12345678": "1234 5678"} {
		if got := groupCode(in); got != want {
			t.Errorf("groupCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSettingsClipboardNeverAndAbout(t *testing.T) {
	h := newHarness(t, Options{Version: "v1.2.3", DataDir: "/home/alice/.config/twofold"})
	h.add(aliceURI)
	h.u.showSettings()
	got := text(h.top())
	for _, want := range []string{"v1.2.3", "/home/alice/.config/twofold", "keyring"} {
		if !strings.Contains(got, want) {
			t.Errorf("settings lack %q:\n%s", want, got)
		}
	}
	h.fits("settings")
	var clip *widget.Select
	walk(h.top(), func(o fyne.CanvasObject) {
		if s, ok := o.(*widget.Select); ok && clip == nil {
			clip = s
		}
	})
	if clip == nil || clip.Selected != "30 s" {
		t.Fatalf("clipboard choice %+v", clip)
	}
	clip.SetSelected("Never")
	h.closeAll()

	h.u.copySelected()
	h.settle()
	c := code(t, keyOf(t, aliceURI), h.clock.now())
	if !strings.Contains(h.u.status.Text, "not cleared") {
		t.Fatalf("status %q", h.u.status.Text)
	}
	h.clock.add(5 * time.Minute)
	h.u.tick()
	h.settle()
	if got := h.u.app.Clipboard().Content(); got != c {
		t.Fatalf("clipboard %q after 5 min with Never, want %q", got, c)
	}
}

// The file dialogs are dialogs like the others: Escape closes them.
func TestEscapeClosesTheFileDialog(t *testing.T) {
	h := newHarness(t, Options{})
	h.u.openImage()
	h.settle()
	if got := text(h.top()); !strings.Contains(got, "Open") {
		t.Fatalf("no file dialog:\n%s", got)
	}
	h.u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	h.settle()
	if o := h.u.win.Canvas().Overlays().Top(); o != nil {
		t.Fatalf("Escape left the file dialog open:\n%s", text(o))
	}
	if len(h.u.dialogs) != 0 {
		t.Fatalf("%d dialogs still counted as open", len(h.u.dialogs))
	}
}

// The window takes its minimum width from the list's template row: it
// must hold an 8-digit code and a bit of the name, or a narrow window at
// scale 2 draws codes over names.
func TestRowMinimumHoldsTheWidestCode(t *testing.T) {
	h := newHarness(t, Options{})
	h.add("otpauth://totp/Bank:anna?secret=GEZDGNBVGY3TQOJQGEZDGNBV&digits=8&issuer=Bank")
	template := newRow(h.u)
	real := h.rows()[0]
	if got, need := template.MinSize().Width, real.content.MinSize().Width; got < need {
		t.Fatalf("template row min width %v < an 8-digit row's %v", got, need)
	}
	if w := real.issuer.Size().Width; w < namesMinWidth-2*theme.Padding() {
		t.Fatalf("issuer gets %v px", w)
	}
}
