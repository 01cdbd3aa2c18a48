package ui

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
)

// The app lock (issue 12): optional, off by default. When on, the window
// locks after some minutes without keys or clicks in it, on demand
// (Ctrl+L) and at start; while locked its content is a lock screen that
// shows no account, code or QR, dialogs are closed, no code is read from
// the keyring and none is copied. The password is kept only as an argon2id
// hash, by Options.Lock (the OS keyring).
//
// It is a screen lock: whoever has the user's OS account can read the
// keyring, and the command line is not locked (README.md).

// Settings of the lock, in the app's preferences (not secret).
const (
	prefLock     = "app-lock"              // bool
	prefLockIdle = "app-lock-idle-minutes" // 0: only when the user locks it
	// Wrong passwords in a row, and when the next try may be (Unix
	// seconds): kept, so that quitting does not end the wait.
	prefLockFailures  = "app-lock-failures"
	prefLockNotBefore = "app-lock-not-before"
)

// defaultLockIdle is the idle time, in minutes, until the user picks one.
const defaultLockIdle = 5

// lockIdleChoices are the idle times offered.
var lockIdleChoices = []struct {
	label string
	mins  int
}{{"1 min", 1}, {"5 min", 5}, {"15 min", 15}, {"60 min", 60}, {"Only when I lock it", 0}}

// ShortcutLock locks the window.
var ShortcutLock = &desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault}

// Wrong passwords: freeTries are answered at once, then each try waits,
// from one second doubling up to maxLockWait.
const (
	freeTries   = 5
	maxLockWait = 5 * time.Minute
)

// lockWait is how long to wait before the next try after failures wrong
// passwords in a row.
func lockWait(failures int) time.Duration {
	if failures < freeTries {
		return 0
	}
	n := failures - freeTries
	if n >= 9 { // 2^9 s > 5 min
		return maxLockWait
	}
	return min(time.Second<<n, maxLockWait)
}

// lockState is the lock's part of the UI; touched on the UI thread only.
type lockState struct {
	locked     bool
	lastActive time.Time // the last key or click in the window
	failures   int       // wrong passwords in a row
	notBefore  time.Time // no try before this (after failures)
	checking   bool      // a password is being checked

	// What the window had before it locked, given back on unlock.
	content fyne.CanvasObject
	menu    *fyne.MainMenu
	enter   func()
	held    []func() // dialogs asked for while locked, shown on unlock
	watch   []func(locked bool)

	pw      *lockField
	problem *widget.Label
	unlock  *lockButton
}

// Locked reports whether the window is locked. While it is, nothing may
// show or copy a code: the tray menu asks it before each action.
func (u *UI) Locked() bool { return u.lock.locked }

// setFailures counts n wrong passwords in a row, waits lockWait(n) from
// now, and keeps both in the preferences.
func (u *UI) setFailures(n int) {
	u.lock.failures, u.lock.notBefore = n, time.Time{}
	if wait := lockWait(n); wait > 0 {
		u.lock.notBefore = u.clock().Add(wait)
	}
	p := u.app.Preferences()
	p.SetInt(prefLockFailures, n)
	if u.lock.notBefore.IsZero() {
		p.RemoveValue(prefLockNotBefore)
	} else {
		p.SetInt(prefLockNotBefore, int(u.lock.notBefore.Unix()))
	}
}

// onLockChange calls fn after the window locks or unlocks (the tray menu
// rebuilds itself then, showing no account while locked).
func (u *UI) onLockChange(fn func(locked bool)) { u.lock.watch = append(u.lock.watch, fn) }

func (u *UI) lockChanged() {
	for _, fn := range u.lock.watch {
		fn(u.lock.locked)
	}
}

// lockOn reports whether the lock is turned on in Settings.
func (u *UI) lockOn() bool {
	return u.opts.Lock != nil && u.app.Preferences().Bool(prefLock)
}

// lockIdle is how long without activity locks the window; 0 never.
func (u *UI) lockIdle() time.Duration {
	return time.Duration(u.app.Preferences().IntWithFallback(prefLockIdle, defaultLockIdle)) * time.Minute
}

