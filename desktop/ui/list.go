package ui

import (
	"math"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// accountList is the list of accounts; Enter copies the focused one.
type accountList struct {
	widget.List
	u *UI
}

func newAccountList(u *UI) *accountList {
	l := &accountList{u: u}
	l.Length = func() int { return len(u.shown) }
	l.CreateItem = func() fyne.CanvasObject {
		r := newRow(u)
		u.rows = append(u.rows, r)
		return r
	}
	l.UpdateItem = func(i widget.ListItemID, o fyne.CanvasObject) {
		u.listUpdates++
		if i < len(u.shown) {
			o.(*row).set(u.shown[i])
		}
	}
	l.OnSelected = func(i widget.ListItemID) {
		if i < len(u.shown) {
			u.copyAccount(u.shown[i])
		}
		// Unselect, so that tapping the same row again copies again.
		l.UnselectAll()
	}
	l.ExtendBaseWidget(l)
	return l
}

// TypedKey makes Enter act like Space (select, hence copy).
func (l *accountList) TypedKey(e *fyne.KeyEvent) {
	if e.Name == fyne.KeyReturn || e.Name == fyne.KeyEnter {
		e = &fyne.KeyEvent{Name: fyne.KeySpace}
	}
	l.List.TypedKey(e)
}

// row shows one account: issuer and name, the grouped code, and a
// countdown bar (TOTP) or a Next code button (HOTP), plus a menu.
type row struct {
	widget.BaseWidget
	u       *UI
	acc     vault.Account
	issuer  *widget.Label
	name    *widget.Label
	code    *widget.Label
	bar     *widget.ProgressBar
	next    *widget.Button
	menu    *widget.Button
	content fyne.CanvasObject
	bound   bool // set has been called: acc is what the row shows
	left    int  // the countdown the bar shows, in seconds
}

func newRow(u *UI) *row {
	r := &row{u: u}
	r.issuer = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.issuer.Truncation = fyne.TextTruncateEllipsis
	r.name = widget.NewLabel("")
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.code = widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{}) // the theme font's digits are all one width; a second font would cost ~5 MiB
	r.code.SizeName = theme.SizeNameSubHeadingText
	r.bar = widget.NewProgressBar()
	r.bar.TextFormatter = func() string { return strconv.Itoa(r.left) + " s" }
	r.next = widget.NewButtonWithIcon("Next code", theme.MediaSkipNextIcon(), func() { r.u.nextHOTP(r.acc) })
	r.menu = widget.NewButtonWithIcon("", theme.MoreVerticalIcon(), func() { r.u.showAccountMenu(r.acc, r.menu) })
	r.menu.Importance = widget.LowImportance
	side := container.NewHBox(r.code, container.NewGridWrap(fyne.NewSize(96, 30), container.NewStack(r.bar, r.next)), r.menu)
	r.content = container.NewBorder(nil, nil, nil, side, container.NewVBox(r.issuer, r.name))
	r.ExtendBaseWidget(r)
	return r
}

func (r *row) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.content) }

// set shows account a as of the UI's clock; the countdown is read from the
// clock each time, never counted down. Only the widgets whose content
// changes are refreshed: at rest, a tick within a time step moves the bar
// and nothing else.
func (r *row) set(a vault.Account) {
	newAcc := !r.bound || r.acc != a
	r.acc, r.bound = a, true
	now := r.u.clock()
	issuer := a.Issuer
	if issuer == "" {
		issuer = a.Account
	}
	problem := r.u.problems[a.ID]
	name := a.Account
	code := r.u.codes[a.ID]
	real := false
	switch {
	case problem != "":
		code = "⚠ missing"
		name = a.Account + " — " + problem
	case a.Type == totp.TOTP && r.u.steps[a.ID] != totp.Step(now, a.Period):
		code = placeholder(a.Digits) // being refreshed
	case code == "":
		code = placeholder(a.Digits)
	default:
		code = totp.FormatCode(code)
		real = true
	}
	r.setText(r.issuer, issuer)
	r.setText(r.name, name)
	r.setText(r.code, code)
	if real {
		r.u.codeShown()
	}
	if a.Type == totp.HOTP {
		if newAcc || r.bar.Visible() {
			r.bar.Hide()
			r.next.Show()
			r.u.rowChanges++
		}
		if (problem != "") != r.next.Disabled() {
			if problem != "" {
				r.next.Disable()
			} else {
				r.next.Enable()
			}
			r.u.rowChanges++
		}
		return
	}
	if newAcc || !r.bar.Visible() {
		r.next.Hide()
		r.bar.Show()
		r.u.rowChanges++
	}
	left := remainingSeconds(now, a.Period)
	if max := float64(a.Period); r.bar.Max != max || r.left != left || r.bar.Value != float64(left) {
		r.left = left
		r.bar.Max = max
		r.bar.SetValue(float64(left))
		r.u.rowChanges++
	}
}

// setText changes a label only when its text differs: SetText always
// refreshes, and a refresh repaints the window.
func (r *row) setText(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
		r.u.rowChanges++
		if l == r.code {
			r.u.codeChanges++
		}
	}
}

// remainingSeconds is the countdown shown: whole seconds left in the
// period, rounded up, so a 20 s period shows 20 … 1.
func remainingSeconds(now interface{ UnixNano() int64 }, period int) int {
	if period <= 0 {
		period = totp.DefaultPeriod
	}
	p := int64(period) * 1e9
	since := now.UnixNano() % p
	if since < 0 {
		since += p
	}
	return int(math.Ceil(float64(p-since) / 1e9))
}

func placeholder(digits int) string {
	b := make([]byte, digits)
	for i := range b {
		b[i] = '-'
	}
	return totp.FormatCode(string(b))
}
