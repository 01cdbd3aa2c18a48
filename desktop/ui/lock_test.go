package ui

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
	"twofold.dev/desktop/vault/vaulttest"
	"twofold.dev/shared/totp"
)

// secretReads counts the store's calls that read a secret.
type secretReads struct {
	vault.Store
	n *atomic.Int64
}

func (s secretReads) Code(ctx context.Context, id string, now time.Time) (string, error) {
	s.n.Add(1)
	return s.Store.Code(ctx, id, now)
}

func (s secretReads) NextHOTP(ctx context.Context, id string) (string, error) {
	s.n.Add(1)
	return s.Store.NextHOTP(ctx, id)
}

func (s secretReads) Key(ctx context.Context, id string) (*totp.Key, error) {
	s.n.Add(1)
	return s.Store.Key(ctx, id)
}

const lockPW = "open sesame"

// lockHarness is a window whose lock keeper is in memory and whose store
// counts secret reads; prepare runs on the app before the window is made
// (to turn the lock on at start).
type lockHarness struct {
	*harness
	keeper *vaulttest.LockPasswords
	reads  *atomic.Int64
	icon   fyne.Resource // the app's icon (the test app keeps none)
}

// withIcon is an app whose Icon is set.
type withIcon struct {
	fyne.App
	icon fyne.Resource
}

func (a withIcon) Icon() fyne.Resource { return a.icon }

func newLockHarness(t *testing.T, accounts []string, prepare func(h *lockHarness, a fyne.App)) *lockHarness {
	t.Helper()
	a := test.NewTempApp(t)
	h := &lockHarness{
		harness: &harness{t: t, store: vault.NewMemory(), clock: newClock(1_700_000_005), queue: make(chan func(), 100)},
		keeper:  &vaulttest.LockPasswords{},
		reads:   &atomic.Int64{},
	}
	for _, uri := range accounts {
		if _, err := h.store.Add(context.Background(), keyOf(t, uri)); err != nil {
			t.Fatal(err)
		}
	}
	if prepare != nil {
		prepare(h, a)
	}
	var app fyne.App = a
	if h.icon != nil {
		app = withIcon{a, h.icon}
	}
	h.u = newUI(app, secretReads{h.store, h.reads}, h.clock.now, Options{Lock: h.keeper}, func(f func()) { h.queue <- f })
	h.u.win.Resize(fyne.NewSize(460, 640))
	h.settle()
	return h
}

// turnOn stores lockPW's hash and turns the lock on, idle minutes given.
func (h *lockHarness) turnOn(a fyne.App, idle int) {
	h.t.Helper()
	hash, err := vault.HashLockPassword([]byte(lockPW), rand.Reader)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.keeper.Set(context.Background(), hash); err != nil {
		h.t.Fatal(err)
	}
	a.Preferences().SetBool(prefLock, true)
	a.Preferences().SetInt(prefLockIdle, idle)
}

// tick moves the clock and runs a tick.
func (h *lockHarness) tick(d time.Duration) {
	h.clock.add(d)
	h.u.tick()
	h.settle()
}

// typeUnlock types pw on the lock screen and presses Enter.
func (h *lockHarness) typeUnlock(pw string) {
	h.t.Helper()
	if h.u.lock.pw == nil {
		h.t.Fatal("no lock screen")
	}
	h.u.lock.pw.SetText("")
	test.Type(h.u.lock.pw, pw)
	h.u.lock.pw.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.settle()
}

// walkAll visits every object under o, hidden ones too, through widgets'
// renderers.
func walkAll(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	fn(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walkAll(c, fn)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walkAll(c, fn)
		}
	}
}

