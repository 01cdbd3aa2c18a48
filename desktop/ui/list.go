package ui

import (
	"hash/fnv"
	"image/color"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
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
		if i < len(u.shown) {
			a := u.shown[i]
			o.(*row).set(a)
			if u.needsCode(a) { // scrolled or searched into view
				u.askCodes()
			}
		}
	}
	l.OnSelected = func(i widget.ListItemID) {
		u.touch()
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
	l.u.touch()
	if e.Name == fyne.KeyReturn || e.Name == fyne.KeyEnter {
		e = &fyne.KeyEvent{Name: fyne.KeySpace}
	}
	l.List.TypedKey(e)
}

// Sizes of a row's parts.
const (
	avatarSide    = 36
	codeTextSize  = 26 // the code is the largest thing in a row
	barHeight     = 4
	narrowRow     = 380 // below this width the countdown's seconds are dropped
	readableRows  = 720 // rows never grow wider than this
	namesMinWidth = 64  // a row keeps this much for issuer and name ("GitH…")
	nextCodeSecs  = 5   // the next code is shown, and the bar turns red, this many seconds before the step ends
)

// row shows one account: a letter avatar, issuer and name, the grouped
// code with a thin countdown bar under it (TOTP) or a Next code button
// (HOTP), and a ⋮ menu.
type row struct {
	widget.BaseWidget
	u       *UI
	acc     vault.Account
	avatar  *canvas.Circle
	letter  *canvas.Text
	issuer  *fitText
	pin     *widget.Icon    // shown on a pinned account's row
	head    *fyne.Container // pin and issuer
	name    *fitText
	code    *canvas.Text
	bar     *countdown
	secs    *canvas.Text // "12 s", or the next code in the last seconds
	next    *widget.Button
	menu    *widget.Button
	timer   *fyne.Container // bar and secs
	content fyne.CanvasObject
	bound   bool // set has been called: acc is what the row shows
	left    int  // the countdown shown, in seconds
	narrow  bool
}

func newRow(u *UI) *row {
	r := &row{u: u}
	r.avatar = canvas.NewCircle(color.Gray{Y: 0x80})
	r.letter = canvas.NewText("", color.White)
	r.letter.TextStyle = fyne.TextStyle{Bold: true}
	r.letter.TextSize = 18
	r.letter.Alignment = fyne.TextAlignCenter
	avatar := container.NewGridWrap(fyne.NewSize(avatarSide, avatarSide),
		container.NewStack(r.avatar, container.NewCenter(r.letter)))

	r.issuer = newFitText(fyne.TextStyle{Bold: true}, theme.SizeNameText)
	r.name = newFitText(fyne.TextStyle{}, theme.SizeNameCaptionText)

	// The theme's regular text, whose figures are tabular (one width, see
	// TestCodeFiguresOneWidth): codes line up and do not jiggle as they
	// change, without loading a monospace font at start (Fyne parses each
	// style's fonts, and an emoji font with each, on first use).
	r.code = canvas.NewText("", theme.Color(theme.ColorNameForeground))
	r.code.TextSize = codeTextSize
	r.code.Alignment = fyne.TextAlignTrailing
	// The widest code, until set: the list takes its rows' minimum size
	// from this template row, and the window its own from the list, so a
	// window never gets narrower than an 8-digit row needs (at scale 2 the
	// codes were drawn over the names).
	r.code.Text = groupCode("00000000")
	r.bar = newCountdown()
	r.secs = canvas.NewText("", theme.Color(theme.ColorNamePlaceHolder))
	r.secs.TextSize = theme.CaptionTextSize()
	r.secs.Alignment = fyne.TextAlignTrailing
	r.timer = container.NewBorder(nil, nil, nil, r.secs, container.NewVBox(layoutSpacer(4), r.bar))
	r.next = widget.NewButtonWithIcon("Next code", theme.MediaSkipNextIcon(), func() { r.u.nextHOTP(r.acc) })
	r.next.Importance = widget.LowImportance
	r.menu = widget.NewButtonWithIcon("", theme.MoreVerticalIcon(), func() { r.u.showAccountMenu(r.acc, r.menu) })
	r.menu.Importance = widget.LowImportance

	codeCol := container.NewVBox(r.code, container.NewStack(r.timer, r.next))
	r.pin = widget.NewIcon(pinIcon)
	r.pin.Hide()
	r.head = container.NewBorder(nil, nil, r.pin, nil, r.issuer)
	names := container.New(vcentre{minWidth: namesMinWidth}, container.NewVBox(r.head, r.name))
	r.content = container.NewBorder(nil, nil,
		container.NewCenter(avatar),
		container.NewHBox(container.NewCenter(codeCol), container.NewCenter(r.menu)),
		names)
	r.ExtendBaseWidget(r)
	return r
}

