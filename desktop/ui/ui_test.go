package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/screen"
	"twofold.dev/desktop/vault"
	"twofold.dev/desktop/vault/vaulttest"
	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

// clock is a settable clock: tests move it instead of sleeping.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock(unix int64) *clock     { return &clock{time.Unix(unix, 0)} }
func keyOf(t *testing.T, uri string) *totp.Key {
	t.Helper()
	k, err := totp.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type harness struct {
	t     *testing.T
	u     *UI
	store *vault.Memory
	clock *clock
	queue chan func() // the UI thread's work, run by settle
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	h := &harness{t: t, store: vault.NewMemory(), clock: newClock(1_700_000_005)}
	h.queue = make(chan func(), 100)
	h.u = newUI(a, h.store, h.clock.now, opts, func(f func()) { h.queue <- f })
	h.u.win.Resize(fyne.NewSize(460, 640))
	h.settle()
	return h
}

// settle runs the UI thread's queue, like the driver's event loop, until
// every background call has come back and been applied.
func (h *harness) settle() {
	h.t.Helper()
	settleQueue(h.t, h.u, h.queue)
}

// settleQueue runs u's UI-thread queue until every background call has
// come back and been applied.
func settleQueue(tb testing.TB, u *UI, queue chan func()) {
	tb.Helper()
	for u.pending > 0 {
		select {
		case f := <-queue:
			f()
		case <-time.After(10 * time.Second):
			tb.Fatalf("%d background calls did not come back", u.pending)
		}
	}
}

func (h *harness) shortcut(s fyne.Shortcut) {
	h.u.win.Canvas().(interface{ TypedShortcut(fyne.Shortcut) }).TypedShortcut(s)
	h.settle()
}

func (h *harness) add(uri string) vault.Account {
	h.t.Helper()
	a, err := h.store.Add(context.Background(), keyOf(h.t, uri))
	if err != nil {
		h.t.Fatal(err)
	}
	h.u.reload()
	h.settle()
	return a
}

func (h *harness) accounts() []vault.Account {
	h.t.Helper()
	l, err := h.store.List(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return l
}

// walk visits every visible object under o.
func walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil || !o.Visible() {
		return
	}
	fn(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walk(c, fn)
		}
	case *widget.Label, *widget.Button, *widget.Entry, *field, *fitText:
		// leaves for our purposes
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walk(c, fn)
		}
	}
}

// top is the dialog on top, failing when there is none.
func (h *harness) top() fyne.CanvasObject {
	h.t.Helper()
	o := h.u.win.Canvas().Overlays().Top()
	if o == nil {
		h.t.Fatal("no dialog is shown")
	}
	return o
}

// text is every label, button and check text under o, joined.
func text(o fyne.CanvasObject) string {
	var b strings.Builder
	walk(o, func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			b.WriteString(x.Text + "\n")
		case *fitText:
			b.WriteString(x.Text + "\n")
		case *widget.Button:
			b.WriteString("[" + x.Text + "]\n")
		case *widget.Check:
			b.WriteString(x.Text + "\n")
		}
	})
	return b.String()
}

func (h *harness) tap(o fyne.CanvasObject, label string) {
	h.t.Helper()
	var found *widget.Button
	walk(o, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == label && found == nil {
			found = b
		}
	})
	if found == nil {
		h.t.Fatalf("no button %q in:\n%s", label, text(o))
	}
	test.Tap(found)
	h.settle()
}

func entries(o fyne.CanvasObject) []*field {
	var es []*field
	walk(o, func(o fyne.CanvasObject) {
		if e, ok := o.(*field); ok {
			es = append(es, e)
		}
	})
	return es
}

// rows are the account rows the list shows.
func (h *harness) rows() []*row {
	var rs []*row
	walk(h.u.win.Content(), func(o fyne.CanvasObject) {
		if r, ok := o.(*row); ok {
			rs = append(rs, r)
		}
	})
	return rs
}

func (h *harness) wantError(contains ...string) {
	h.t.Helper()
	got := text(h.top())
	for _, c := range contains {
		if !strings.Contains(got, c) {
			h.t.Errorf("dialog does not say %q:\n%s", c, got)
		}
	}
	h.tap(h.top(), "OK")
}