// screenText is every text the window holds, drawn or hidden: its content,
// every overlay (dialogs, pop-ups) and its menu.
func (h *harness) screenText() string {
	var b strings.Builder
	collect := func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *canvas.Text:
			b.WriteString(x.Text + "\n")
		case *widget.Label:
			b.WriteString(x.Text + "\n")
		case *widget.Button:
			b.WriteString(x.Text + "\n")
		case *widget.Check:
			b.WriteString(x.Text + "\n")
		case *widget.Select:
			b.WriteString(x.Selected + "\n")
		case *widget.Entry:
			b.WriteString(x.Text + "\n" + x.PlaceHolder + "\n")
		case *field:
			b.WriteString(x.Text + "\n" + x.PlaceHolder + "\n")
		case *lockField:
			b.WriteString(x.PlaceHolder + "\n")
		case *widget.RichText:
			b.WriteString(x.String() + "\n")
		}
	}
	c := h.u.win.Canvas()
	walkAll(c.Content(), collect)
	for _, o := range c.Overlays().List() {
		walkAll(o, collect)
	}
	if m := h.u.win.MainMenu(); m != nil {
		for _, menu := range m.Items {
			for _, it := range menu.Items {
				b.WriteString(it.Label + "\n")
			}
		}
	}
	return b.String()
}

// images counts the images drawn from pictures (a QR code), not from icons.
func (h *harness) images() int {
	n := 0
	count := func(o fyne.CanvasObject) {
		if img, ok := o.(*canvas.Image); ok && img.Image != nil && img.Resource == nil {
			n++
		}
	}
	walkAll(h.u.win.Canvas().Content(), count)
	for _, o := range h.u.win.Canvas().Overlays().List() {
		walkAll(o, count)
	}
	return n
}

var lockAccounts = []string{
	"otpauth://totp/Globex:homer@globex.example?secret=JBSWY3DPEHPK3PXP",
	"otpauth://totp/Initech:peter.gibbons?secret=GEZDGNBVGY3TQOJQGEZDGNBV&digits=8",
	"otpauth://totp/umbrella-solo-account?secret=KRSXG5CTMVRXEZLU&period=60",
}

// secretsOnScreen lists the account names, issuers and codes (now and
// the next step's) found in the window's text.
func (h *lockHarness) secretsOnScreen() []string {
	h.t.Helper()
	all := h.screenText()
	var found []string
	for _, uri := range lockAccounts {
		k := keyOf(h.t, uri)
		now := h.clock.now()
		for _, s := range []string{k.Account, k.Issuer, totp.FormatCode(code(h.t, k, now)), code(h.t, k, now),
			totp.FormatCode(code(h.t, k, now.Add(time.Duration(k.Period)*time.Second)))} {
			if s != "" && strings.Contains(all, s) {
				found = append(found, s)
			}
		}
	}
	return found
}

