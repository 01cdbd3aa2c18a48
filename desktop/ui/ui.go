// Package ui is the authenticator's window, built on a fyne.App and a
// vault.Store. It does not import fyne.io/fyne/v2/app: main picks the app
// and the store, tests use fyne.io/fyne/v2/test and a vault.Memory.
//
// Every store call runs off the UI thread (a locked keyring may prompt for
// its password); results come back through fyne.Do.
package ui

import (
	"context"
	"errors"
	"image"
	"io"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// ClipboardClear is how long a copied code stays on the clipboard unless
// Settings say otherwise.
const ClipboardClear = 30 * time.Second

// Options are the window's connections to the outside world; all optional.
type Options struct {
	// Capture grabs every display, for "Scan QR from screen".
	Capture func() ([]image.Image, error)
	// ClipboardImage returns the image on the clipboard as PNG, JPEG or
	// GIF bytes, for "Paste".
	ClipboardImage func() ([]byte, error)
	// Timeout bounds each store call; 0 means defaultTimeout.
	Timeout time.Duration
	// Backups, if set, writes an automatic backup after every change and
	// is set up from the Backup menu (export.go).
	Backups *vault.AutoBackup
	// Rand is the randomness of exports; nil means crypto/rand.
	Rand io.Reader
	// SaveFile, if set, replaces the file-save dialog (tests): it calls
	// save with a writer and the file's name, or nil when cancelled.
	SaveFile func(name string, save func(w io.WriteCloser, name string, err error))
	// Version and DataDir are shown in Settings (About).
	Version, DataDir string
	// Lock keeps the app lock's password hash (lock.go); nil: no lock.
	Lock vault.LockKeeper
	// Tray, if set, is the system tray; nil means the app's own when it
	// is a fyne desktop.App (tray.go).
	Tray Tray
	// TrayHost, if set, says whether anything shows a tray icon now (on
	// Linux, a StatusNotifierWatcher on the session bus); nil: assume so.
	// Without one the window has no tray (tray.go).
	TrayHost func() bool
	// Window, if set, is the main window, made by NewWindow and perhaps
	// already shown; nil: New makes it.
	Window fyne.Window
	// Preload, if set, is the first list and codes, read since before the
	// window was made (StartPreload); nil: New starts reading them.
	Preload *Preload
}

// defaultTimeout bounds each store call: long enough to type a keyring
// password.
const defaultTimeout = 2 * time.Minute

// NewWindow makes the main window at its first size, for Options.Window,
// and starts loading the fonts its content is measured in. Main shows it
// before New fills it, so that making its GL context (with a software
// renderer, over 100 ms of loading and relocating libraries) overlaps the
// loading of the fonts and the preload instead of following them.
func NewWindow(a fyne.App) fyne.Window {
	warmFonts()
	w := a.NewWindow("Twofold")
	w.Resize(fyne.NewSize(460, 600))
	return w
}

// slowKeyring is how long the codes may take before the status line says
// the keyring is waiting (for its password, when it is locked).
const slowKeyring = 750 * time.Millisecond

// Shortcuts, as shown in the menus and the help text.
var (
	ShortcutAdd    = &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault}
	ShortcutSearch = &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}
	ShortcutScan   = &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
	ShortcutOpen   = &desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierShortcutDefault}
	ShortcutQuit   = &desktop.CustomShortcut{KeyName: fyne.KeyQ, Modifier: fyne.KeyModifierShortcutDefault}
)