func code(t *testing.T, k *totp.Key, now time.Time) string {
	t.Helper()
	c, err := k.Code(now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const aliceURI = "otpauth://totp/ACME:alice@example.com?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8"

func TestEmptyListExplainsHowToAdd(t *testing.T) {
	h := newHarness(t, Options{})
	if !h.u.empty.Visible() || !strings.Contains(h.u.empty.Text, "Scan QR from screen") {
		t.Fatalf("empty state: visible %v, %q", h.u.empty.Visible(), h.u.empty.Text)
	}
	h.add(aliceURI)
	if h.u.empty.Visible() {
		t.Fatal("empty-state help still shown with an account")
	}
}

func TestAddByPastedURIWithEditedLabel(t *testing.T) {
	h := newHarness(t, Options{})
	h.u.app.Clipboard().SetContent(aliceURI)
	h.shortcut(&fyne.ShortcutPaste{})
	dlg := h.top()
	if got := text(dlg); !strings.Contains(got, "TOTP · SHA256 · 8 digits · every 30 s") {
		t.Fatalf("preview does not describe the key:\n%s", got)
	}
	es := entries(dlg)
	if len(es) != 2 || es[0].Text != "ACME" || es[1].Text != "alice@example.com" {
		t.Fatalf("preview entries %v", es)
	}
	es[0].SetText("")
	test.Type(es[0], "ACME Corp")
	h.tap(dlg, "Add")

	l := h.accounts()
	if len(l) != 1 || l[0].Label() != "ACME Corp:alice@example.com" || l[0].Digits != 8 {
		t.Fatalf("stored %+v", l)
	}
	rs := h.rows()
	if len(rs) != 1 {
		t.Fatalf("%d rows shown", len(rs))
	}
	want := totp.FormatCode(code(t, keyOf(t, aliceURI), h.clock.now()))
	if rs[0].issuer.Text != "ACME Corp" || rs[0].name.Text != "alice@example.com" || rs[0].code.Text != want {
		t.Fatalf("row shows %q %q %q, want code %q", rs[0].issuer.Text, rs[0].name.Text, rs[0].code.Text, want)
	}

	// The same again is reported, not added twice.
	h.u.app.Clipboard().SetContent("otpauth://totp/ACME%20Corp:alice@example.com?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8")
	h.shortcut(&fyne.ShortcutPaste{})
	h.tap(h.top(), "Add")
	h.wantError("Nothing added", "Already in the list", "ACME Corp:alice@example.com")
	if n := len(h.accounts()); n != 1 {
		t.Fatalf("%d accounts after adding a duplicate", n)
	}
}

func TestAddFromBackupFile(t *testing.T) {
	h := newHarness(t, Options{})
	h.u.addFromFile("aegis.json", []byte(vaulttest.AegisPlain))
	h.settle()
	dlg := h.top()
	got := text(dlg)
	if !strings.Contains(got, "3 accounts") || !strings.Contains(got, "Valve:sophia") {
		t.Fatalf("preview does not list 3 accounts and name the skipped Steam entry:\n%s", got)
	}
	h.tap(dlg, "Add")
	if n := len(h.accounts()); n != 3 {
		t.Fatalf("%d accounts added, want 3", n)
	}
	h.u.addFromFile("locked.json", []byte(`{"version":1,"header":{"slots":[{}]},"db":"Y2lwaGVy"}`))
	h.settle()
	test.Type(entries(h.top())[0], "a password") // encrypted: asked first (export_test.go)
	h.tap(h.top(), "Open")
	h.wantError("No account found in locked.json", "encrypted")
	if n := len(h.accounts()); n != 3 {
		t.Fatalf("an encrypted backup changed the accounts: %d", n)
	}
}

func TestAddByImage(t *testing.T) {
	h := newHarness(t, Options{})
	data, err := os.ReadFile(filepath.Join(vaulttest.Write(t), vaulttest.ExportPhoto))
	if err != nil {
		t.Fatal(err)
	}
	h.u.addFromImage("export.jpg", data)
	h.settle()
	dlg := h.top()
	if got := text(dlg); !strings.Contains(got, "3 accounts") {
		t.Fatalf("preview:\n%s", got)
	}
	h.tap(dlg, "Add")
	var got []string
	for _, a := range h.accounts() {
		got = append(got, a.Label())
	}
	if strings.Join(got, ",") != "Test1:test1@example1.com,Test2:test2@example2.com,Test3:test3@example3.com" {
		t.Fatalf("added %v", got)
	}
	if len(h.rows()) != 3 {
		t.Fatalf("%d rows", len(h.rows()))
	}
}

func qrScreen(t *testing.T, texts ...string) image.Image {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 1600, 1000))
	draw.Draw(m, m.Rect, image.NewUniform(image.White), image.Point{}, draw.Src)
	for i, s := range texts {
		q, err := qr.Image(s, 240)
		if err != nil {
			t.Fatal(err)
		}
		draw.Draw(m, q.Bounds().Add(image.Pt(200+i*500, 300)), q, image.Point{}, draw.Src)
	}
	return m
}