func TestLockOnDemandHidesEveryNameAndCode(t *testing.T) {
	var app fyne.App
	h := newLockHarness(t, lockAccounts, func(h *lockHarness, a fyne.App) { app = a; h.turnOn(a, 0) })
	h.typeUnlock(lockPW) // it locks at start
	h.tick(time.Second)
	// Every name and code is there to find: the search below can see them.
	if got := h.secretsOnScreen(); len(got) < 8 {
		t.Fatalf("unlocked, only %v found on screen: the text walk is blind", got)
	}
	// A code on the clipboard, and a dialog naming an account, open.
	h.u.list.Select(0)
	h.settle()
	copied := h.u.app.Clipboard().Content()
	if copied == "" {
		t.Fatal("nothing copied")
	}
	// Two dialogs open: an account's QR code, and a rename over it.
	h.u.confirmShowQR(h.u.shown[1])
	h.tap(h.top(), "Show QR code")
	secret := keyOf(t, lockAccounts[1]).SecretBase32()
	if h.images() != 1 || !strings.Contains(h.screenText(), secret) {
		t.Fatalf("QR dialog: %d images, secret shown %v", h.images(), strings.Contains(h.screenText(), secret))
	}
	h.u.showRename(h.u.shown[1])
	if !strings.Contains(h.screenText(), "peter.gibbons") || len(h.u.dialogs) != 2 {
		t.Fatal("rename dialog does not name the account")
	}

	var changes []bool
	h.u.onLockChange(func(locked bool) { changes = append(changes, locked) })
	h.shortcut(ShortcutLock)
	if !h.u.Locked() || len(changes) != 1 || !changes[0] {
		t.Fatalf("Ctrl+L did not lock (changes told: %v)", changes)
	}
	if got := h.secretsOnScreen(); len(got) > 0 {
		t.Fatalf("locked, the window still holds %v:\n%s", got, h.screenText())
	}
	if h.u.win.Canvas().Overlays().Top() != nil || len(h.u.dialogs) > 0 {
		t.Fatal("a dialog stayed open over the lock screen")
	}
	if n := h.images(); n != 0 || strings.Contains(h.screenText(), secret) {
		t.Fatalf("%d images drawn while locked, secret shown %v", n, strings.Contains(h.screenText(), secret))
	}
	for _, want := range []string{"Twofold", "Unlock", "Password"} {
		if !strings.Contains(h.screenText(), want) {
			t.Errorf("lock screen lacks %q:\n%s", want, h.screenText())
		}
	}

	// While locked: no code is read, whatever the clock and the keys do;
	// the clipboard still clears; a link opened waits for the unlock.
	before := h.reads.Load()
	for range 90 {
		h.tick(time.Second)
	}
	h.shortcut(&fyne.ShortcutCopy{})
	h.u.win.Canvas().Unfocus()
	h.u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.u.copyAccount(h.u.accounts[0]) // as the tray would, had it not asked Locked
	h.settle()
	if n := h.reads.Load() - before; n != 0 {
		t.Fatalf("%d secret reads while locked", n)
	}
	if got := h.u.app.Clipboard().Content(); got != "" {
		t.Fatalf("clipboard %q while locked, want cleared", got)
	}
	h.u.OpenLink("otpauth://totp/Hooli:gavin?secret=JBSWY3DPEHPK3PXQ")
	h.settle()
	if h.u.win.Canvas().Overlays().Top() != nil || strings.Contains(h.screenText(), "gavin") {
		t.Fatal("a link opened while locked showed its preview")
	}
	if got := h.secretsOnScreen(); len(got) > 0 {
		t.Fatalf("after 90 s locked, the window holds %v", got)
	}

	// Unlock: the names and fresh codes come back, then the held preview.
	h.typeUnlock(lockPW)
	if h.u.Locked() || len(changes) != 2 || changes[1] {
		t.Fatalf("right password did not unlock (changes told: %v)", changes)
	}
	if h.reads.Load() == before {
		t.Fatal("no code read after unlock")
	}
	h.top()
	if !strings.Contains(h.screenText(), "gavin") {
		t.Fatalf("the link's preview was not shown after unlock:\n%s", h.screenText())
	}
	h.closeAll()
	if got := h.secretsOnScreen(); len(got) < 8 {
		t.Fatalf("after unlock only %v on screen", got)
	}
	if app.Preferences().Bool(prefLock) != true {
		t.Fatal("lock turned off by unlocking")
	}
}