// setUpLock adds Lock to the menu and Ctrl+L, watches the window's keys
// and menu for activity, and locks at start when the lock is on.
func (u *UI) setUpLock() {
	u.lock.lastActive = u.clock()
	u.lock.failures = u.app.Preferences().Int(prefLockFailures)
	if nb := u.app.Preferences().Int(prefLockNotBefore); nb > 0 {
		u.lock.notBefore = time.Unix(int64(nb), 0)
	}
	c := u.win.Canvas()
	if m := u.win.MainMenu(); m != nil && len(m.Items) > 0 {
		for _, menu := range m.Items {
			u.watchMenu(menu.Items)
		}
		first := m.Items[0]
		first.Items = append(first.Items, fyne.NewMenuItemSeparator(),
			&fyne.MenuItem{Label: "Lock Twofold", Shortcut: ShortcutLock, Action: u.lockOnDemand})
		u.win.SetMainMenu(m)
	}
	c.AddShortcut(ShortcutLock, func(fyne.Shortcut) { u.lockOnDemand() })
	if typed := c.OnTypedKey(); typed != nil {
		c.SetOnTypedKey(func(e *fyne.KeyEvent) {
			u.touch()
			if u.Locked() {
				if e.Name == fyne.KeyReturn || e.Name == fyne.KeyEnter {
					u.tryUnlock()
				}
				return
			}
			typed(e)
		})
	}
	typedRune := c.OnTypedRune()
	c.SetOnTypedRune(func(r rune) {
		u.touch()
		if typedRune != nil && !u.Locked() {
			typedRune(r)
		}
	})
	if u.lockOn() {
		u.lockNow()
	}
}

// watchMenu makes every menu action count as activity, and do nothing
// while locked.
func (u *UI) watchMenu(items []*fyne.MenuItem) {
	for _, it := range items {
		if it.ChildMenu != nil {
			u.watchMenu(it.ChildMenu.Items)
		}
		if action := it.Action; action != nil {
			it.Action = func() {
				if u.Locked() {
					return
				}
				u.touch()
				action()
			}
		}
	}
}

// touch records activity in the window: the idle time starts again.
func (u *UI) touch() { u.lock.lastActive = u.clock() }

// lockTick runs on every tick: it locks the window when it has been idle
// for the chosen time, and keeps the lock screen's wait up to date. It
// reports whether the window is locked (no code is read then).
func (u *UI) lockTick(now time.Time) bool {
	if u.lock.locked {
		u.showWait(now)
		return true
	}
	if idle := u.lockIdle(); u.lockOn() && idle > 0 && now.Sub(u.lock.lastActive) >= idle {
		u.lockNow()
		return true
	}
	return false
}

// lockOnDemand is the menu item and Ctrl+L.
func (u *UI) lockOnDemand() {
	if !u.lockOn() {
		u.showMessage("Lock Twofold", "The lock is off. To use it, turn on Lock Twofold in Settings and choose its password.")
		return
	}
	u.lockNow()
}

// lockNow closes every dialog and replaces the window's content and menu
// with the lock screen; the codes read so far are forgotten.
func (u *UI) lockNow() {
	if u.lock.locked {
		return
	}
	for n := len(u.dialogs); n > 0; n = len(u.dialogs) {
		u.dialogs[n-1].d.Hide()
		if len(u.dialogs) == n { // not closed through show's OnClosed
			u.dialogs = u.dialogs[:n-1]
		}
	}
	o := u.win.Canvas().Overlays()
	for top := o.Top(); top != nil; top = o.Top() {
		o.Remove(top) // file dialogs, pop-up menus
	}
	u.lock.locked = true
	u.lock.content = u.win.Content()
	u.lock.menu = u.win.MainMenu()
	u.lock.enter, u.enter = u.enter, u.tryUnlock
	u.codes, u.steps = map[string]string{}, map[string]uint64{}
	u.nextCodes, u.nextSteps = map[string]string{}, map[string]uint64{}
	u.win.SetMainMenu(fyne.NewMainMenu(fyne.NewMenu("Twofold",
		&fyne.MenuItem{Label: "Unlock…", Action: func() { u.win.Canvas().Focus(u.lock.pw) }})))
	u.win.SetContent(u.lockScreen())
	u.win.Canvas().Focus(u.lock.pw)
	u.showWait(u.clock())
	u.lockChanged()
}