func TestScanScreenShortcut(t *testing.T) {
	var shots int
	h := newHarness(t, Options{Capture: func() ([]image.Image, error) {
		shots++
		return []image.Image{qrScreen(t, "otpauth://totp/Portal:qa@example.com?secret=KRSXG5CTMVRXEZLU&issuer=Portal")}, nil
	}})
	h.shortcut(ShortcutScan)
	if shots != 1 {
		t.Fatalf("%d captures", shots)
	}
	// Enter presses Add, so the whole scan works from the keyboard.
	h.u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.settle()
	if l := h.accounts(); len(l) != 1 || l[0].Label() != "Portal:qa@example.com" {
		t.Fatalf("stored %+v", l)
	}
}

func TestBadInputGetsClearMessageAndSavesNothing(t *testing.T) {
	fixtures := vaulttest.Write(t)
	notKey, _ := os.ReadFile(filepath.Join(fixtures, vaulttest.NotAKey))
	notImage, _ := os.ReadFile(filepath.Join(fixtures, vaulttest.TextAsImage))
	blank := image.NewGray(image.Rect(0, 0, 300, 300))
	var capture func() ([]image.Image, error)
	h := newHarness(t, Options{Capture: func() ([]image.Image, error) { return capture() }})

	h.u.app.Clipboard().SetContent("hello world")
	h.shortcut(&fyne.ShortcutPaste{})
	h.wantError("Not an account", "not an otpauth:// or otpauth-migration:// URI")

	h.u.app.Clipboard().SetContent("otpauth://totp/A:b?secret=0000")
	h.shortcut(&fyne.ShortcutPaste{})
	h.wantError("secret", "not valid base32")

	h.u.app.Clipboard().SetContent("otpauth-migration://offline?data=XXXX")
	h.shortcut(&fyne.ShortcutPaste{})
	h.wantError("Google Authenticator export")

	h.u.addFromImage("notkey.png", notKey)
	h.settle()
	h.wantError("No account found in notkey.png", "not an authenticator key", "This QR code is not an authenticator key")

	h.u.addFromImage("fake.jpeg", notImage)
	h.settle()
	h.wantError("not a PNG, JPEG or GIF image")

	capture = func() ([]image.Image, error) { return []image.Image{blank}, nil }
	h.shortcut(ShortcutScan)
	h.wantError("No account found on the screen", "no QR code found on the screen", "Open image")

	capture = func() ([]image.Image, error) {
		return nil, errors.New(screen.ErrUnavailable.Error() + ": Wayland refused; use Open image…, Paste or Enter key manually")
	}
	h.shortcut(ShortcutScan)
	h.wantError("cannot capture the screen", "Open image", "Paste", "manually")

	h.u.showManual()
	dlg := h.top()
	es := entries(dlg)
	test.Type(es[1], "bob")
	test.Type(es[2], "not base32!")
	h.tap(dlg, "Add")
	if got := text(h.top()); !strings.Contains(got, "secret key: not valid base32") {
		t.Fatalf("manual entry with a bad secret shows:\n%s", got)
	}
	h.tap(h.top(), "Cancel")

	if n := len(h.accounts()); n != 0 {
		t.Fatalf("bad input saved %d accounts", n)
	}
}

func TestManualEntryAdvanced(t *testing.T) {
	h := newHarness(t, Options{})
	h.u.showManual()
	dlg := h.top()
	walk(dlg, func(o fyne.CanvasObject) {
		if a, ok := o.(*widget.Accordion); ok {
			a.Open(0) // "Advanced"
		}
	})
	es := entries(dlg) // issuer, account, secret, period, counter
	test.Type(es[0], "Bank")
	test.Type(es[1], "carol")
	test.Type(es[2], "jbsw y3dp ehpk 3pxp")
	es[3].SetText("20")
	var selects []*widget.Select
	walk(dlg, func(o fyne.CanvasObject) {
		if s, ok := o.(*widget.Select); ok {
			selects = append(selects, s)
		}
	})
	if len(selects) != 3 {
		t.Fatalf("%d selects in the advanced section", len(selects))
	}
	selects[1].SetSelected("SHA512")
	selects[2].SetSelected("7")
	h.tap(dlg, "Add")
	l := h.accounts()
	if len(l) != 1 || l[0].Label() != "Bank:carol" || l[0].Algorithm != totp.SHA512 || l[0].Digits != 7 || l[0].Period != 20 {
		t.Fatalf("stored %+v", l)
	}
}