// UI is the main window and its state. Its fields are touched only on the
// UI thread.
type UI struct {
	app   fyne.App
	win   fyne.Window
	store vault.Store
	clock func() time.Time
	opts  Options
	// preload is the first load, until reload takes it.
	preload *Preload

	accounts []vault.Account // as the store lists them
	shown    []vault.Account // after the search filter
	codes    map[string]string
	steps    map[string]uint64
	problems map[string]string // per account, e.g. secret missing
	// reading holds the accounts whose code is being read: a row that
	// shows one asks for no second read.
	reading  map[string]bool
	askedFor bool // a read of the rows' missing codes is queued (askCodes)
	loaded   bool // the first List has come back
	checked  bool // the keyring was searched for orphans once

	// The next step's codes, read in the last seconds of a step.
	nextCodes    map[string]string
	nextSteps    map[string]uint64
	fetchingNext bool

	// trouble is the keyring error that stopped the codes, said once in a
	// banner with a Retry button; no code is read again until Retry.
	trouble     error
	troubleBox  *fyne.Container
	troubleText *widget.Label

	dialogs   []*shown      // open dialogs, the top one last
	slowAfter time.Duration // see slowKeyring
	enter     func()        // Enter's action while a dialog with a default button is open

	selected    string     // id of the last copied/selected account
	inTray      bool       // the window was closed into the tray
	trayStarted bool       // StartTray gave the tray its first menu
	noTray      bool       // nothing would show a tray icon (Options.TrayHost)
	menu        *fyne.Menu // the tray's menu (updateTray)
	copied      string     // code put on the clipboard, until cleared
	copiedAt    time.Time

	search *field
	list   *accountList
	rows   []*row // every row the list has created (visible or pooled)

	empty  *widget.Label
	status *widget.Label
	busy   int

	do      func(func()) // runs a function on the UI thread: fyne.Do
	pending int          // background calls whose results are not applied yet

	lock lockState // the app lock (lock.go)
}

// New builds the window (not shown yet) and starts loading the accounts.
func New(a fyne.App, store vault.Store, clock func() time.Time, opts Options) *UI {
	return newUI(a, store, clock, opts, fyne.Do)
}

// newUI is New with the function that runs code on the UI thread; tests
// give one that queues it for the test goroutine, as the real driver
// queues it for the main thread (the test driver would run it at once on
// the calling goroutine).
func newUI(a fyne.App, store vault.Store, clock func() time.Time, opts Options, do func(func())) *UI {
	if opts.Timeout == 0 {
		opts.Timeout = defaultTimeout
	}
	u := &UI{
		app: a, store: store, clock: clock, opts: opts, do: do,
		codes: map[string]string{}, steps: map[string]uint64{}, problems: map[string]string{}, reading: map[string]bool{},
		nextCodes: map[string]string{}, nextSteps: map[string]uint64{}, slowAfter: slowKeyring,
	}
	u.store = u.withAutoBackup(store)
	u.applyTheme()
	u.win, u.preload = opts.Window, opts.Preload
	if u.win == nil {
		u.win = NewWindow(a)
	}
	u.build()
	u.setUpLock()
	u.setupTray()
	if u.preload == nil {
		u.preload = startPreload(u.store, clock(), opts.Timeout, !u.Locked() && !u.startsInTray())
	}
	u.reload()
	return u
}

// warmFonts loads, off the UI thread, the faces of the text styles the
// first frame draws (regular, bold; codes are in the regular text, see newRow). Fyne loads a style's
// faces on first use, each with a lookup of a system font for the user's
// language (20–40 ms a style); left to the first frame, that is the
// thread that paints, and the first code waits for it. A style the first
// frame needs while it is still loading here costs that frame no more
// than before: fyne keeps the system fonts it has loaded.
func warmFonts() {
	for _, style := range []fyne.TextStyle{{}, {Bold: true}} {
		go fyne.MeasureText("0", theme.TextSize(), style)
	}
}

// Window is the main window.
func (u *UI) Window() fyne.Window { return u.win }

// Run ticks the codes and countdowns once per second, on the second, until
// ctx ends. Every period is whole seconds, so each step boundary gets a
// tick; between ticks nothing runs.
func (u *UI) Run(ctx context.Context) {
	for {
		now := u.clock()
		next := now.Truncate(time.Second).Add(time.Second)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			u.do(u.tick)
		}
	}
}