// unlockNow gives the window its content back, reads the codes, and shows
// the dialogs asked for while it was locked.
func (u *UI) unlockNow() {
	if !u.lock.locked {
		return
	}
	u.lock.locked = false
	u.setFailures(0)
	u.win.SetContent(u.lock.content)
	u.win.SetMainMenu(u.lock.menu)
	u.enter = u.lock.enter
	u.lock.content, u.lock.menu, u.lock.enter, u.lock.pw = nil, nil, nil, nil
	u.touch()
	u.tick()
	u.lockChanged()
	held := u.lock.held
	u.lock.held = nil
	for _, show := range held {
		show()
	}
}

// holdWhileLocked keeps show for after the unlock when the window is
// locked, and reports whether it did.
func (u *UI) holdWhileLocked(show func()) bool {
	if !u.lock.locked {
		return false
	}
	u.lock.held = append(u.lock.held, show)
	return true
}

// lockScreen is the window's content while locked: the app's name, a
// password field, Unlock, and what went wrong.
func (u *UI) lockScreen() fyne.CanvasObject {
	title := widget.NewLabelWithStyle("Twofold", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	note := widget.NewLabelWithStyle("Locked. Type your Twofold password to see your codes.", fyne.TextAlignCenter, fyne.TextStyle{})
	note.Wrapping = fyne.TextWrapWord
	u.lock.pw = newLockField(u)
	u.lock.pw.SetPlaceHolder("Password")
	u.lock.pw.OnSubmitted = func(string) { u.tryUnlock() }
	u.lock.unlock = newLockButton("Unlock", u.tryUnlock)
	u.lock.unlock.Importance = widget.HighImportance
	u.lock.problem = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	u.lock.problem.Wrapping = fyne.TextWrapWord
	u.lock.problem.Importance = widget.DangerImportance
	column := container.NewVBox(title, note, u.lock.pw, u.lock.unlock, u.lock.problem)
	if res := u.app.Icon(); res != nil {
		icon := container.NewCenter(container.NewGridWrap(fyne.NewSize(64, 64), widget.NewIcon(res)))
		column.Objects = append([]fyne.CanvasObject{icon}, column.Objects...)
	}
	return newLockBackground(u, container.New(lockLayout{}, column))
}

// lockLayout centres a column of a readable width.
type lockLayout struct{}

const lockColumn = 320

func (lockLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	m := objs[0].MinSize()
	return fyne.NewSize(min(m.Width, 200), m.Height)
}

func (lockLayout) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	w := max(min(s.Width-32, lockColumn), 100)
	o := objs[0]
	o.Resize(fyne.NewSize(w, o.MinSize().Height))
	h := min(o.MinSize().Height, s.Height)
	o.Resize(fyne.NewSize(w, h))
	o.Move(fyne.NewPos((s.Width-w)/2, max((s.Height-h)/2-s.Height/10, 0)))
}

// tryUnlock checks the password typed on the lock screen.
func (u *UI) tryUnlock() {
	if !u.lock.locked || u.lock.pw == nil {
		return
	}
	pw := u.lock.pw
	u.checkLockPassword(pw.Text, u.lock.problem, u.lock.unlock, func() {
		pw.SetText("")
		u.unlockNow()
	}, func() { pw.SetText(""); u.win.Canvas().Focus(pw) })
}