func TestCopyAndClipboardClear(t *testing.T) {
	h := newHarness(t, Options{})
	h.add(aliceURI)
	k := keyOf(t, aliceURI)
	cb := h.u.app.Clipboard()

	h.u.list.Select(0) // a click on the row
	h.settle()
	if got, want := cb.Content(), code(t, k, h.clock.now()); got != want {
		t.Fatalf("clipboard %q, want %q", got, want)
	}
	h.clock.add(29 * time.Second)
	h.u.tick()
	h.settle()
	if cb.Content() == "" {
		t.Fatal("clipboard cleared before 30 s")
	}
	h.clock.add(time.Second)
	h.u.tick()
	h.settle()
	if cb.Content() != "" {
		t.Fatalf("clipboard still %q after 30 s", cb.Content())
	}

	// Enter copies too; a clipboard the user changed since is left alone.
	h.u.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.settle()
	if got, want := cb.Content(), code(t, k, h.clock.now()); got != want {
		t.Fatalf("Enter: clipboard %q, want %q", got, want)
	}
	cb.SetContent("something else")
	h.clock.add(31 * time.Second)
	h.u.tick()
	h.settle()
	if cb.Content() != "something else" {
		t.Fatalf("clipboard the user changed became %q", cb.Content())
	}

	// Ctrl+C copies the selected account.
	h.shortcut(&fyne.ShortcutCopy{})
	if got, want := cb.Content(), code(t, k, h.clock.now()); got != want {
		t.Fatalf("Ctrl+C: clipboard %q, want %q", got, want)
	}
}

func TestSearchFilters(t *testing.T) {
	h := newHarness(t, Options{})
	h.add(aliceURI)
	h.add("otpauth://totp/Bank:bob?secret=KRSXG5CTMVRXEZLU")
	h.add("otpauth://totp/Mail:bob@bank.example?secret=KRSXG5CTMVRXEZLV")
	if len(h.rows()) != 3 {
		t.Fatalf("%d rows", len(h.rows()))
	}
	h.shortcut(ShortcutSearch)
	if h.u.win.Canvas().Focused() != h.u.search {
		t.Fatal("Ctrl+F does not focus the search box")
	}
	test.Type(h.u.search, "BANK")
	var got []string
	for _, r := range h.rows() {
		got = append(got, r.issuer.Text+":"+r.acc.Account)
	}
	if strings.Join(got, ",") != "Bank:bob,Mail:bob@bank.example" {
		t.Fatalf("search BANK shows %v", got)
	}
	h.u.search.SetText("nothing like it")
	if len(h.rows()) != 0 || !h.u.empty.Visible() || !strings.Contains(h.u.empty.Text, "No account matches") {
		t.Fatalf("no match: rows %d, empty %q", len(h.rows()), h.u.empty.Text)
	}
}

func TestDeleteAsksFirst(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.add(aliceURI)
	h.u.confirmDelete(a)
	if got := text(h.top()); !strings.Contains(got, "Delete ACME:alice@example.com?") || !strings.Contains(got, "keyring") {
		t.Fatalf("confirmation:\n%s", got)
	}
	h.tap(h.top(), "Cancel")
	if len(h.accounts()) != 1 {
		t.Fatal("Cancel deleted")
	}
	h.u.confirmDelete(a)
	h.tap(h.top(), "Delete")
	if len(h.accounts()) != 0 || len(h.rows()) != 0 {
		t.Fatal("not deleted")
	}
}

func TestRenameAndReorder(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.add(aliceURI)
	b := h.add("otpauth://totp/Bank:bob?secret=KRSXG5CTMVRXEZLU")
	h.u.showRename(a)
	es := entries(h.top())
	es[0].SetText("Acme")
	es[1].SetText("")
	h.tap(h.top(), "Save")
	if got := text(h.top()); !strings.Contains(got, "account: must not be empty") {
		t.Fatalf("empty name not refused:\n%s", got)
	}
	es[1].SetText("alice")
	h.tap(h.top(), "Save")
	if l := h.accounts(); l[0].Label() != "Acme:alice" {
		t.Fatalf("after rename %+v", l)
	}
	h.u.move(b, -1)
	h.settle()
	if l := h.accounts(); l[0].ID != b.ID {
		t.Fatalf("after move up %+v", l)
	}
	if rs := h.rows(); rs[0].acc.ID != b.ID {
		t.Fatal("list not redrawn in the new order")
	}
}