func TestIdleLockFollowsTheClockAndActivity(t *testing.T) {
	var app fyne.App
	h := newLockHarness(t, lockAccounts[:1], func(h *lockHarness, a fyne.App) { app = a; h.turnOn(a, 5) })
	if !h.u.Locked() || !strings.Contains(h.screenText(), "Unlock") {
		t.Fatal("not locked at start with the lock on")
	}
	if n := h.reads.Load(); n != 0 {
		t.Fatalf("%d secret reads before the first unlock", n)
	}
	h.typeUnlock(lockPW)

	h.tick(4*time.Minute + 59*time.Second)
	if h.u.Locked() {
		t.Fatal("locked before 5 min idle")
	}
	// Typing in the search box is activity: the 5 minutes start again.
	test.Type(h.u.search, "a")
	h.tick(4*time.Minute + 59*time.Second)
	if h.u.Locked() {
		t.Fatal("locked 4:59 after typing")
	}
	// So are keys on the list and a click on a row.
	h.u.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	h.tick(4 * time.Minute)
	h.u.search.SetText("")
	h.u.list.Select(0)
	h.settle()
	h.tick(4*time.Minute + 59*time.Second)
	if h.u.Locked() {
		t.Fatal("locked 4:59 after a click on a row")
	}
	h.tick(time.Second)
	if !h.u.Locked() {
		t.Fatal("not locked after 5 min idle")
	}
	if got := h.secretsOnScreen(); len(got) > 0 {
		t.Fatalf("idle-locked window holds %v", got)
	}
	h.typeUnlock(lockPW)

	// One minute.
	app.Preferences().SetInt(prefLockIdle, 1)
	h.tick(time.Minute)
	if !h.u.Locked() {
		t.Fatal("not locked after 1 min idle")
	}
	h.typeUnlock(lockPW)

	// "Only when I lock it": hours of idle leave it open.
	app.Preferences().SetInt(prefLockIdle, 0)
	for range 3 {
		h.tick(time.Hour)
	}
	if h.u.Locked() {
		t.Fatal("locked on idle with \"only when I lock it\"")
	}
	// The lock off: never locks, and Ctrl+L says how to turn it on.
	app.Preferences().SetBool(prefLock, false)
	app.Preferences().SetInt(prefLockIdle, 1)
	h.tick(time.Hour)
	h.shortcut(ShortcutLock)
	if h.u.Locked() {
		t.Fatal("locked with the lock off")
	}
	h.wantError("Settings")
}

func TestWrongPasswordsWaitLongerEachTime(t *testing.T) {
	h := newLockHarness(t, lockAccounts[:1], func(h *lockHarness, a fyne.App) { h.turnOn(a, 5) })
	problem := func() string { return h.u.lock.problem.Text }

	h.typeUnlock("")
	if !strings.Contains(problem(), "Type your Twofold password") || h.u.lock.failures != 0 {
		t.Fatalf("empty password: %q", problem())
	}
	for i := 1; i < freeTries; i++ {
		h.typeUnlock("open sesame!")
		if !h.u.Locked() || problem() != "Wrong password." || h.u.lock.unlock.Disabled() {
			t.Fatalf("try %d: %q (disabled %v)", i, problem(), h.u.lock.unlock.Disabled())
		}
	}
	// From the fifth failure on, each wait doubles from 1 s to 5 min.
	waits := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}
	for i, w := range waits {
		w *= time.Second
		h.typeUnlock("Open Sesame")
		failures := freeTries + i
		if h.u.lock.failures != failures || !h.u.lock.unlock.Disabled() {
			t.Fatalf("failure %d: counted %d, Unlock disabled %v", failures, h.u.lock.failures, h.u.lock.unlock.Disabled())
		}
		want := fmt.Sprintf("Wrong password %d times.\nTry again in %s.", failures, waitWords(w))
		if problem() != want {
			t.Fatalf("failure %d: %q, want %q", failures, problem(), want)
		}
		// A try during the wait is not even checked, the right password
		// included.
		h.typeUnlock(lockPW)
		if !h.u.Locked() || h.u.lock.failures != failures {
			t.Fatalf("a try during the wait was checked (failures %d)", h.u.lock.failures)
		}
		if w > time.Second {
			h.tick(w - time.Second)
			if want := fmt.Sprintf("Try again in %s.", waitWords(time.Second)); !strings.HasSuffix(problem(), want) {
				t.Fatalf("wait shown %q one second before its end", problem())
			}
		}
		h.tick(time.Second)
		if h.u.lock.unlock.Disabled() || !strings.Contains(problem(), "You can try again now") {
			t.Fatalf("after the wait: %q, disabled %v", problem(), h.u.lock.unlock.Disabled())
		}
	}

	// A keyring that cannot answer is said, and is no failure.
	h.keeper.SetErr(fmt.Errorf("reading: %w", vault.ErrKeyringLocked))
	h.typeUnlock(lockPW)
	if !h.u.Locked() || !strings.Contains(problem(), "keyring is locked") || h.u.lock.failures != freeTries+len(waits)-1 {
		t.Fatalf("keyring locked: %q, failures %d", problem(), h.u.lock.failures)
	}
	h.keeper.SetErr(nil)

	h.typeUnlock(lockPW)
	if h.u.Locked() {
		t.Fatalf("right password refused: %q", problem())
	}
	// The count starts again.
	h.shortcut(ShortcutLock)
	h.typeUnlock("nope nope")
	if h.u.lock.failures != 1 || problem() != "Wrong password." {
		t.Fatalf("after unlock: failures %d, %q", h.u.lock.failures, problem())
	}
}