// checkLockPassword checks password against the stored hash, off the UI
// thread, then calls ok; a wrong one counts as a failure (with the waits
// after freeTries) and calls wrong. problem says what went wrong; button
// is disabled while the check runs and the wait lasts.
func (u *UI) checkLockPassword(password string, problem *widget.Label, button fyne.Disableable, ok, wrong func()) {
	now := u.clock()
	switch {
	case u.lock.checking:
		return
	case now.Before(u.lock.notBefore):
		problem.SetText(u.waitText(now))
		return
	case password == "":
		problem.SetText("Type your Twofold password.")
		return
	case u.opts.Lock == nil:
		problem.SetText("The lock is not available in this window.")
		return
	}
	u.lock.checking = true
	button.Disable()
	problem.SetText("Checking…")
	pw := []byte(password)
	u.background("checking the password", func(ctx context.Context) error {
		hash, err := u.opts.Lock.Get(ctx)
		if err != nil {
			return err
		}
		return vault.CheckLockPassword(hash, pw)
	}, func(err error) {
		u.lock.checking = false
		button.Enable()
		switch {
		case err == nil:
			problem.SetText("")
			u.setFailures(0)
			ok()
		case errors.Is(err, vault.ErrWrongLockPassword):
			u.setFailures(u.lock.failures + 1)
			problem.SetText("Wrong password.")
			if lockWait(u.lock.failures) > 0 {
				u.showWait(u.clock())
			}
			wrong()
		case errors.Is(err, vault.ErrNoLockPassword):
			// Whoever can remove the keyring item can read the keyring
			// itself: the lock has nothing left to guard. Say so.
			u.app.Preferences().SetBool(prefLock, false)
			problem.SetText("")
			ok()
			u.showMessage("Lock turned off", "The lock's password is no longer in the system keyring (its item "+
				"\u201ctwofold-lock\u201d was removed), so the lock is now off. Turn it on again in Settings to choose a new password.")
		case errors.Is(err, vault.ErrLockHashDamaged):
			problem.SetText("The lock's password in the system keyring is damaged, so no password can be checked. " +
				"Remove the keyring item \u201ctwofold-lock\u201d (e.g. with Seahorse, Keychain Access or Credential Manager) to turn the lock off.")
		default:
			problem.SetText(userWords(vault.Message(err)))
		}
	})
}

// showWait says, on the lock screen, how long until the next try, and
// keeps Unlock disabled until then.
func (u *UI) showWait(now time.Time) {
	if u.lock.problem == nil || u.lock.checking {
		return
	}
	if now.Before(u.lock.notBefore) {
		u.lock.problem.SetText(u.waitText(now))
		u.lock.unlock.Disable()
		return
	}
	if u.lock.unlock.Disabled() {
		u.lock.unlock.Enable()
		u.lock.problem.SetText(fmt.Sprintf("Wrong password %d times.\nYou can try again now.", u.lock.failures))
	}
}

func (u *UI) waitText(now time.Time) string {
	left := u.lock.notBefore.Sub(now)
	secs := int((left + time.Second - 1) / time.Second)
	wait := fmt.Sprintf("%d s", secs)
	if secs >= 60 {
		wait = fmt.Sprintf("%d min %02d s", secs/60, secs%60)
	}
	return fmt.Sprintf("Wrong password %d times.\nTry again in %s.", u.lock.failures, wait)
}

// lockField is the lock screen's password field. It takes every shortcut
// (none of the window's may act while locked) except Quit.
type lockField struct {
	widget.Entry
	u *UI
}

func newLockField(u *UI) *lockField {
	f := &lockField{u: u}
	f.Password = true
	f.ExtendBaseWidget(f)
	return f
}

func (f *lockField) TypedShortcut(s fyne.Shortcut) {
	if s.ShortcutName() == ShortcutQuit.ShortcutName() {
		f.u.app.Quit()
		return
	}
	switch s.(type) {
	case *fyne.ShortcutPaste, *fyne.ShortcutSelectAll, *fyne.ShortcutUndo, *fyne.ShortcutRedo:
		f.Entry.TypedShortcut(s) // within the field only
	}
}

// lockButton is Unlock: focused (Tab), it too keeps the window's
// shortcuts from acting.
type lockButton struct{ widget.Button }

func newLockButton(label string, tapped func()) *lockButton {
	b := &lockButton{}
	b.Text, b.OnTapped = label, tapped
	b.ExtendBaseWidget(b)
	return b
}

func (b *lockButton) TypedShortcut(fyne.Shortcut) {}