func (u *UI) build() {
	u.search = u.newField()
	u.search.SetPlaceHolder(Keys("Search (Ctrl+F)"))
	u.search.OnChanged = func(string) { u.filter() }
	u.search.OnSubmitted = func(string) { u.copySelected() }
	u.search.onEscape = func() {
		if u.search.Text != "" {
			u.search.SetText("")
		}
	}

	u.list = newAccountList(u)
	u.empty = widget.NewLabel("")
	u.empty.Wrapping = fyne.TextWrapWord
	u.empty.Alignment = fyne.TextAlignCenter
	u.status = widget.NewLabel("")
	u.status.Truncation = fyne.TextTruncateEllipsis

	u.troubleText = widget.NewLabel("")
	u.troubleText.Wrapping = fyne.TextWrapWord
	u.troubleText.Importance = widget.DangerImportance
	retry := widget.NewButtonWithIcon("Retry", theme.ViewRefreshIcon(), u.retry)
	u.troubleBox = container.NewBorder(nil, nil, nil, container.NewCenter(retry), u.troubleText)
	u.troubleBox.Hide()

	add := widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), u.showAdd)
	add.Importance = widget.HighImportance
	top := container.NewVBox(container.NewBorder(nil, nil, nil, add, u.search), u.troubleBox)
	center := container.NewStack(u.list, container.New(&emptyLayout{}, u.empty))
	main := container.New(readable{readableRows}, container.NewBorder(top, u.status, nil, nil, center))
	u.win.SetContent(container.New(&rootLayout{u: u}, main))

	u.win.SetMainMenu(fyne.NewMainMenu(
		fyne.NewMenu("Accounts",
			&fyne.MenuItem{Label: "Add account…", Shortcut: ShortcutAdd, Action: u.showAdd},
			&fyne.MenuItem{Label: "Scan QR from screen", Shortcut: ShortcutScan, Action: u.scanScreen},
			&fyne.MenuItem{Label: "Open image or backup…", Shortcut: ShortcutOpen, Action: u.openImage},
			&fyne.MenuItem{Label: "Paste", Action: u.paste},
			&fyne.MenuItem{Label: "Enter key manually…", Action: u.showManual},
			&fyne.MenuItem{Label: "Google Authenticator export…", Action: u.showExportHelp},
			fyne.NewMenuItemSeparator(),
			&fyne.MenuItem{Label: "Copy code", Shortcut: &fyne.ShortcutCopy{}, Action: u.copySelected},
			&fyne.MenuItem{Label: "Search", Shortcut: ShortcutSearch, Action: u.focusSearch},
			&fyne.MenuItem{Label: "Sort by name", Action: u.sortByName},
			&fyne.MenuItem{Label: "Sort by use", Action: u.sortByUse},
			fyne.NewMenuItemSeparator(),
			&fyne.MenuItem{Label: "Settings and about…", Action: u.showSettings},
		),
		u.backupMenu(),
	))
	c := u.win.Canvas()
	c.AddShortcut(ShortcutAdd, func(fyne.Shortcut) { u.showAdd() })
	c.AddShortcut(ShortcutSearch, func(fyne.Shortcut) { u.focusSearch() })
	c.AddShortcut(ShortcutScan, func(fyne.Shortcut) { u.scanScreen() })
	c.AddShortcut(ShortcutOpen, func(fyne.Shortcut) { u.openImage() })
	c.AddShortcut(ShortcutQuit, func(fyne.Shortcut) { u.app.Quit() })
	c.AddShortcut(&fyne.ShortcutCopy{}, func(fyne.Shortcut) { u.copySelected() })
	c.AddShortcut(&fyne.ShortcutPaste{}, func(fyne.Shortcut) { u.paste() })
	c.SetOnTypedKey(func(e *fyne.KeyEvent) {
		switch e.Name {
		case fyne.KeyEscape:
			u.escape()
		case fyne.KeyReturn, fyne.KeyEnter:
			if u.enter != nil {
				u.enter() // the open dialog's default button
				return
			}
			u.copySelected()
		}
	})
	u.refresh()
}

// OpenLink brings the window to the front and shows the add preview for
// an otpauth:// or otpauth-migration:// link (from the command line or a
// browser); "" only brings the window to the front.
func (u *UI) OpenLink(link string) {
	u.showWindow()
	if link = strings.TrimSpace(link); link != "" {
		u.addFromLink("the link", link)
	}
}