func waitWords(d time.Duration) string {
	s := int(d / time.Second)
	if s >= 60 {
		return fmt.Sprintf("%d min %02d s", s/60, s%60)
	}
	return fmt.Sprintf("%d s", s)
}

func TestLockWait(t *testing.T) {
	for failures, want := range map[int]time.Duration{0: 0, 4: 0, 5: time.Second, 6: 2 * time.Second, 13: 256 * time.Second,
		14: 5 * time.Minute, 40: 5 * time.Minute, 1000: 5 * time.Minute} {
		if got := lockWait(failures); got != want {
			t.Errorf("lockWait(%d) = %v, want %v", failures, got, want)
		}
	}
}

func TestDamagedOrMissingLockItem(t *testing.T) {
	var app fyne.App
	h := newLockHarness(t, lockAccounts[:1], func(h *lockHarness, a fyne.App) { app = a; h.turnOn(a, 5) })
	// Damaged (here: parameters of 4 GiB): refused at once, still locked.
	good, _ := h.keeper.Get(context.Background())
	f := strings.Split(good, "$")
	h.keeper.Set(context.Background(), "$argon2id$v=19$m=4194304,t=2,p=1$"+f[4]+"$"+f[5])
	h.typeUnlock(lockPW)
	if !h.u.Locked() || !strings.Contains(h.u.lock.problem.Text, "damaged") || h.reads.Load() != 0 {
		t.Fatalf("damaged item: locked %v, %q", h.u.Locked(), h.u.lock.problem.Text)
	}
	// Removed: whoever removed it can read the keyring; the lock is off,
	// and says so.
	h.keeper.Delete(context.Background())
	h.typeUnlock("anything at all")
	if h.u.Locked() || app.Preferences().Bool(prefLock) {
		t.Fatal("lock still on with its item gone")
	}
	h.wantError("no longer in the system keyring", "Settings")
}

// settingsCheck is the Settings dialog's lock check box.
func (h *harness) settingsCheck() *widget.Check {
	h.t.Helper()
	var on *widget.Check
	walk(h.top(), func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && c.Text == "Ask for a password" {
			on = c
		}
	})
	if on == nil {
		h.t.Fatalf("no lock check box in:\n%s", text(h.top()))
	}
	return on
}