func TestHOTPCounterSavedBeforeCodeShown(t *testing.T) {
	h := newHarness(t, Options{})
	uri := "otpauth://hotp/Door:dave?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=5"
	k := keyOf(t, uri)
	h.add(uri)
	r := h.rows()[0]
	if r.timer.Visible() || !r.next.Visible() || strings.Trim(r.code.Text, "- ") != "" {
		t.Fatalf("HOTP row before Next: bar %v next %v code %q", r.timer.Visible(), r.next.Visible(), r.code.Text)
	}
	for n := uint64(5); n < 7; n++ {
		h.tap(h.u.win.Content(), "Next code")
		want, _ := k.HOTPCode(n)
		if got := h.rows()[0].code.Text; got != totp.FormatCode(want) {
			t.Fatalf("code #%d shown %q, want %q", n, got, totp.FormatCode(want))
		}
		if c := h.accounts()[0].Counter; c != n+1 {
			t.Fatalf("stored counter %d after showing code #%d", c, n)
		}
	}

	// When the counter cannot be saved, no code is shown.
	h.store.Err = vault.ErrKeyringLocked
	before := h.rows()[0].code.Text
	h.tap(h.u.win.Content(), "Next code")
	h.wantError("Cannot get the next code", "keyring is locked", "Unlock")
	h.store.Err = nil
	if got := h.rows()[0].code.Text; got != before {
		t.Fatalf("a code was shown although the counter was not saved: %q", got)
	}
}

func TestCountdownFollowsPeriodAndClock(t *testing.T) {
	h := newHarness(t, Options{})
	uri := "otpauth://totp/Fast:eve?secret=KRSXG5CTMVRXEZLU&period=20&digits=7"
	k := keyOf(t, uri)
	h.clock.t = time.Unix(1_700_000_005, 0) // 5 s into a 20 s step (1_700_000_000 is a multiple of 20)
	h.add(uri)
	r := h.rows()[0]
	if r.bar.frac != 0.75 || r.secs.Text != "15 s" || r.bar.late {
		t.Fatalf("bar %v text %q late %v, want 0.75, \"15 s\"", r.bar.frac, r.secs.Text, r.bar.late)
	}
	first := r.code.Text
	if first != totp.FormatCode(code(t, k, h.clock.now())) {
		t.Fatalf("code %q", first)
	}
	h.clock.add(14 * time.Second)
	h.u.tick()
	h.settle()
	if r := h.rows()[0]; r.bar.frac != 0.05 || r.code.Text != first || !r.bar.late {
		t.Fatalf("at 19 s: bar %v (late %v) code %q", r.bar.frac, r.bar.late, r.code.Text)
	}
	// The last seconds show the next step's code, small.
	next := groupCode(code(t, k, h.clock.now().Add(time.Second)))
	if r := h.rows()[0]; r.secs.Text != "next "+next {
		t.Fatalf("at 19 s: %q, want the next code %q", r.secs.Text, next)
	}
	h.clock.add(time.Second) // the next step
	h.u.tick()
	h.settle()
	r = h.rows()[0]
	if want := groupCode(code(t, k, h.clock.now())); r.code.Text != want || r.bar.frac != 1 || r.code.Text != next {
		t.Fatalf("new step: code %q want %q (shown as next %q), bar %v", r.code.Text, want, next, r.bar.frac)
	}
	if r.code.Text == first {
		t.Fatal("code did not change at the step boundary")
	}
}

func TestVanishedSecretIsMarked(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.add(aliceURI)
	h.store.Vanish(a.ID)
	h.clock.add(30 * time.Second)
	h.u.tick()
	h.settle()
	r := h.rows()
	if len(r) != 1 || !strings.Contains(r[0].code.Text, "missing") || !strings.Contains(r[0].name.Text, "missing from the keyring") {
		t.Fatalf("vanished account row: %+v", r)
	}
}

func TestKeyringUnavailableIsExplained(t *testing.T) {
	h := newHarness(t, Options{})
	h.store.Err = errors.Join(errors.New("opening keyring"), vault.ErrKeyringUnavailable)
	h.u.reload()
	h.settle()
	if got := h.u.troubleText.Text; !h.u.troubleBox.Visible() || !strings.Contains(got, "no keyring service available") || !strings.Contains(got, "Install") || !strings.Contains(got, "Retry") {
		t.Fatalf("banner %v: %q", h.u.troubleBox.Visible(), got)
	}
	if o := h.u.win.Canvas().Overlays().Top(); o != nil {
		t.Fatalf("a dialog besides the banner:\n%s", text(o))
	}
}

func TestShowAsQRAsksFirst(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.add(aliceURI)
	h.u.confirmShowQR(a)
	if got := text(h.top()); !strings.Contains(got, "anyone who sees it") {
		t.Fatalf("confirmation:\n%s", got)
	}
	h.tap(h.top(), "Show QR code")
	var img *canvas.Image
	walk(h.top(), func(o fyne.CanvasObject) {
		if i, ok := o.(*canvas.Image); ok && i.Image != nil {
			img = i
		}
	})
	if img == nil {
		t.Fatalf("no QR image:\n%s", text(h.top()))
	}
	texts, err := qr.Decode(img.Image)
	if err != nil {
		t.Fatal(err)
	}
	k, err := totp.ParseURI(texts[0])
	if err != nil || k.SecretBase32() != "JBSWY3DPEHPK3PXP" || k.Label() != "ACME:alice@example.com" || k.Digits != 8 || k.Algorithm != totp.SHA256 {
		t.Fatalf("QR holds %q (%v)", texts[0], err)
	}
}