func (r *row) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.content) }

// Resize drops the countdown's seconds in narrow windows: issuer and code
// stay.
func (r *row) Resize(s fyne.Size) {
	r.BaseWidget.Resize(s)
	if narrow := s.Width < narrowRow; narrow != r.narrow {
		r.narrow = narrow
		r.showSecs()
	}
}

// showSecs shows the seconds text unless the row is narrow; the next code
// is shown whatever the width.
func (r *row) showSecs() {
	if r.acc.Type == totp.HOTP || (r.narrow && !strings.Contains(r.secs.Text, "next")) {
		r.secs.Hide()
	} else {
		r.secs.Show()
	}
}

// set shows account a as of the UI's clock; the countdown is read from the
// clock each time, never counted down. Only what changed is refreshed: at
// rest, a tick within a time step moves the bar and its seconds and
// nothing else.
func (r *row) set(a vault.Account) {
	newAcc := !r.bound || r.acc != a
	r.acc, r.bound = a, true
	now := r.u.clock()
	issuer, name := a.Issuer, a.Account
	if issuer == "" { // the account alone, not shown twice
		issuer, name = a.Account, ""
	}
	problem := r.u.problems[a.ID]
	code := r.u.codes[a.ID]
	switch {
	case problem != "":
		code = "⚠ missing"
		name = strings.TrimPrefix(a.Account+" — "+problem, " — ")
		if a.Issuer == "" {
			name = problem
		}
	case r.u.trouble != nil:
		code = "unavailable"
	case a.Type == totp.TOTP && r.u.steps[a.ID] != totp.Step(now, a.Period):
		code = placeholder(a.Digits) // being read
	case code == "":
		code = placeholder(a.Digits)
	default:
		code = groupCode(code)
	}
	if newAcc {
		r.setAvatar(a)
		if a.Pinned != r.pin.Visible() {
			if a.Pinned {
				r.pin.Show()
			} else {
				r.pin.Hide()
			}
			r.head.Refresh() // lays the issuer out beside the pin, or without it
		}
	}
	r.issuer.SetText(issuer)
	r.name.SetText(name)
	if name == "" {
		r.name.Hide()
	} else {
		r.name.Show()
	}
	if r.code.Text != code {
		r.code.Text = code
		if code == "unavailable" || problem != "" {
			r.code.TextSize = theme.TextSize()
		} else {
			r.code.TextSize = codeTextSize
		}
		r.code.Color = theme.Color(theme.ColorNameForeground)
		r.code.Refresh()
	}
	if a.Type == totp.HOTP {
		if newAcc || r.timer.Visible() {
			r.timer.Hide()
			r.next.Show()
		}
		if (problem != "") != r.next.Disabled() {
			if problem != "" {
				r.next.Disable()
			} else {
				r.next.Enable()
			}
		}
		return
	}
	if newAcc || !r.timer.Visible() {
		r.next.Hide()
		r.timer.Show()
	}
	left := remainingSeconds(now, a.Period)
	period := a.Period
	if period <= 0 {
		period = totp.DefaultPeriod
	}
	r.bar.set(float32(left)/float32(period), left <= nextCodeSecs)
	secs := strconv.Itoa(left) + " s"
	if n := r.u.nextCodes[a.ID]; left <= nextCodeSecs && n != "" && r.u.nextSteps[a.ID] == totp.Step(now, a.Period)+1 && problem == "" {
		secs = "next " + groupCode(n)
	}
	if r.left != left || r.secs.Text != secs || newAcc {
		r.left = left
		r.secs.Text = secs
		r.showSecs()
		r.secs.Refresh()
	}
}