func TestTurningTheLockOnAndOffFromSettings(t *testing.T) {
	var app fyne.App
	h := newLockHarness(t, lockAccounts[:1], func(_ *lockHarness, a fyne.App) { app = a })
	if h.u.Locked() || app.Preferences().Bool(prefLock) {
		t.Fatal("the lock is not off by default")
	}
	h.u.showSettings()
	h.fits("settings with the lock")
	h.screenshot("lock-settings.png")
	settings := h.top()
	on := h.settingsCheck()
	if on.Checked {
		t.Fatal("lock checked by default")
	}

	// On: a new password twice, and an idle time.
	on.SetChecked(true)
	d := h.top()
	if d == settings {
		t.Fatal("no dialog asks for the new password")
	}
	es := entries(d)
	if len(es) != 2 {
		t.Fatalf("%d fields, want the password twice", len(es))
	}
	for _, c := range []struct{ pw, again, want string }{
		{"abc", "abc", "at least 6 characters"},
		{"abcdefgh", "abcdefgX", "differ"},
	} {
		es[0].SetText(c.pw)
		es[1].SetText(c.again)
		h.tap(d, "Turn on")
		if got := text(d); !strings.Contains(got, c.want) {
			t.Errorf("%q/%q: dialog does not say %q:\n%s", c.pw, c.again, c.want, got)
		}
	}
	if _, err := h.keeper.Get(context.Background()); !errors.Is(err, vault.ErrNoLockPassword) || app.Preferences().Bool(prefLock) {
		t.Fatal("a refused password turned the lock on")
	}
	var idle *widget.Select
	walk(d, func(o fyne.CanvasObject) {
		if s, ok := o.(*widget.Select); ok {
			idle = s
		}
	})
	h.screenshot("lock-turn-on.png")
	idle.SetSelected("15 min")
	es[0].SetText(lockPW)
	es[1].SetText(lockPW)
	h.tap(d, "Turn on")
	if h.top() != settings || !on.Checked || !app.Preferences().Bool(prefLock) || app.Preferences().Int(prefLockIdle) != 15 {
		t.Fatalf("lock not on: checked %v, pref %v, idle %d", on.Checked, app.Preferences().Bool(prefLock), app.Preferences().Int(prefLockIdle))
	}
	hash, err := h.keeper.Get(context.Background())
	if err != nil || strings.Contains(hash, lockPW) || vault.CheckLockPassword(hash, []byte(lockPW)) != nil {
		t.Fatalf("keeper holds %q, %v", hash, err)
	}

	// Off: refused without the current password, and Cancel keeps it on.
	on.SetChecked(false)
	d = h.top()
	entries(d)[0].SetText("not the password")
	h.tap(d, "Turn off")
	if !strings.Contains(text(d), "Wrong password") || !app.Preferences().Bool(prefLock) {
		t.Fatalf("turned off with a wrong password:\n%s", text(d))
	}
	if _, err := h.keeper.Get(context.Background()); err != nil {
		t.Fatalf("hash gone after a wrong password: %v", err)
	}
	h.tap(d, "Cancel")
	if !on.Checked || !app.Preferences().Bool(prefLock) {
		t.Fatal("Cancel turned the lock off")
	}

	// Change: the current one is needed.
	h.tap(settings, "Change password…")
	d = h.top()
	es = entries(d)
	es[0].SetText("wrong current")
	es[1].SetText("new password 2")
	es[2].SetText("new password 2")
	h.tap(d, "Change")
	if !strings.Contains(text(d), "Wrong password") {
		t.Fatalf("changed with a wrong current password:\n%s", text(d))
	}
	es[0].SetText(lockPW)
	h.tap(d, "Change")
	hash, _ = h.keeper.Get(context.Background())
	if h.top() != settings || vault.CheckLockPassword(hash, []byte("new password 2")) != nil {
		t.Fatal("password not changed")
	}

	// Off with the current password: the hash leaves the keyring.
	on.SetChecked(false)
	d = h.top()
	entries(d)[0].SetText("new password 2")
	h.tap(d, "Turn off")
	if on.Checked || app.Preferences().Bool(prefLock) || h.top() != settings {
		t.Fatal("lock not off")
	}
	if _, err := h.keeper.Get(context.Background()); !errors.Is(err, vault.ErrNoLockPassword) {
		t.Fatalf("hash still kept: %v", err)
	}
}