// Reload lists the accounts again, for changes another process made
// (the command line adding or removing an account).
func (u *UI) Reload() { u.reload() }

func (u *UI) focusSearch() { u.win.Canvas().Focus(u.search) }

// background runs work off the UI thread, showing that the keyring is
// being waited for, then runs then (on the UI thread) with work's error.
func (u *UI) background(what string, work func(ctx context.Context) error, then func(error)) {
	u.backgroundStatus(keyringWait+what+"…", work, then)
}

// keyringWait begins the status of every wait for the keyring.
const keyringWait = "Waiting for the keyring: "

// backgroundStatus is background with its own status text; the status
// shown before comes back afterwards (e.g. "Copied …").
func (u *UI) backgroundStatus(status string, work func(ctx context.Context) error, then func(error)) {
	u.busy++
	before := u.status.Text
	u.setStatus(status)
	u.pending++
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), u.opts.Timeout)
		err := work(ctx)
		cancel()
		u.do(func() {
			u.pending--
			u.busy--
			if u.status.Text == status {
				u.setStatus(before)
			}
			then(err)
		})
	}()
}

func (u *UI) setStatus(s string) { u.status.SetText(s) }

// reload lists the accounts again and redraws; the first time, it shows
// what the preload read (preload.go).
func (u *UI) reload() {
	pre := u.preload
	u.preload = nil
	var list []vault.Account
	u.background("loading accounts", func(ctx context.Context) (err error) {
		if pre != nil {
			list, err = pre.wait(ctx)
		} else {
			list, err = u.store.List(ctx)
		}
		return err
	}, func(err error) {
		if errors.Is(err, vault.ErrIndexDamaged) {
			u.offerRepair("The account list is damaged", vault.Message(err), "Repair")
			return
		}
		if isKeyringTrouble(err) {
			u.setTrouble(err)
			return
		}
		if err != nil {
			u.showError("Cannot load the accounts", err)
			return
		}
		u.loaded = true
		u.accounts = list
		u.forgetUnlisted(list)
		u.updateTray()
		for _, a := range list {
			if a.Missing {
				u.problems[a.ID] = "secret missing from the keyring"
			} else if u.problems[a.ID] == "secret missing from the keyring" {
				delete(u.problems, a.ID)
			}
		}
		u.filter()
		if pre != nil && pre.reads != nil && !u.Locked() && !u.inTray {
			u.collectCodes(pre.first, pre.now, pre.reads)
		}
		u.tick()
		u.checkOrphansOnce()
	})
}

// checkOrphansOnce looks in the keyring for accounts missing from the
// list, once, after the first codes are read: it reads every item of the
// keyring (with a thousand accounts, thousands of D-Bus calls), and at
// start it took the keyring and the CPU from the first codes.
func (u *UI) checkOrphansOnce() {
	if u.checked || len(u.reading) > 0 {
		return // when the codes being read are in (fetchCodes)
	}
	u.checked = true
	u.checkOrphans()
}

// filter applies the search box to the accounts, pinned ones first.
func (u *UI) filter() {
	u.shown = u.shown[:0]
	for _, a := range vault.PinnedFirst(u.accounts) {
		if vault.Matches(a, u.search.Text) {
			u.shown = append(u.shown, a)
		}
	}
	u.refresh()
}

func (u *UI) refresh() {
	switch {
	case !u.loaded:
		u.empty.SetText("Loading the accounts…")
		u.empty.Show()
	case len(u.accounts) == 0:
		u.empty.SetText(Keys("No accounts yet.\n\nTo add your first one, open the service's two-factor set-up page " +
			"so its QR code is on the screen, then choose Add (Ctrl+N) → Scan QR from screen (Ctrl+Shift+S). " +
			"You can also open a saved QR image (Ctrl+O), paste an otpauth:// link (Ctrl+V) or type the key by hand."))
		u.empty.Show()
	case len(u.shown) == 0:
		u.empty.SetText("No account matches \u201c" + u.search.Text + "\u201d.")
		u.empty.Show()
	default:
		u.empty.Hide()
	}
	u.list.Refresh()
}

