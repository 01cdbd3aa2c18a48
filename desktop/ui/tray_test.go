package ui

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
	"twofold.dev/desktop/vault/vaulttest"
)

// fakeTray keeps the first menu the UI gave the tray and reads it as it
// is now, as fyne does: fyne's tray applies the first menu it was given
// once the tray is ready, so that menu must always be the current one.
type fakeTray struct{ menu *fyne.Menu }

func (f *fakeTray) SetSystemTrayMenu(m *fyne.Menu) {
	if f.menu == nil {
		f.menu = m
	}
}
func (f *fakeTray) SetSystemTrayIcon(fyne.Resource) {}

// labels are the menu's item labels, "-" for a separator.
func (f *fakeTray) labels() string {
	if f.menu == nil {
		return "" // no menu yet
	}
	var l []string
	for _, it := range f.menu.Items {
		if it.IsSeparator {
			l = append(l, "-")
			continue
		}
		l = append(l, it.Label)
	}
	return strings.Join(l, "|")
}

func (f *fakeTray) item(t *testing.T, label string) *fyne.MenuItem {
	t.Helper()
	for _, it := range f.menu.Items {
		if it.Label == label {
			return it
		}
	}
	t.Fatalf("tray has no %q: %s", label, f.labels())
	return nil
}

// changes counts the calls that change a store, to show a copy makes none.
type changes struct {
	*vault.Memory
	n int
}

func (c *changes) Move(ctx context.Context, id string, to int) error {
	c.n++
	return c.Memory.Move(ctx, id, to)
}

func (c *changes) Pin(ctx context.Context, id string, pinned bool) error {
	c.n++
	return c.Memory.Pin(ctx, id, pinned)
}

func (c *changes) Rename(ctx context.Context, id, issuer, account string) error {
	c.n++
	return c.Memory.Rename(ctx, id, issuer, account)
}

func (c *changes) Delete(ctx context.Context, id string) error {
	c.n++
	return c.Memory.Delete(ctx, id)
}

func (c *changes) NextHOTP(ctx context.Context, id string) (string, error) {
	c.n++
	return c.Memory.NextHOTP(ctx, id)
}

// newHarnessOn is newHarness on a store of the test's choosing.
func newHarnessOn(t *testing.T, st vault.Store, mem *vault.Memory, opts Options) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	h := &harness{t: t, store: mem, clock: newClock(1_700_000_005), queue: make(chan func(), 100)}
	h.u = newUI(a, st, h.clock.now, opts, func(f func()) { h.queue <- f })
	h.u.win.Resize(fyne.NewSize(460, 640))
	h.settle()
	return h
}

// copyRow copies the code of the account labelled label, as a click does.
func (h *harness) copyRow(label string) {
	h.t.Helper()
	for i, a := range h.u.shown {
		if a.Label() == label {
			h.u.list.Select(i)
			h.settle()
			return
		}
	}
	h.t.Fatalf("no account %s shown", label)
}