// lockBackground fills the lock screen; a click on it gives the password
// field the focus back, so the window's shortcuts never reach the window.
type lockBackground struct {
	widget.BaseWidget
	u       *UI
	content fyne.CanvasObject
}

func newLockBackground(u *UI, content fyne.CanvasObject) *lockBackground {
	b := &lockBackground{u: u, content: content}
	b.ExtendBaseWidget(b)
	return b
}

func (b *lockBackground) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(b.content)
}

func (b *lockBackground) Tapped(*fyne.PointEvent) {
	if b.u.lock.pw != nil {
		b.u.win.Canvas().Focus(b.u.lock.pw)
	}
}

// lockSettings is the Settings row of the lock: on/off, the idle time and
// Change password.
func (u *UI) lockSettings() fyne.CanvasObject {
	if u.opts.Lock == nil {
		return wrapped("Not available in this window.")
	}
	idle := widget.NewSelect(nil, nil)
	for _, c := range lockIdleChoices {
		idle.Options = append(idle.Options, c.label)
	}
	idle.SetSelected(idleLabel(int(u.lockIdle() / time.Minute)))
	idle.OnChanged = func(s string) {
		for _, c := range lockIdleChoices {
			if c.label == s {
				u.app.Preferences().SetInt(prefLockIdle, c.mins)
			}
		}
	}
	change := widget.NewButton("Change password…", u.showChangeLockPassword)
	on := widget.NewCheck("Ask for a password", nil)
	enable := func() {
		if u.lockOn() {
			idle.Enable()
			change.Enable()
		} else {
			idle.Disable()
			change.Disable()
		}
	}
	on.SetChecked(u.lockOn())
	enable()
	on.OnChanged = func(want bool) {
		if want == u.lockOn() {
			return
		}
		done := func() {
			on.SetChecked(u.lockOn()) // as it is now: changed, or not (Cancel)
			idle.SetSelected(idleLabel(int(u.lockIdle() / time.Minute)))
			enable()
		}
		if want {
			u.showTurnLockOn(done)
		} else {
			u.showTurnLockOff(done)
		}
	}
	after := container.NewBorder(nil, nil, widget.NewLabel("Lock after"), nil, idle)
	return container.NewVBox(on, after, change)
}

func idleLabel(mins int) string {
	for _, c := range lockIdleChoices {
		if c.mins == mins {
			return c.label
		}
	}
	return fmt.Sprintf("%d min", mins)
}

// lockPasswordProblem is what is wrong with a new lock password, or "".
func lockPasswordProblem(f *newPasswordForm) string {
	switch {
	case utf8.RuneCountInString(f.pw.Text) < vault.MinLockPassword:
		return fmt.Sprintf("Choose a password of at least %d characters.", vault.MinLockPassword)
	case f.pw.Text != f.again.Text:
		return "The two passwords differ."
	}
	return ""
}

// showTurnLockOn asks for a new password twice and the idle time; done
// runs when the dialog closes, whatever happened.
func (u *UI) showTurnLockOn(done func()) {
	f := u.newPasswordFields()
	idle := widget.NewSelect(nil, nil)
	for _, c := range lockIdleChoices {
		idle.Options = append(idle.Options, c.label)
	}
	idle.SetSelected(idleLabel(int(u.lockIdle() / time.Minute)))
	info := wrapped(Keys("Twofold will ask for this password when it starts, after the time below without use, " +
		"and when you lock it (Ctrl+L). It hides the window's codes from someone at your unlocked computer; " +
		"it does not lock the command line, and anyone using your system account can still read the keyring."))
	form := widget.NewForm(widget.NewFormItem("Password", f.pw), widget.NewFormItem("Again", f.again),
		widget.NewFormItem("Lock after", idle))
	var d *dialog.CustomDialog
	var save *widget.Button
	save = widget.NewButtonWithIcon("Turn on", theme.ConfirmIcon(), func() {
		if msg := lockPasswordProblem(f); msg != "" {
			f.fail(msg)
			return
		}
		pw := []byte(f.pw.Text)
		save.Disable()
		u.background("saving the lock password", func(ctx context.Context) error {
			hash, err := vault.HashLockPassword(pw, u.random())
			if err != nil {
				return err
			}
			return u.opts.Lock.Set(ctx, hash)
		}, func(err error) {
			save.Enable()
			if u.Locked() {
				return // locked meanwhile: the dialog is gone
			}
			if err != nil {
				f.fail(userWords(vault.Message(err)))
				return
			}
			for _, c := range lockIdleChoices {
				if c.label == idle.Selected {
					u.app.Preferences().SetInt(prefLockIdle, c.mins)
				}
			}
			u.app.Preferences().SetBool(prefLock, true)
			u.setFailures(0)
			u.touch()
			d.Hide()
			u.setStatus(Keys("Lock on: Ctrl+L locks the window."))
		})
	})
	save.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons("Lock Twofold", container.NewVScroll(container.NewVBox(info, form, f.problem)), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), save})
	d.SetOnClosed(done)
	u.show(d, fyne.NewSize(460, 420), save.OnTapped)
	u.win.Canvas().Focus(f.pw)
}

