package ui

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// The window's frame: fields that keep the window's shortcuts, dialogs
// that fit the window, the keyring-trouble banner, and messages in the
// user's words.

// field is an Entry that leaves the window's shortcuts to the window
// (Ctrl+N, Ctrl+Q, … work whatever has the focus), never shows a pasted
// otpauth link as text, and closes its dialog on Escape.
type field struct {
	widget.Entry
	u        *UI
	onEscape func()
	// onLink takes a pasted otpauth link instead of the text box;
	// nil reads it as a new account (as Ctrl+V on the window does).
	onLink func(link string)
}

func (u *UI) newField() *field {
	f := &field{u: u}
	f.ExtendBaseWidget(f)
	return f
}

func (u *UI) newPasswordField() *field {
	f := &field{u: u}
	f.Password = true
	f.ExtendBaseWidget(f)
	return f
}

func (u *UI) newMultiLineField() *field {
	f := &field{u: u}
	f.MultiLine = true
	f.Wrapping = fyne.TextWrapBreak
	f.ExtendBaseWidget(f)
	return f
}

func (f *field) TypedKey(e *fyne.KeyEvent) {
	f.u.touch()
	if e.Name == fyne.KeyEscape {
		if f.onEscape != nil {
			f.onEscape()
		} else {
			f.u.escape()
		}
		return
	}
	if !f.MultiLine && (e.Name == fyne.KeyReturn || e.Name == fyne.KeyEnter) && f.OnSubmitted == nil && f.u.enter != nil {
		f.u.enter()
		return
	}
	f.Entry.TypedKey(e)
}

func (f *field) TypedRune(r rune) {
	f.u.touch()
	f.Entry.TypedRune(r)
}

func (f *field) TypedShortcut(s fyne.Shortcut) {
	f.u.touch()
	switch s := s.(type) {
	case *fyne.ShortcutPaste:
		if link := strings.TrimSpace(f.u.app.Clipboard().Content()); isLink(link) {
			if f.onLink != nil {
				f.onLink(link)
			} else {
				f.u.addFromText(link)
			}
			return
		}
	case *desktop.CustomShortcut:
		if s.Modifier&fyne.KeyModifierShortcutDefault != 0 && strings.Contains("NFOSQ", string(s.KeyName)) {
			f.u.win.Canvas().(interface{ TypedShortcut(fyne.Shortcut) }).TypedShortcut(s)
			return
		}
	}
	f.Entry.TypedShortcut(s)
}

// isLink reports whether text is an otpauth link: it holds a secret.
func isLink(text string) bool {
	return strings.HasPrefix(strings.ToLower(text), "otpauth")
}

// shown is an open dialog and the size it would like.
type shown struct {
	d    dialog.Dialog
	want fyne.Size
}

// dialogMargin is the room left around a dialog inside the window.
const dialogMargin = 24

// show opens d at the size it wants or the window's, whichever is smaller,
// and keeps it so when the window is resized; its content must scroll.
// enter, if set, is what Enter does while it is open. While the window is
// locked (lock.go) the dialog waits for the unlock.
func (u *UI) show(d dialog.Dialog, want fyne.Size, enter func()) {
	if u.holdWhileLocked(func() { u.show(d, want, enter) }) {
		return
	}
	u.touch()
	s := &shown{d: d, want: want}
	u.dialogs = append(u.dialogs, s)
	prevEnter := u.enter
	u.enter = enter
	d.SetOnClosed(func() {
		u.dialogs = slices.DeleteFunc(u.dialogs, func(x *shown) bool { return x == s })
		u.enter = prevEnter
	})
	d.Resize(u.fitted(want))
	d.Show()
}

// fitted is want, no larger than the window's canvas.
func (u *UI) fitted(want fyne.Size) fyne.Size {
	c := u.win.Canvas().Size()
	if c.Width == 0 || c.Height == 0 {
		c = fyne.NewSize(460, 600)
	}
	return fyne.NewSize(max(min(want.Width, c.Width-dialogMargin), 100), max(min(want.Height, c.Height-dialogMargin), 100))
}

// regrow gives an open dialog a new wanted size, e.g. room for a line
// shown after it opened, and keeps it on refits.
func (u *UI) regrow(d dialog.Dialog, want fyne.Size) {
	for _, s := range u.dialogs {
		if s.d == d {
			s.want = want
		}
	}
	d.Resize(u.fitted(want))
}

// refit sizes every open dialog to the window again.
func (u *UI) refit() {
	for _, s := range u.dialogs {
		s.d.Resize(u.fitted(s.want))
	}
}

// escape closes the dialog on top.
func (u *UI) escape() {
	n := len(u.dialogs)
	if n == 0 {
		return
	}
	if f, ok := u.dialogs[n-1].d.(*dialog.FileDialog); ok {
		f.Dismiss() // its callback hears "cancelled", as from its Cancel button
		return
	}
	u.dialogs[n-1].d.Hide()
}

// rootLayout fills the window with its content and refits the dialogs
// when the window changes size.
type rootLayout struct {
	u    *UI
	last fyne.Size
}

func (l *rootLayout) MinSize(objs []fyne.CanvasObject) fyne.Size { return objs[0].MinSize() }

func (l *rootLayout) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(s)
	}
	if s != l.last {
		l.last = s
		l.u.refit()
	}
}