func (r *row) setAvatar(a vault.Account) {
	name := a.Issuer
	if name == "" {
		name = a.Account
	}
	r.avatar.FillColor = avatarColor(name)
	r.avatar.Refresh()
	r.letter.Text = initial(name)
	r.letter.Refresh()
}

// fitText is one line of text, cut with an ellipsis to the width it is
// given, drawn as a label is. A Label that truncates shapes its text
// afresh at every change, with a new HarfBuzz shaper each time: filling
// the rows after a search or a scroll took tens of milliseconds of the
// frame. Here a text that fits, the usual case, is measured once (fyne
// keeps the measures), and only a text that does not is cut, by halving.
type fitText struct {
	widget.BaseWidget
	Text  string // the whole text; what is drawn may be cut
	style fyne.TextStyle
	size  fyne.ThemeSizeName
	text  *canvas.Text
	fitW  float32 // the width the text was last fitted to
}

func newFitText(style fyne.TextStyle, size fyne.ThemeSizeName) *fitText {
	f := &fitText{style: style, size: size, text: canvas.NewText("", theme.Color(theme.ColorNameForeground))}
	f.text.TextStyle = style
	f.text.TextSize = theme.Size(size)
	f.ExtendBaseWidget(f)
	return f
}

// SetText shows s, repainting only when it changed.
func (f *fitText) SetText(s string) {
	if s == f.Text {
		return
	}
	f.Text = s
	f.fit(f.Size().Width)
	f.text.Refresh()
}

// fit cuts Text to width, padding included; a width not known yet (0)
// shows it whole until the first layout.
func (f *fitText) fit(width float32) {
	f.fitW = width
	size := theme.Size(f.size)
	f.text.TextSize = size
	avail := width - 2*theme.InnerPadding()
	s := f.Text
	if avail > 0 && fyne.MeasureText(s, size, f.style).Width > avail {
		runes := []rune(s)
		lo, hi := 0, len(runes)-1 // the longest start that fits with "…"
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if fyne.MeasureText(string(runes[:mid])+"…", size, f.style).Width <= avail {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		s = strings.TrimRightFunc(string(runes[:lo]), unicode.IsSpace) + "…"
	}
	f.text.Text = s
}

func (f *fitText) CreateRenderer() fyne.WidgetRenderer { return &fitTextRenderer{f} }

type fitTextRenderer struct{ f *fitText }

func (r *fitTextRenderer) Layout(s fyne.Size) {
	if s.Width != r.f.fitW {
		r.f.fit(s.Width)
		r.f.text.Refresh()
	}
	pad := theme.InnerPadding()
	r.f.text.Move(fyne.NewPos(pad, pad))
	r.f.text.Resize(fyne.NewSize(max(s.Width-2*pad, 0), max(s.Height-2*pad, 0)))
}

// MinSize is a line of text high and an ellipsis wide: the row decides
// the width, as it did for a truncating Label.
func (r *fitTextRenderer) MinSize() fyne.Size {
	pad := theme.InnerPadding()
	m := fyne.MeasureText("…", theme.Size(r.f.size), r.f.style)
	return fyne.NewSize(m.Width+2*pad, m.Height+2*pad)
}

func (r *fitTextRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.f.text} }
func (r *fitTextRenderer) Destroy()                     {}

// Refresh follows the theme (a change of light and dark, of text size).
func (r *fitTextRenderer) Refresh() {
	r.f.text.Color = theme.Color(theme.ColorNameForeground)
	r.f.fit(r.f.Size().Width)
	r.f.text.Refresh()
}

// initial is the avatar's letter: the first letter or digit of name.
func initial(name string) string {
	for _, c := range name {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			return string(unicode.ToUpper(c))
		}
	}
	if c, _ := utf8.DecodeRuneInString(name); c != utf8.RuneError {
		return string(c)
	}
	return "?"
}