// tick updates countdowns every second, fetches codes for accounts whose
// time step changed, and clears the clipboard when a copied code expires.
func (u *UI) tick() {
	now := u.clock()
	if clear := u.clipboardClear(); u.copied != "" && clear > 0 && now.Sub(u.copiedAt) >= clear {
		if u.app.Clipboard().Content() == u.copied {
			u.app.Clipboard().SetContent("")
			u.setStatus("Clipboard cleared.")
		}
		u.copied = ""
	}
	if u.lockTick(now) { // locked: no code is read
		return
	}
	if u.inTray { // nothing to show: no keyring reads, no repaints
		return
	}
	if u.trouble != nil { // said once; Retry reads again
		u.updateRows()
		return
	}
	u.readCodes(now)
	u.updateRows()
}

// updateRows brings the rows the list has created up to date with the
// clock and the codes, changing only what changed (see row.set): no
// rebuild, no Refresh of the whole list.
func (u *UI) updateRows() {
	for _, r := range u.rows {
		if r.bound {
			r.set(r.acc)
		}
	}
}

// readCodes reads the codes the rows show that are not of now's time step,
// and in a step's last seconds the next codes. Only the accounts in rows
// are read: a thousand accounts cost what a window of them costs, at
// start and at every step, and scrolling or searching asks for the codes
// of the rows it fills (askCodes). Before the list has made its rows (the
// first tick, the window not yet shown) the first rows' accounts are read.
func (u *UI) readCodes(now time.Time) {
	var stale, soon []vault.Account
	for _, a := range u.inRows() {
		if a.Type != totp.TOTP || u.problems[a.ID] != "" || u.reading[a.ID] {
			continue
		}
		step := totp.Step(now, a.Period)
		if s, ok := u.steps[a.ID]; !ok || s != step {
			stale = append(stale, a)
		} else if remainingSeconds(now, a.Period) <= nextCodeSecs && u.nextSteps[a.ID] != step+1 {
			soon = append(soon, a)
		}
	}
	if len(stale) > 0 {
		u.fetchCodes(stale, now)
	}
	if len(soon) > 0 && !u.fetchingNext {
		u.fetchNext(soon, now)
	}
}

// inRows are the accounts the list's rows show (the rows on screen, and
// the few it keeps for reuse); before it has bound any, the first
// firstBatch accounts shown, which the first rows will show.
func (u *UI) inRows() []vault.Account {
	var in []vault.Account
	seen := map[string]bool{}
	for _, r := range u.rows {
		if r.bound && !seen[r.acc.ID] {
			seen[r.acc.ID] = true
			in = append(in, r.acc)
		}
	}
	if len(in) == 0 {
		in = u.shown[:min(len(u.shown), firstBatch)]
	}
	return in
}

// askCodes reads, soon, the codes of the rows that show none of this
// time step: a row just filled by a scroll or a search. One read serves
// every row filled in the same frame.
func (u *UI) askCodes() {
	if u.askedFor || u.trouble != nil || u.inTray {
		return
	}
	u.askedFor = true
	u.pending++
	u.do(func() {
		u.pending--
		u.askedFor = false
		if u.trouble == nil && !u.inTray && !u.Locked() {
			u.readCodes(u.clock())
		}
	})
}

// needsCode reports whether a's row waits for a code no read brings.
func (u *UI) needsCode(a vault.Account) bool {
	if a.Type != totp.TOTP || u.problems[a.ID] != "" || u.reading[a.ID] {
		return false
	}
	s, ok := u.steps[a.ID]
	return !ok || s != totp.Step(u.clock(), a.Period)
}

// firstBatch is how many accounts' codes are read before the list has
// rows: about a window of rows.
const firstBatch = 10

// fetchCodes asks the store for the codes at now, off the UI thread, and
// shows them when all are read (a window of rows: a few milliseconds).
func (u *UI) fetchCodes(accounts []vault.Account, now time.Time) {
	u.collectCodes(accounts, now, readCodesAt(u.store, u.opts.Timeout, accounts, now))
}