// emptyLayout gives the empty-list text a readable width and centres it:
// a wrapping label in a centring container would get its one-letter
// minimum width.
type emptyLayout struct{}

func (emptyLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(0, 0) }

func (emptyLayout) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	w := min(s.Width-16, 440)
	for _, o := range objs {
		o.Resize(fyne.NewSize(w, s.Height))
		h := min(o.MinSize().Height, s.Height)
		o.Resize(fyne.NewSize(w, h))
		o.Move(fyne.NewPos((s.Width-w)/2, (s.Height-h)/2))
	}
}

// isKeyringTrouble reports whether err stops every code, not one account.
func isKeyringTrouble(err error) bool {
	return errors.Is(err, vault.ErrKeyringUnavailable) || errors.Is(err, vault.ErrKeyringLocked) || errors.Is(err, vault.ErrKeyringTimeout)
}

// setTrouble says once, in a banner with Retry, that the keyring stopped
// the codes; the codes show "unavailable" and are not read again until
// Retry. Any other error stops the codes the same way.
func (u *UI) setTrouble(err error) {
	u.trouble = err
	msg := "Cannot show the codes: " + userWords(vault.Message(err))
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	u.troubleText.SetText(msg + " Then press Retry.")
	u.troubleBox.Show()
	u.updateRows()
}

// retry reads the accounts and codes again after keyring trouble.
func (u *UI) retry() {
	u.trouble = nil
	u.troubleBox.Hide()
	u.steps = map[string]uint64{}
	u.reload()
}

// waitingStatus is the status while the keyring takes long: a locked
// keyring waits for its password prompt.
const waitingStatus = "Keyring locked? Waiting for its password…"

// whenSlow shows waitingStatus if busy still holds after slowKeyring. It
// takes the place of an empty status or of another keyring wait's (another
// read started meanwhile, say the check for orphans at start), never of a
// message to the user.
func (u *UI) whenSlow(busy func() bool) {
	time.AfterFunc(u.slowAfter, func() {
		u.do(func() {
			if t := u.status.Text; busy() && (t == "" || strings.HasPrefix(t, keyringWait)) {
				u.setStatus(waitingStatus)
			}
		})
	})
}

// slowDone takes waitingStatus away.
func (u *UI) slowDone() {
	if u.status.Text == waitingStatus {
		u.setStatus("")
	}
}

// fetchNext reads the next step's codes of accounts in their last
// seconds, shown small beside the countdown. A failure only means no
// next code is shown.
func (u *UI) fetchNext(accounts []vault.Account, now time.Time) {
	u.fetchingNext = true
	codes := make([]string, len(accounts))
	steps := make([]uint64, len(accounts))
	u.pending++
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), u.opts.Timeout)
		defer cancel()
		inParallel(0, len(accounts), func(i int) {
			a := accounts[i]
			steps[i] = totp.Step(now, a.Period) + 1
			at := time.Unix(int64(steps[i])*int64(max(a.Period, 1)), 0)
			if a.Period <= 0 {
				at = time.Unix(int64(steps[i])*totp.DefaultPeriod, 0)
			}
			c, err := u.store.Code(ctx, a.ID, at)
			if err == nil {
				codes[i] = c
			}
		})
		u.do(func() {
			u.pending--
			u.fetchingNext = false
			for i, a := range accounts {
				if codes[i] != "" {
					u.nextCodes[a.ID], u.nextSteps[a.ID] = codes[i], steps[i]
				}
			}
			u.updateRows()
		})
	}()
}

// sortByName puts the accounts in alphabetical order of issuer, then
// account name: one action, however many accounts.
func (u *UI) sortByName() {
	sorted := slices.Clone(u.accounts)
	slices.SortStableFunc(sorted, func(a, b vault.Account) int {
		if c := strings.Compare(strings.ToLower(nameOr(a.Issuer, a.Account)), strings.ToLower(nameOr(b.Issuer, b.Account))); c != 0 {
			return c
		}
		return strings.Compare(strings.ToLower(a.Account), strings.ToLower(b.Account))
	})
	u.storeOrder(sorted, "Cannot sort the accounts")
}

// Go's own error texts, and what they mean to a user. A URL parse error
// quotes the link, secret and all: it is replaced whole.
var internals = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(uri: not a URI: |parse "[^"]*"?: )?net/url: invalid control character in URL`), "the link holds a line break, tab or other control character; copy it again as one line"},
	{regexp.MustCompile(`parse "[^"]*"?: (net/url: )?`), "the link is malformed: "},
	{regexp.MustCompile(`net/url: `), ""},
	{regexp.MustCompile(`json: cannot unmarshal [^\n]*`), "the file is JSON but not a backup Twofold reads (an Aegis or 2FAS backup, plain or encrypted)"},
	{regexp.MustCompile(`invalid character '[^']*' [a-z ]+`), "the file is damaged or not a backup Twofold reads (an Aegis or 2FAS backup)"},
	{regexp.MustCompile(`unexpected end of JSON input`), "the file is cut short"},
	{regexp.MustCompile(`exec: "([^"]+)": executable file not found in \$PATH`), "the helper program $1 is not installed"},
	{regexp.MustCompile(`context deadline exceeded`), "it took too long"},
}

// userWords rewrites the Go internals in a message into words.
func userWords(s string) string {
	for _, i := range internals {
		s = i.re.ReplaceAllString(s, i.with)
	}
	return s
}