func TestAddMenuShortcut(t *testing.T) {
	h := newHarness(t, Options{})
	h.shortcut(ShortcutAdd)
	got := text(h.top())
	for _, want := range []string{"Scan QR from screen", "Open image", "Paste", "Enter key manually", "Google Authenticator export"} {
		if !strings.Contains(got, want) {
			t.Errorf("add dialog lacks %q:\n%s", want, got)
		}
	}
	h.tap(h.top(), "Google Authenticator export")
	if got := text(h.top()); !strings.Contains(got, "Transfer accounts") {
		t.Fatalf("export help:\n%s", got)
	}
}

func TestPasteImageFromClipboard(t *testing.T) {
	png, err := qr.PNG("otpauth://totp/Clip:board?secret=KRSXG5CTMVRXEZLU", 200)
	if err != nil {
		t.Fatal(err)
	}
	var clip []byte
	h := newHarness(t, Options{ClipboardImage: func() ([]byte, error) {
		if clip == nil {
			return nil, errors.New("no image on the clipboard")
		}
		return clip, nil
	}})
	h.u.app.Clipboard().SetContent("")

	// Nothing on the clipboard: a box to paste the link into.
	h.shortcut(&fyne.ShortcutPaste{})
	es := entries(h.top())
	if len(es) != 1 {
		t.Fatalf("paste box:\n%s", text(h.top()))
	}
	test.Type(es[0], "otpauth://totp/Typed:in?secret=KRSXG5CTMVRXEZLV")
	h.tap(h.top(), "Read")
	h.tap(h.top(), "Add")

	clip = png
	h.shortcut(&fyne.ShortcutPaste{})
	if got := text(h.top()); !strings.Contains(got, "Found in the clipboard image") {
		t.Fatalf("preview:\n%s", got)
	}
	h.tap(h.top(), "Add")
	var got []string
	for _, a := range h.accounts() {
		got = append(got, a.Label())
	}
	if strings.Join(got, ",") != "Typed:in,Clip:board" {
		t.Fatalf("accounts %v", got)
	}
}

// slowStore is a keyring waiting for its password prompt.
type slowStore struct {
	*vault.Memory
	release chan struct{}
}

func (s slowStore) List(ctx context.Context) ([]vault.Account, error) {
	<-s.release
	return s.Memory.List(ctx)
}

func TestWindowShowsItIsWaitingForTheKeyring(t *testing.T) {
	a := test.NewTempApp(t)
	h := &harness{t: t, store: vault.NewMemory(), clock: newClock(1_700_000_005), queue: make(chan func(), 100)}
	h.store.Add(context.Background(), keyOf(t, aliceURI))
	slow := slowStore{h.store, make(chan struct{})}
	h.u = newUI(a, slow, h.clock.now, Options{}, func(f func()) { h.queue <- f })

	// New returned at once; the window is usable while the keyring waits.
	if h.u.empty.Text != "Loading the accounts…" {
		t.Fatalf("list while waiting: %q", h.u.empty.Text)
	}
	if !strings.Contains(h.u.status.Text, "Waiting for the keyring") {
		t.Fatalf("status while waiting: %q", h.u.status.Text)
	}
	test.Type(h.u.search, "acme")
	close(slow.release)
	h.settle()
	if h.u.status.Text != "" || len(h.rows()) != 1 {
		t.Fatalf("after the keyring answered: status %q, %d rows", h.u.status.Text, len(h.rows()))
	}
}

// failingStore fails every Code call and counts them.
type failingStore struct {
	*vault.Memory
	err   error
	calls *int
}

func (s failingStore) Code(ctx context.Context, id string, now time.Time) (string, error) {
	*s.calls++
	if s.err != nil {
		return "", fmt.Errorf("reading the secret of %s: %w", id, s.err) // names the account, as the keyring does
	}
	return s.Memory.Code(ctx, id, now)
}