// TestLockScreenShots draws the lock screen, light and dark, 460 and 320
// wide, with a wait showing, for a person to look at ($TWOFOLD_UI_SHOTS),
// and checks that it fits.
func TestLockScreenShots(t *testing.T) {
	h := newLockHarness(t, lockAccounts, func(h *lockHarness, a fyne.App) {
		h.turnOn(a, 5)
		icon, err := fyne.LoadResourceFromPath("../../assets/icon.png") // as FyneApp.toml gives it
		if err != nil {
			t.Fatal(err)
		}
		h.icon = icon
	})
	h.screenshot("lock-fresh-460.png")
	for range freeTries {
		h.typeUnlock("wrong wrong")
	}
	for _, th := range []struct {
		name  string
		theme fyne.Theme
	}{{"light", variantTheme{theme.DefaultTheme(), theme.VariantLight}}, {"dark", variantTheme{theme.DefaultTheme(), theme.VariantDark}}} {
		h.u.app.Settings().SetTheme(th.theme)
		for _, w := range []float32{460, 320} {
			size := fyne.NewSize(w, 600)
			h.u.win.Resize(size)
			if m := h.u.win.Content().MinSize(); m.Width > w || m.Height > 600 {
				t.Errorf("lock screen needs %v in %v", m, size)
			}
			h.screenshot(fmt.Sprintf("lock-%s-%d.png", th.name, int(w)))
		}
	}
}

// TestWaitSurvivesRestart: quitting and starting again does not end the
// wait after wrong passwords, nor reset their count.
func TestWaitSurvivesRestart(t *testing.T) {
	h := newLockHarness(t, lockAccounts[:1], func(h *lockHarness, a fyne.App) { h.turnOn(a, 5) })
	for range freeTries + 2 { // the last one waits 4 s
		h.tick(5 * time.Second)
		h.typeUnlock("wrong wrong")
	}
	if h.u.lock.failures != freeTries+2 || !h.u.lock.unlock.Disabled() {
		t.Fatalf("failures %d", h.u.lock.failures)
	}
	h.u.win.Close()
	h.u = newUI(h.u.app, secretReads{h.store, h.reads}, h.clock.now, Options{Lock: h.keeper}, func(f func()) { h.queue <- f })
	h.settle()
	if !h.u.Locked() || h.u.lock.failures != freeTries+2 || !strings.Contains(h.u.lock.problem.Text, "Try again in 4 s") {
		t.Fatalf("after restart: locked %v, failures %d, %q", h.u.Locked(), h.u.lock.failures, h.u.lock.problem.Text)
	}
	h.typeUnlock(lockPW)
	if !h.u.Locked() {
		t.Fatal("unlocked during the wait after a restart")
	}
	h.tick(4 * time.Second)
	h.typeUnlock(lockPW)
	if h.u.Locked() || h.u.app.Preferences().Int(prefLockFailures) != 0 {
		t.Fatal("right password after the wait refused, or the count kept")
	}
}

// TestLockDuringATurnOff: the window locks while the current password
// is being checked to turn the lock off; the check's answer, arriving
// after, changes nothing.
func TestLockDuringATurnOff(t *testing.T) {
	var app fyne.App
	h := newLockHarness(t, lockAccounts[:1], func(h *lockHarness, a fyne.App) { app = a; h.turnOn(a, 5) })
	h.typeUnlock(lockPW)
	h.u.showSettings()
	h.settingsCheck().SetChecked(false)
	d := h.top()
	entries(d)[0].SetText(lockPW)
	var off *widget.Button
	walk(d, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Turn off" {
			off = b
		}
	})
	test.Tap(off) // the check starts
	h.u.lockNow()
	h.settle() // and its answer comes
	if !h.u.Locked() || !app.Preferences().Bool(prefLock) || h.u.win.Canvas().Overlays().Top() != nil {
		t.Fatalf("locked %v, lock on %v", h.u.Locked(), app.Preferences().Bool(prefLock))
	}
	if _, err := h.keeper.Get(context.Background()); err != nil {
		t.Fatalf("hash removed: %v", err)
	}
	// Enter still unlocks from anywhere on the lock screen.
	h.u.lock.pw.SetText(lockPW)
	h.u.win.Canvas().Unfocus()
	h.u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.settle()
	if h.u.Locked() {
		t.Fatalf("Enter did not unlock: %q", h.u.lock.problem.Text)
	}
}