// avatarColor is a colour picked from name, the same every time: a hue
// from its hash, saturated and dark enough for a white letter.
func avatarColor(name string) color.Color {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(strings.TrimSpace(name))))
	hue := float64(h.Sum32()%360) / 60
	const c, l = 0.55, 0.42 // chroma and lightness offset
	x := c * (1 - math.Abs(math.Mod(hue, 2)-1))
	var r, g, b float64
	switch int(hue) {
	case 0:
		r, g = c, x
	case 1:
		r, g = x, c
	case 2:
		g, b = c, x
	case 3:
		g, b = x, c
	case 4:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	to := func(v float64) uint8 { return uint8(math.Round((v + m) * 255)) }
	return color.NRGBA{R: to(r + 0.15), G: to(g + 0.15), B: to(b + 0.15), A: 0xff}
}

// groupCode splits a code as Google Authenticator does: 3+3, 4+3, 4+4.
func groupCode(code string) string {
	switch len(code) {
	case 6:
		return code[:3] + " " + code[3:]
	case 7, 8:
		return code[:4] + " " + code[4:]
	}
	return totp.FormatCode(code)
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
	return groupCode(string(b))
}

// countdown is a thin bar: the share of the time step left, in the
// theme's primary colour, red in the last seconds.
type countdown struct {
	widget.BaseWidget
	track, fill *canvas.Rectangle
	frac        float32
	late        bool
}

func newCountdown() *countdown {
	c := &countdown{
		track: canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)),
		fill:  canvas.NewRectangle(theme.Color(theme.ColorNamePrimary)),
	}
	c.track.CornerRadius = barHeight / 2
	c.fill.CornerRadius = barHeight / 2
	c.ExtendBaseWidget(c)
	return c
}

// set changes the bar, refreshing only the filled part and only when it
// changed.
func (c *countdown) set(frac float32, late bool) {
	if c.frac == frac && c.late == late {
		return
	}
	c.frac, c.late = frac, late
	c.fill.FillColor = theme.Color(theme.ColorNamePrimary)
	if late {
		c.fill.FillColor = theme.Color(theme.ColorNameError)
	}
	c.layout(c.Size())
	c.fill.Refresh()
}

func (c *countdown) layout(s fyne.Size) {
	y := (s.Height - barHeight) / 2
	c.track.Move(fyne.NewPos(0, y))
	c.track.Resize(fyne.NewSize(s.Width, barHeight))
	c.fill.Move(fyne.NewPos(0, y))
	c.fill.Resize(fyne.NewSize(s.Width*c.frac, barHeight))
}

func (c *countdown) CreateRenderer() fyne.WidgetRenderer { return &countdownRenderer{c} }

type countdownRenderer struct{ c *countdown }

func (r *countdownRenderer) Layout(s fyne.Size) { r.c.layout(s) }
func (r *countdownRenderer) MinSize() fyne.Size { return fyne.NewSize(60, barHeight) }
func (r *countdownRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.c.track, r.c.fill}
}
func (r *countdownRenderer) Destroy() {}
func (r *countdownRenderer) Refresh() {
	r.c.track.FillColor = theme.Color(theme.ColorNameInputBackground)
	r.c.track.Refresh()
	r.c.layout(r.c.Size())
	r.c.fill.Refresh()
}

// layoutSpacer is an empty object of a fixed height.
func layoutSpacer(h float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(0, h))
	return r
}

// vcentre centres its objects vertically at their own height, full width,
// and is never narrower than minWidth.
type vcentre struct{ minWidth float32 }

func (l vcentre) MinSize(objs []fyne.CanvasObject) fyne.Size {
	s := readable{}.MinSize(objs)
	return fyne.NewSize(max(s.Width, l.minWidth), s.Height)
}

func (vcentre) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	for _, o := range objs {
		h := min(o.MinSize().Height, s.Height)
		o.Move(fyne.NewPos(0, (s.Height-h)/2))
		o.Resize(fyne.NewSize(s.Width, h))
	}
}

// readable lays out one object centred, no wider than max.
type readable struct{ max float32 }

func (l readable) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		if o.Visible() {
			s = s.Max(o.MinSize())
		}
	}
	return s
}

func (l readable) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	w := min(s.Width, l.max)
	for _, o := range objs {
		o.Move(fyne.NewPos((s.Width-w)/2, 0))
		o.Resize(fyne.NewSize(w, s.Height))
	}
}