// TestKeyringTroubleIsSaidOnce: with the keyring gone and more accounts
// than fit, one banner says so, no dialog opens, the codes say
// "unavailable", the keyring is not asked again each second, and Retry
// brings the codes back.
func TestKeyringTroubleIsSaidOnce(t *testing.T) {
	a := test.NewTempApp(t)
	mem := vault.NewMemory()
	for i := range 12 {
		if _, err := mem.Add(context.Background(), keyOf(t, fmt.Sprintf("otpauth://totp/Site%d:u?secret=KRSXG5CTMVRXEZL%c", i, 'A'+i))); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	st := failingStore{mem, vault.ErrKeyringUnavailable, &calls}
	h := &harness{t: t, store: mem, clock: newClock(1_700_000_005), queue: make(chan func(), 100)}
	h.u = newUI(a, st, h.clock.now, Options{}, func(f func()) { h.queue <- f })
	h.u.win.Resize(fyne.NewSize(460, 400))
	h.settle()
	h.u.tick()
	h.settle()
	for range 10 {
		h.clock.add(time.Second)
		h.u.tick()
		h.settle()
	}
	if o := h.u.win.Canvas().Overlays().Top(); o != nil {
		t.Fatalf("a dialog opened:\n%s", text(o))
	}
	if got := h.u.troubleText.Text; !strings.Contains(got, "no keyring service available") || !strings.Contains(got, "Retry") {
		t.Fatalf("banner: %q", got)
	}
	if calls > 12 {
		t.Fatalf("the keyring was asked %d times for 12 accounts over 10 s", calls)
	}
	for _, r := range h.rows() {
		if r.code.Text != "unavailable" {
			t.Fatalf("%s shows %q", r.acc.Label(), r.code.Text)
		}
	}
	h.tap(h.u.win.Content(), "Retry") // the keyring is still gone: the same banner
	if !h.u.troubleBox.Visible() {
		t.Fatal("banner gone while the keyring is still unavailable")
	}
	h.u.store = failingStore{mem, nil, &calls}
	h.tap(h.u.win.Content(), "Retry")
	if h.u.troubleBox.Visible() {
		t.Fatalf("banner still shown after the keyring came back: %q", h.u.troubleText.Text)
	}
	if got, want := h.rows()[0].code.Text, groupCode(code(t, keyOf(t, "otpauth://totp/Site0:u?secret=KRSXG5CTMVRXEZLA"), h.clock.now())); got != want {
		t.Fatalf("after Retry: %q, want %q", got, want)
	}
}

// TestTicksFollowTheClock moves the clock a second at a time over two
// minutes with accounts of 20, 30 and 60 s periods: each tick shows every
// account's code and countdown for that second.
func TestTicksFollowTheClock(t *testing.T) {
	h := newHarness(t, Options{})
	uris := []string{
		"otpauth://totp/Fast:eve?secret=KRSXG5CTMVRXEZLU&period=20&digits=7",
		"otpauth://totp/ACME:alice@example.com?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8",
		"otpauth://totp/Slow:bob?secret=GEZDGNBVGY3TQOJQ&period=60",
	}
	var keys []*totp.Key
	for _, uri := range uris {
		h.add(uri)
		keys = append(keys, keyOf(t, uri))
	}
	byLabel := func() map[string]*row {
		m := map[string]*row{}
		for _, r := range h.rows() {
			m[r.acc.Issuer] = r
		}
		if len(m) != len(keys) {
			t.Fatalf("%d rows shown, want %d", len(m), len(keys))
		}
		return m
	}
	prev := h.clock.now()
	boundaries := map[string]int{}
	for range 120 {
		h.clock.add(time.Second)
		now := h.clock.now()
		h.u.tick()
		h.settle()
		stepped := 0
		rows := byLabel()
		for _, k := range keys {
			r := rows[k.Issuer]
			if totp.Step(now, k.Period) != totp.Step(prev, k.Period) {
				stepped++
				boundaries[k.Issuer]++
			}
			if want := totp.FormatCode(code(t, k, now)); r.code.Text != want {
				t.Fatalf("%s at %v: code %q, want %q", k.Issuer, now.Unix(), r.code.Text, want)
			}
			if want := remainingSeconds(now, k.Period); r.left != want || r.bar.frac != float32(want)/float32(k.Period) {
				t.Fatalf("%s at %v: bar %v (%d s), want %d s", k.Issuer, now.Unix(), r.bar.frac, r.left, want)
			}
		}
		prev = now
	}
	if boundaries["Fast"] != 6 || boundaries["ACME"] != 4 || boundaries["Slow"] != 2 {
		t.Fatalf("step boundaries crossed: %v, want Fast 6, ACME 4, Slow 2", boundaries)
	}
}

// readsSignal is a memory store that closes done when n codes are read.
type readsSignal struct {
	*vault.Memory
	reads atomic.Int64
	n     int64
	done  chan struct{}
}

func (s *readsSignal) Code(ctx context.Context, id string, now time.Time) (string, error) {
	if s.reads.Add(1) == s.n {
		close(s.done)
	}
	return s.Memory.Code(ctx, id, now)
}

// The first rows' codes are read while the window is being made: the reads
// start with the list, before the UI thread runs anything (in the real
// app, before the window's first frame), the first tick reads none of
// them again, and the rows show them. A pinned account, shown first, is
// among them; an HOTP account, which has no code by time, is not.
func TestFirstCodesAreReadWhileTheWindowIsMade(t *testing.T) {
	a := test.NewTempApp(t)
	store := &readsSignal{Memory: vault.NewMemory(), n: firstBatch, done: make(chan struct{})}
	ctx := context.Background()
	var pinned vault.Account
	for i := range 40 {
		k := &totp.Key{Type: totp.TOTP, Issuer: fmt.Sprintf("Service %02d", i), Account: "user",
			Secret: []byte(fmt.Sprintf("first-codes-%02d", i)), Algorithm: totp.SHA1, Digits: 6, Period: 30}
		if i == 1 {
			k.Type, k.Period = totp.HOTP, 0
		}
		acc, err := store.Add(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		pinned = acc
	}
	if err := store.Pin(ctx, pinned.ID, true); err != nil {
		t.Fatal(err)
	}
	clock := newClock(1_700_000_000) // 10 s left in the step: no next code is read yet
	queue := make(chan func(), 100)
	u := newUI(a, store, clock.now, Options{}, func(f func()) { queue <- f })
	select {
	case <-store.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d codes read before the UI thread ran, want %d", store.reads.Load(), firstBatch)
	}
	if len(queue) == 0 && u.pending == 0 {
		t.Fatal("nothing queued for the UI thread")
	}
	u.win.Resize(fyne.NewSize(460, 600))
	settleQueue(t, u, queue)
	if n := store.reads.Load(); n != firstBatch {
		t.Errorf("%d codes read at start, want the first %d once each", n, firstBatch)
	}
	shown := 0
	for _, r := range u.rows {
		if !r.bound {
			continue
		}
		shown++
		if shown == 1 && r.acc.ID != pinned.ID {
			t.Errorf("first row shows %s, want the pinned %s", r.acc.Label(), pinned.Label())
		}
		if r.acc.Type == totp.HOTP {
			continue
		}
		k, err := store.Key(ctx, r.acc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.ReplaceAll(r.code.Text, " ", ""), code(t, k, clock.now()); got != want {
			t.Errorf("the row of %s shows %q, want %s", r.acc.Label(), r.code.Text, want)
		}
	}
	if shown < 5 {
		t.Fatalf("%d rows shown", shown)
	}
}

// Codes are drawn in the theme's regular text, not a monospace font (one
// font style fewer to load at start): its figures must all be one width,
// or codes would jiggle as they change and not line up from row to row.
func TestCodeFiguresOneWidth(t *testing.T) {
	h := newHarness(t, Options{})
	for _, th := range []fyne.Theme{theme.DefaultTheme(), variantTheme{theme.DefaultTheme(), theme.VariantLight}} {
		h.u.app.Settings().SetTheme(th)
		r := newRow(h.u)
		for _, txt := range []*canvas.Text{r.code, r.secs} {
			want := fyne.MeasureText("000 000", txt.TextSize, txt.TextStyle).Width
			for d := '1'; d <= '9'; d++ {
				s := strings.Repeat(string(d), 3) + " " + strings.Repeat(string(d), 3)
				if got := fyne.MeasureText(s, txt.TextSize, txt.TextStyle).Width; got != want {
					t.Errorf("%q at %v pt is %v wide, %q %v", s, txt.TextSize, got, "000 000", want)
				}
			}
		}
	}
}

// The preload main starts before the window reads the list, and the first
// rows' codes only when the settings allow reading codes at start: not
// with the app lock on, nor with the window kept in the tray.
func TestPreloadReadsCodesOnlyWhenTheyMayBeShown(t *testing.T) {
	ctx := context.Background()
	for _, pref := range []string{"", prefLock, prefStartInTray} {
		a := test.NewTempApp(t)
		if pref != "" {
			a.Preferences().SetBool(pref, true)
		}
		store := &countingStore{Memory: vault.NewMemory()}
		k := keyOf(t, aliceURI)
		if _, err := store.Add(ctx, k); err != nil {
			t.Fatal(err)
		}
		clock := newClock(1_700_000_005)
		pre := StartPreload(a, store, clock.now)
		list, err := pre.wait(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("%q: preload listed %v, %v", pref, list, err)
		}
		if pref != "" {
			if pre.reads != nil || store.reads.Load() != 0 {
				t.Errorf("%q set: the preload read %d codes", pref, store.reads.Load())
			}
			continue
		}
		if pre.reads == nil {
			t.Fatal("no code read by the preload")
		}
		got := <-pre.reads
		if len(got) != 1 || got[0].err != nil || got[0].code != code(t, k, clock.now()) {
			t.Errorf("preload read %d codes (first error %v), not the account's code", len(got), got[0].err)
		}
	}
}