// showTurnLockOff asks for the current password before turning the lock
// off and removing its hash from the keyring.
func (u *UI) showTurnLockOff(done func()) {
	cur := u.newPasswordField()
	cur.SetPlaceHolder("Current password")
	problem := widget.NewLabel("")
	problem.Importance = widget.DangerImportance
	problem.Wrapping = fyne.TextWrapWord
	var d *dialog.CustomDialog
	var off *widget.Button
	off = widget.NewButton("Turn off", func() {
		u.checkLockPassword(cur.Text, problem, off, func() {
			if u.Locked() {
				return // locked meanwhile: the dialog is gone
			}
			u.background("removing the lock password", u.opts.Lock.Delete, func(err error) {
				if err != nil && !errors.Is(err, vault.ErrNoLockPassword) {
					problem.SetText(userWords(vault.Message(err)))
					return
				}
				u.app.Preferences().SetBool(prefLock, false)
				d.Hide()
				u.setStatus("Lock off.")
			})
		}, func() { cur.SetText("") })
	})
	off.Importance = widget.WarningImportance
	d = dialog.NewCustomWithoutButtons("Turn the lock off",
		container.NewVScroll(container.NewVBox(wrapped("Type the lock's current password to turn it off."), cur, problem)), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), off})
	d.SetOnClosed(done)
	u.show(d, fyne.NewSize(420, 260), off.OnTapped)
	u.win.Canvas().Focus(cur)
}

// showChangeLockPassword asks for the current password and a new one
// twice.
func (u *UI) showChangeLockPassword() {
	cur := u.newPasswordField()
	cur.SetPlaceHolder("Current password")
	f := u.newPasswordFields()
	f.pw.SetPlaceHolder("New password")
	f.again.SetPlaceHolder("The new password again")
	form := widget.NewForm(widget.NewFormItem("Current", cur), widget.NewFormItem("New", f.pw), widget.NewFormItem("Again", f.again))
	var d *dialog.CustomDialog
	var save *widget.Button
	save = widget.NewButtonWithIcon("Change", theme.ConfirmIcon(), func() {
		if msg := lockPasswordProblem(f); msg != "" {
			f.fail(msg)
			return
		}
		pw := []byte(f.pw.Text)
		u.checkLockPassword(cur.Text, f.problem, save, func() {
			if u.Locked() {
				return // locked meanwhile: the dialog is gone
			}
			u.background("saving the lock password", func(ctx context.Context) error {
				hash, err := vault.HashLockPassword(pw, u.random())
				if err != nil {
					return err
				}
				return u.opts.Lock.Set(ctx, hash)
			}, func(err error) {
				if err != nil {
					f.fail(userWords(vault.Message(err)))
					return
				}
				d.Hide()
				u.setStatus("Lock password changed.")
			})
		}, func() { cur.SetText("") })
	})
	save.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons("Change the lock password", container.NewVScroll(container.NewVBox(form, f.problem)), u.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), save})
	u.show(d, fyne.NewSize(460, 340), save.OnTapped)
	u.win.Canvas().Focus(cur)
}
