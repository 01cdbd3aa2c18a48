package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// The system tray: one click copies a pinned or recently used account's
// code, without opening the window. Where the platform has a tray, closing
// the window may leave Twofold running in it (a setting, off at first).

// Tray is a system tray: what fyne's desktop.App offers on the platforms
// that have one. Options.Tray replaces it (tests). The tray shows the
// app's icon: fyne gives it that when it starts the tray, and setting an
// icon before the tray has started is not safe on every platform.
type Tray interface {
	SetSystemTrayMenu(menu *fyne.Menu)
}

// trayAccounts is how many accounts the tray menu lists at most.
const trayAccounts = 8

// Tray settings: closing the window hides it in the tray (true) or quits;
// the app starts with its window hidden in the tray.
const (
	prefKeepInTray  = "keep-in-tray"
	prefStartInTray = "start-in-tray"
)

// tray is Options.Tray, else the app when it is a desktop.App, else nil;
// nil too when nothing would show its icon (setupTray).
func (u *UI) tray() Tray {
	if u.noTray {
		return nil
	}
	if u.opts.Tray != nil {
		return u.opts.Tray
	}
	if d, ok := u.app.(desktop.App); ok {
		return d
	}
	return nil
}

// setupTray makes closing the window ask the keep-in-tray setting and
// rebuilds the tray's menu when the window locks or unlocks; nothing
// where there is no tray. The menu itself waits for StartTray.
//
// Where nothing shows tray icons (GNOME without an AppIndicator
// extension), a window closed into the tray could not be found again, and
// starting the tray only costs start-up time: the window has no tray
// there, its settings are not offered, and closing it quits. Except when
// it is set to start in the tray: started with the session, Twofold may
// run before the panel that shows the icon, and a second launch shows the
// window anyway.
func (u *UI) setupTray() {
	if u.tray() == nil {
		return
	}
	if u.opts.TrayHost != nil && !u.app.Preferences().Bool(prefStartInTray) && !u.opts.TrayHost() {
		u.noTray = true
		return
	}
	u.win.SetCloseIntercept(u.closeWindow)
	u.onLockChange(func(bool) { u.updateTray() })
}

// StartTray gives the tray its first menu. main calls it after showing the
// window and before running the app: fyne starts its tray with the first
// menu (a hidden window of its own and a D-Bus service), and doing that
// before the window is shown kept the window from the screen about a
// third longer (bench/RESULTS.md, section 5).
func (u *UI) StartTray() {
	u.trayStarted = true
	u.updateTray()
}

// updateTray gives the tray a menu built afresh: after the accounts
// changed, were pinned or were used, and when the window locked or
// unlocked; nothing before StartTray.
//
// It is always the same menu, its items replaced: fyne applies the first
// menu it was given once its tray is ready, a moment after the app runs,
// and a menu given meanwhile (the accounts, once loaded) would be lost.
func (u *UI) updateTray() {
	t := u.tray()
	if t == nil || !u.trayStarted {
		return
	}
	m := u.trayMenu()
	if u.menu == nil {
		u.menu = m
	} else {
		u.menu.Items = m.Items
	}
	t.SetSystemTrayMenu(u.menu)
}

// trayMenu is the tray's menu: trayList's accounts, each copying its
// code in one click through trayCopy, then Show Twofold and Quit. While
// the window is locked it names no account: Show Twofold shows the lock.
func (u *UI) trayMenu() *fyne.Menu {
	var items []*fyne.MenuItem
	if !u.Locked() {
		for _, a := range u.trayList() {
			items = append(items, fyne.NewMenuItem(a.Label(), func() { u.trayCopy(a) }))
		}
	}
	if len(items) > 0 {
		items = append(items, fyne.NewMenuItemSeparator())
	}
	quit := fyne.NewMenuItem("Quit", u.app.Quit)
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItem("Show Twofold", u.showWindow), quit)
	return fyne.NewMenu("Twofold", items...)
}

// trayList is the pinned accounts, then the most recently used ones,
// trayAccounts in all. HOTP accounts are left out (each code moves the
// counter on, which wants the window), and those whose secret is missing.
func (u *UI) trayList() []vault.Account {
	var pinned, out []vault.Account
	for _, a := range u.accounts {
		if a.Pinned {
			pinned = append(pinned, a)
		}
	}
	seen := map[string]bool{}
	for _, a := range append(pinned, u.recent()...) {
		if len(out) == trayAccounts {
			break
		}
		if seen[a.ID] || a.Type != totp.TOTP || a.Missing {
			continue
		}
		seen[a.ID] = true
		out = append(out, a)
	}
	return out
}

// trayCopy copies an account's code from the tray, the way a click on
// its row does (the same clipboard clearing, the same use record); an
// item of a menu built before the window locked copies nothing.
func (u *UI) trayCopy(a vault.Account) {
	if u.Locked() {
		return
	}
	u.copyAccount(a)
}

// showWindow shows the window, hidden in the tray or not, in front.
func (u *UI) showWindow() {
	u.inTray = false
	u.win.Show()
	u.win.RequestFocus()
	u.tick() // the rows rested while hidden
}

// StartsHidden says whether the app starts in the tray, its window hidden
// (the setting, where there is a tray); main then runs the app without
// showing the window. A second start of twofold shows it.
func (u *UI) StartsHidden() bool {
	if !u.startsInTray() {
		return false
	}
	u.inTray = true
	return true
}

// startsInTray reports whether the settings keep the window in the tray
// at start (and there is a tray).
func (u *UI) startsInTray() bool {
	return u.tray() != nil && StartInTraySet(u.app)
}

// StartInTraySet reports whether the settings ask for the window to stay
// in the tray at start; whether there is a tray is known once the UI is
// made (StartsHidden).
func StartInTraySet(a fyne.App) bool { return a.Preferences().Bool(prefStartInTray) }

// closeWindow is what closing the window does where there is a tray: hide
// it in the tray when the setting says so, else close it (and quit).
func (u *UI) closeWindow() {
	if u.app.Preferences().Bool(prefKeepInTray) {
		u.inTray = true
		u.win.Hide()
		return
	}
	u.win.Close()
}

// traySettings are the Settings rows about the tray; none without one.
// The check's text is short (it does not wrap, and Settings fits narrow
// windows); a wrapped line says the rest.
func (u *UI) traySettings() []fyne.CanvasObject {
	if u.tray() == nil {
		return nil
	}
	keep := widget.NewCheck("Keep running in the tray", func(on bool) {
		u.app.Preferences().SetBool(prefKeepInTray, on)
	})
	keep.SetChecked(u.app.Preferences().Bool(prefKeepInTray))
	start := widget.NewCheck("Start in the tray", func(on bool) {
		u.app.Preferences().SetBool(prefStartInTray, on)
	})
	start.SetChecked(u.app.Preferences().Bool(prefStartInTray))
	return []fyne.CanvasObject{keep, wrapped("…when the window is closed: it hides in the tray instead of quitting. Quit is in the tray's menu."),
		start, wrapped("…with the window hidden: Show Twofold in the tray's menu, or starting twofold again, opens it.")}
}
