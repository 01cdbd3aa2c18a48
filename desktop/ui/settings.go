package ui

import (
	"image/color"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Settings, kept in the app's preferences (not secret), and About.
const (
	prefClipboardClear = "clipboard-clear-seconds" // 0: never
	prefTheme          = "theme"                   // "", "light" or "dark"
)

// clipboardChoices are the clipboard clear times offered, in seconds.
var clipboardChoices = []struct {
	label string
	secs  int
}{{"10 s", 10}, {"30 s", 30}, {"1 min", 60}, {"2 min", 120}, {"Never", 0}}

// clipboardClear is how long a copied code stays on the clipboard; 0 is
// never cleared.
func (u *UI) clipboardClear() time.Duration {
	return time.Duration(u.app.Preferences().IntWithFallback(prefClipboardClear, int(ClipboardClear/time.Second))) * time.Second
}

// applyTheme sets the theme the preferences ask for; the system's when
// none is set.
func (u *UI) applyTheme() {
	switch u.app.Preferences().String(prefTheme) {
	case "light":
		u.app.Settings().SetTheme(variantTheme{theme.DefaultTheme(), theme.VariantLight})
	case "dark":
		u.app.Settings().SetTheme(variantTheme{theme.DefaultTheme(), theme.VariantDark})
	}
}

// variantTheme is a theme held to one variant, whatever the system's.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

// showSettings is the Settings dialog: clipboard clear time and theme,
// with the version and where the data lives.
func (u *UI) showSettings() {
	var labels []string
	current := u.app.Preferences().IntWithFallback(prefClipboardClear, int(ClipboardClear/time.Second))
	clip := widget.NewSelect(nil, nil)
	for _, c := range clipboardChoices {
		labels = append(labels, c.label)
	}
	clip.Options = labels
	for _, c := range clipboardChoices {
		if c.secs == current {
			clip.SetSelected(c.label)
		}
	}
	clip.OnChanged = func(s string) {
		for _, c := range clipboardChoices {
			if c.label == s {
				u.app.Preferences().SetInt(prefClipboardClear, c.secs)
			}
		}
	}
	themes := map[string]string{"As the system": "", "Light": "light", "Dark": "dark"}
	look := widget.NewSelect([]string{"As the system", "Light", "Dark"}, nil)
	for label, v := range themes {
		if v == u.app.Preferences().String(prefTheme) {
			look.SetSelected(label)
		}
	}
	look.OnChanged = func(s string) {
		u.app.Preferences().SetString(prefTheme, themes[s])
		if themes[s] == "" {
			u.app.Settings().SetTheme(theme.DefaultTheme())
			return
		}
		u.applyTheme()
	}
	version := u.opts.Version
	if version == "" {
		version = "development build"
	}
	where := "Secrets: the system keyring, one item per account (service \"twofold\")."
	if u.opts.DataDir != "" {
		where += " Account list, order and settings (no secrets): " + u.opts.DataDir + "."
	}
	form := widget.NewForm(
		widget.NewFormItem("Clear clipboard", clip),
		widget.NewFormItem("Theme", look),
		widget.NewFormItem("Lock Twofold", u.lockSettings()),
	)
	about := wrapped("Twofold " + version + "\n" + where)
	rows := append([]fyne.CanvasObject{form}, u.traySettings()...)
	rows = append(rows, widget.NewSeparator(), about)
	d := dialog.NewCustom("Settings", "Close", container.NewVScroll(container.NewVBox(rows...)), u.win)
	u.show(d, fyne.NewSize(480, 460), d.Hide)
}

// clearsIn says when the clipboard clears, for the status line.
func (u *UI) clearsIn() string {
	d := u.clipboardClear()
	if d <= 0 {
		return "the clipboard is not cleared (Settings)"
	}
	if d%time.Minute == 0 {
		return "the clipboard clears in " + strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return "the clipboard clears in " + strconv.Itoa(int(d/time.Second)) + " s"
}