// collectCodes shows the codes of accounts read at now when reads brings
// them: at once when they are in already (the preload's, shown in the
// first frame), else when they come, the accounts marked as being read.
func (u *UI) collectCodes(accounts []vault.Account, now time.Time, reads <-chan []codeRead) {
	select {
	case results := <-reads:
		u.showCodes(accounts, now, results)
		return
	default:
	}
	for _, a := range accounts {
		u.reading[a.ID] = true
	}
	u.whenSlow(func() bool { return len(u.reading) > 0 })
	u.pending++
	go func() {
		results := <-reads
		u.do(func() {
			u.pending--
			for _, a := range accounts {
				delete(u.reading, a.ID)
			}
			u.showCodes(accounts, now, results)
		})
	}()
}

// showCodes shows the codes of accounts read at now, or their problems.
func (u *UI) showCodes(accounts []vault.Account, now time.Time, results []codeRead) {
	if len(u.reading) == 0 {
		u.slowDone()
		defer u.checkOrphansOnce()
	}
	var fatal error
	for i, a := range accounts {
		switch err := results[i].err; {
		case err == nil:
			u.codes[a.ID] = results[i].code
			u.steps[a.ID] = totp.Step(now, a.Period)
			delete(u.problems, a.ID)
		case isAccountProblem(err):
			u.problems[a.ID] = vault.Message(err)
			delete(u.codes, a.ID)
		default:
			fatal = err
		}
	}
	if fatal != nil && u.trouble == nil {
		u.setTrouble(fatal)
	}
	u.updateRows()
}

// inParallel calls fn for every i in [lo, hi) on a few goroutines.
func inParallel(lo, hi int, fn func(i int)) {
	const workers = 8
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, hi-lo); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := lo; i < hi; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

func isAccountProblem(err error) bool {
	return errors.Is(err, vault.ErrSecretMissing) || errors.Is(err, vault.ErrNotFound)
}

// copyAccount puts an account's current code on the clipboard.
func (u *UI) copyAccount(a vault.Account) {
	if u.Locked() {
		return
	}
	u.selected = a.ID
	if u.problems[a.ID] != "" {
		u.setStatus(a.Label() + ": " + u.problems[a.ID])
		return
	}
	if a.Type == totp.HOTP {
		code := u.codes[a.ID]
		if code == "" {
			u.setStatus("Press Next code to get a code for " + a.Label() + ".")
			return
		}
		u.putOnClipboard(a, code)
		return
	}
	now := u.clock()
	var code string
	u.background("reading "+a.Label(), func(ctx context.Context) (err error) {
		code, err = u.store.Code(ctx, a.ID, now)
		return err
	}, func(err error) {
		if err != nil {
			u.showError("Cannot copy the code", err)
			return
		}
		u.putOnClipboard(a, code)
	})
}

func (u *UI) putOnClipboard(a vault.Account, code string) {
	u.app.Clipboard().SetContent(code)
	u.copied, u.copiedAt = code, u.clock()
	u.used(a)
	u.setStatus("Copied the code of " + a.Label() + "; " + u.clearsIn() + ".")
}

// copySelected copies the code of the selected account (Ctrl+C, Enter), or
// of the only account shown.
func (u *UI) copySelected() {
	for _, a := range u.shown {
		if a.ID == u.selected {
			u.copyAccount(a)
			return
		}
	}
	if len(u.shown) == 1 {
		u.copyAccount(u.shown[0])
	}
}

// nextHOTP reveals an HOTP account's next code; the store has saved the
// advanced counter before it returns the code.
func (u *UI) nextHOTP(a vault.Account) {
	var code string
	u.background("advancing "+a.Label(), func(ctx context.Context) (err error) {
		code, err = u.store.NextHOTP(ctx, a.ID)
		return err
	}, func(err error) {
		if err != nil {
			u.showError("Cannot get the next code", err)
			return
		}
		u.codes[a.ID] = code
		u.putOnClipboard(a, code)
		u.reload() // the stored counter moved
	})
}