func TestSortByUseAndWhatUseKeeps(t *testing.T) {
	mem := vault.NewMemory()
	st := &changes{Memory: mem}
	h := newHarnessOn(t, st, mem, Options{})
	uris := []string{
		"otpauth://totp/Alpha:a?secret=KRSXG5CTMVRXEZLA",
		"otpauth://totp/Bravo:b?secret=KRSXG5CTMVRXEZLB",
		"otpauth://totp/Charlie:c?secret=KRSXG5CTMVRXEZLC",
		"otpauth://totp/Delta:d?secret=KRSXG5CTMVRXEZLD",
	}
	for _, u := range uris {
		h.add(u)
	}
	var codes []string
	for _, l := range []string{"Delta:d", "Bravo:b", "Delta:d", "Bravo:b", "Bravo:b"} {
		h.copyRow(l)
		codes = append(codes, h.u.app.Clipboard().Content())
		h.clock.add(7 * time.Second)
	}
	if st.n != 0 {
		t.Fatalf("copying codes made %d changes to the store (it must not write the index)", st.n)
	}
	// The preferences hold a count and a time per account, nothing else.
	vals := map[string]any{}
	h.u.app.Preferences().(interface{ ReadValues(func(map[string]any)) }).ReadValues(func(m map[string]any) {
		for k, v := range m {
			vals[k] = v
		}
	})
	list := h.accounts()
	b, d := list[1].ID, list[3].ID
	want := map[string]any{
		prefUseCount + b: 3, prefUseLast + b: 1_700_000_005 + 4*7,
		prefUseCount + d: 2, prefUseLast + d: 1_700_000_005 + 2*7,
		prefUsed: []string{d, b},
	}
	if fmt.Sprint(vals) != fmt.Sprint(want) {
		t.Fatalf("preferences after copying: %v, want %v", vals, want)
	}
	for k, v := range vals {
		for _, c := range codes {
			if strings.Contains(fmt.Sprint(v), c) || strings.Contains(k, c) {
				t.Fatalf("preference %s=%v holds the code %s", k, v, c)
			}
		}
	}

	h.menuItem("Sort by use").Action()
	h.settle()
	var got []string
	for _, a := range h.accounts() {
		got = append(got, a.Label())
	}
	// Most used first; Alpha and Charlie, never copied, keep their order.
	if strings.Join(got, ",") != "Bravo:b,Delta:d,Alpha:a,Charlie:c" {
		t.Fatalf("sorted by use: %v", got)
	}
	if r := h.rows(); r[0].acc.Label() != "Bravo:b" {
		t.Fatalf("window not redrawn: first row %s", r[0].acc.Label())
	}

	// A deleted account's record goes with it.
	h.u.confirmDelete(h.accounts()[0])
	h.tap(h.top(), "Delete")
	p := h.u.app.Preferences()
	if p.Int(prefUseCount+b) != 0 || p.Int(prefUseLast+b) != 0 || fmt.Sprint(p.StringList(prefUsed)) != fmt.Sprint([]string{d}) {
		t.Fatalf("the deleted account's use is still recorded: %v", p.StringList(prefUsed))
	}
	// Removed by another program (`twofold remove`): its record goes at
	// the next load.
	if err := mem.Delete(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	h.u.reload()
	h.settle()
	if p.Int(prefUseCount+d) != 0 || p.Int(prefUseLast+d) != 0 || len(p.StringList(prefUsed)) != 0 {
		t.Fatalf("the removed account's use is still recorded: %v", p.StringList(prefUsed))
	}
}

func TestTrayCopiesPinnedAndRecent(t *testing.T) {
	tray := &fakeTray{}
	h := newHarness(t, Options{Tray: tray})
	if tray.labels() != "" {
		t.Fatalf("tray menu before StartTray: %s", tray.labels())
	}
	h.u.StartTray()
	if tray.labels() != "Show Twofold|Quit" {
		t.Fatalf("tray with no accounts: %s", tray.labels())
	}
	alpha := h.add("otpauth://totp/Alpha:a?secret=KRSXG5CTMVRXEZLA")
	h.add("otpauth://totp/Bravo:b?secret=KRSXG5CTMVRXEZLB&algorithm=SHA256&digits=8")
	h.add("otpauth://totp/Charlie:c?secret=KRSXG5CTMVRXEZLC")
	bank := h.add("otpauth://hotp/Bank:h?secret=KRSXG5CTMVRXEZLD&counter=3")
	if tray.labels() != "Show Twofold|Quit" {
		t.Fatalf("tray before any pin or use: %s", tray.labels())
	}
	// Pinned first (the HOTP one left out: its codes move its counter),
	// then the recently used, the last used first.
	h.u.pin(h.accounts()[2], true)
	h.settle()
	h.u.pin(bank, true)
	h.settle()
	h.copyRow("Alpha:a")
	h.clock.add(time.Second)
	h.copyRow("Bravo:b")
	h.clock.add(time.Second)
	h.copyRow("Charlie:c") // pinned: listed once
	if got, want := tray.labels(), "Charlie:c|Bravo:b|Alpha:a|-|Show Twofold|Quit"; got != want {
		t.Fatalf("tray: %s, want %s", got, want)
	}

	// One click copies the code of the moment, computed by the shared
	// TOTP package for the test's clock, and it is cleared as in the window.
	cb := h.u.app.Clipboard()
	cb.SetContent("")
	h.clock.add(40 * time.Second)
	h.u.tick()
	h.settle()
	tray.item(t, "Bravo:b").Action()
	h.settle()
	want := code(t, keyOf(t, "otpauth://totp/Bravo:b?secret=KRSXG5CTMVRXEZLB&algorithm=SHA256&digits=8"), h.clock.now())
	if got := cb.Content(); got != want || len(got) != 8 {
		t.Fatalf("tray copied %q, want %q", got, want)
	}
	if got := tray.labels(); !strings.HasPrefix(got, "Charlie:c|Bravo:b|Alpha:a|") {
		t.Fatalf("tray after copying Bravo again: %s", got)
	}
	tray.item(t, "Alpha:a").Action()
	h.settle()
	if got, want := tray.labels(), "Charlie:c|Alpha:a|Bravo:b|-|Show Twofold|Quit"; got != want {
		t.Fatalf("tray after copying Alpha from it: %s, want %s", got, want)
	}
	if got := cb.Content(); got != code(t, keyOf(t, "otpauth://totp/Alpha:a?secret=KRSXG5CTMVRXEZLA"), h.clock.now()) {
		t.Fatalf("tray copied %q for Alpha", got)
	}
	h.clock.add(ClipboardClear)
	h.u.tick()
	h.settle()
	if cb.Content() != "" {
		t.Fatalf("code copied from the tray still on the clipboard after %v: %q", ClipboardClear, cb.Content())
	}

	// Renamed or deleted accounts change the menu.
	h.u.confirmDelete(alpha)
	h.tap(h.top(), "Delete")
	if got, want := tray.labels(), "Charlie:c|Bravo:b|-|Show Twofold|Quit"; got != want {
		t.Fatalf("tray after deleting Alpha: %s, want %s", got, want)
	}
	if quit := tray.item(t, "Quit"); !quit.IsQuit || quit.Action == nil {
		t.Fatal("Quit does not quit")
	}

	// At most trayAccounts accounts.
	for i := range 12 {
		a := h.add(fmt.Sprintf("otpauth://totp/Many:m%02d?secret=KRSXG5CTMVRXE%c%c", i, 'A'+i, 'C'+i))
		h.u.pin(a, true)
		h.settle()
	}
	if n := strings.Count(tray.labels(), "|") - 2; n != trayAccounts {
		t.Fatalf("tray lists %d accounts, want %d: %s", n, trayAccounts, tray.labels())
	}
}

func TestCloseToTray(t *testing.T) {
	tray := &fakeTray{}
	h := newHarness(t, Options{Tray: tray})
	h.u.StartTray()
	h.u.showSettings()
	var keep *widget.Check
	walk(h.top(), func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && strings.Contains(c.Text, "Keep running in the tray") {
			keep = c
		}
	})
	if keep == nil || keep.Checked {
		t.Fatalf("settings: keep-in-tray check %+v (want one, off):\n%s", keep, text(h.top()))
	}
	keep.SetChecked(true)
	h.closeAll()
	windows := func() int { return len(h.u.app.Driver().AllWindows()) }
	open := windows()

	h.u.closeWindow() // the window's close button
	if !h.u.inTray || windows() != open {
		t.Fatalf("closing with keep-in-tray on: in tray %v, %d windows (was %d)", h.u.inTray, windows(), open)
	}
	tray.item(t, "Show Twofold").Action()
	if h.u.inTray {
		t.Fatal("Show Twofold did not bring the window back")
	}

	h.u.showSettings()
	walk(h.top(), func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && strings.Contains(c.Text, "Keep running in the tray") {
			test.Tap(c)
		}
	})
	h.closeAll()
	h.u.closeWindow()
	if h.u.inTray || windows() != open-1 {
		t.Fatalf("closing with keep-in-tray off: in tray %v, %d windows (was %d)", h.u.inTray, windows(), open)
	}
}

