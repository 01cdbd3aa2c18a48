package ui

import (
	"runtime"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

func TestKeysNamePlatformModifier(t *testing.T) {
	want := map[string]string{"darwin": "Cmd+Shift+S, Cmd+O"}[runtime.GOOS]
	if want == "" {
		want = "Ctrl+Shift+S, Ctrl+O"
	}
	if got := Keys("Ctrl+Shift+S, Ctrl+O"); got != want {
		t.Errorf("Keys = %q, want %q on %s", got, want, runtime.GOOS)
	}
}

// TestPasteOffersImageOnlyWithReader: "or image" only where an image
// reader exists (not on Windows and macOS).
func TestPasteOffersImageOnlyWithReader(t *testing.T) {
	for _, c := range []struct {
		read func() ([]byte, error)
		want string
	}{
		{nil, "Paste link"},
		{func() ([]byte, error) { return nil, nil }, "Paste link or image"},
	} {
		h := newHarness(t, Options{ClipboardImage: c.read})
		h.shortcut(ShortcutAdd)
		var found bool
		walk(h.top(), func(o fyne.CanvasObject) {
			if b, ok := o.(*widget.Button); ok && b.Text == Keys(c.want) {
				found = true
			}
		})
		if !found {
			t.Errorf("no %q in:\n%s", c.want, text(h.top()))
		}
	}
}