func TestNoTrayNoTraySetting(t *testing.T) {
	h := newHarness(t, Options{})
	if h.u.tray() != nil {
		t.Fatal("the test app has a tray")
	}
	h.u.showSettings()
	if got := text(h.top()); strings.Contains(got, "tray") {
		t.Fatalf("settings offer the tray where there is none:\n%s", got)
	}
}

// TestNoTrayHost: where nothing shows tray icons, the window has no tray
// (no menu is ever given, no setting offered, closing quits), unless it
// is set to start in the tray, which must keep it.
func TestNoTrayHost(t *testing.T) {
	tray := &fakeTray{}
	asked := 0
	host := func() bool { asked++; return false }
	h := newHarness(t, Options{Tray: tray, TrayHost: host})
	h.u.StartTray()
	h.add("otpauth://totp/Alpha:a?secret=KRSXG5CTMVRXEZLA")
	if tray.menu != nil || h.u.tray() != nil || asked != 1 {
		t.Fatalf("no tray host: menu %v, tray %v, host asked %d times", tray.menu, h.u.tray(), asked)
	}
	h.u.showSettings()
	if got := text(h.top()); strings.Contains(got, "tray") {
		t.Fatalf("settings offer the tray where nothing shows it:\n%s", got)
	}
	h.closeAll()
	if h.u.StartsHidden() {
		t.Fatal("starts hidden with no tray")
	}

	// Set to start in the tray (by an earlier run where the tray showed):
	// the tray is kept, whatever the host says now.
	started := &fakeTray{}
	a := test.NewTempApp(t)
	a.Preferences().SetBool(prefStartInTray, true)
	u := newUI(a, vault.NewMemory(), h.clock.now, Options{Tray: started, TrayHost: host}, func(f func()) { f() })
	if !u.StartsHidden() {
		t.Fatal("set to start in the tray, with no tray host now: not started hidden")
	}
	u.StartTray()
	if started.labels() != "Show Twofold|Quit" {
		t.Fatalf("tray of a window started in the tray: %q", started.labels())
	}

	// A host present: the tray as always.
	shown := &fakeTray{}
	h3 := newHarness(t, Options{Tray: shown, TrayHost: func() bool { return true }})
	h3.u.StartTray()
	if shown.labels() != "Show Twofold|Quit" {
		t.Fatalf("tray with a host: %q", shown.labels())
	}
}

// TestTrayWhileLocked: a locked window's tray names no account, and an
// item of a menu built before the lock copies nothing; unlocked, the
// accounts are back.
func TestTrayWhileLocked(t *testing.T) {
	tray := &fakeTray{}
	a := test.NewTempApp(t)
	h := &lockHarness{
		harness: &harness{t: t, store: vault.NewMemory(), clock: newClock(1_700_000_005), queue: make(chan func(), 100)},
		keeper:  &vaulttest.LockPasswords{},
		reads:   &atomic.Int64{},
	}
	alpha, err := h.store.Add(context.Background(), keyOf(t, "otpauth://totp/Alpha:a?secret=KRSXG5CTMVRXEZLA"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.Pin(context.Background(), alpha.ID, true); err != nil {
		t.Fatal(err)
	}
	h.turnOn(a, 5)
	h.u = newUI(a, h.store, h.clock.now, Options{Lock: h.keeper, Tray: tray}, func(f func()) { h.queue <- f })
	h.u.StartTray()
	h.settle()
	if got := tray.labels(); got != "Show Twofold|Quit" {
		t.Fatalf("tray of a window locked at start: %s", got)
	}
	h.typeUnlock(lockPW)
	if got := tray.labels(); got != "Alpha:a|-|Show Twofold|Quit" {
		t.Fatalf("tray after unlocking: %s", got)
	}
	stale := tray.item(t, "Alpha:a")

	h.u.lockOnDemand()
	h.settle()
	if got := tray.labels(); got != "Show Twofold|Quit" {
		t.Fatalf("tray after locking: %s", got)
	}
	cb := h.u.app.Clipboard()
	cb.SetContent("")
	stale.Action()
	h.settle()
	if cb.Content() != "" {
		t.Fatalf("a tray item copied %q while the window was locked", cb.Content())
	}
	tray.item(t, "Show Twofold").Action()
	if h.u.lock.pw == nil {
		t.Fatal("Show Twofold while locked does not show the lock screen")
	}
	h.typeUnlock(lockPW)
	tray.item(t, "Alpha:a").Action()
	h.settle()
	if want := code(t, keyOf(t, "otpauth://totp/Alpha:a?secret=KRSXG5CTMVRXEZLA"), h.clock.now()); cb.Content() != want {
		t.Fatalf("after unlocking, the tray copied %q, want %q", cb.Content(), want)
	}
}

// Started in the tray, the window reads no code and repaints nothing until
// it is shown; the tray still copies, and Show brings fresh codes.
func TestStartInTrayRestsUntilShown(t *testing.T) {
	mem := vault.NewMemory()
	reads := &atomic.Int64{}
	tray := &fakeTray{}
	h := newHarnessOn(t, secretReads{mem, reads}, mem, Options{Tray: tray})
	h.u.StartTray()
	if h.u.StartsHidden() {
		t.Fatal("starts hidden with the setting off")
	}
	h.u.showSettings()
	var start *widget.Check
	walk(h.top(), func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && c.Text == "Start in the tray" {
			start = c
		}
	})
	if start == nil || start.Checked {
		t.Fatalf("settings: start-in-tray check %+v (want one, off):\n%s", start, text(h.top()))
	}
	test.Tap(start)
	h.closeAll()
	a := h.add(aliceURI)
	if !h.u.StartsHidden() {
		t.Fatal("the setting on, but the window would be shown")
	}

	before := reads.Load()
	for range 95 { // three time steps
		h.clock.add(time.Second)
		h.u.tick()
		h.settle()
	}
	if n := reads.Load() - before; n != 0 {
		t.Fatalf("%d secret reads while hidden in the tray", n)
	}
	h.u.trayCopy(a)
	h.settle()
	if got, want := h.u.app.Clipboard().Content(), code(t, keyOf(t, aliceURI), h.clock.now()); got != want {
		t.Fatalf("tray copy while hidden: %q, want %q", got, want)
	}
	tray.item(t, "Show Twofold").Action()
	h.settle()
	if h.u.inTray || h.rows()[0].code.Text != groupCode(code(t, keyOf(t, aliceURI), h.clock.now())) {
		t.Fatalf("shown: in tray %v, row shows %q", h.u.inTray, h.rows()[0].code.Text)
	}
}
