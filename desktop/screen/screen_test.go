package screen

import (
	"errors"
	"strings"
	"testing"
)

// Capturing the real screen is tested with the binary under Xvfb
// (cmd/twofold); here, the message when there is no screen to capture.
func TestCaptureWithoutDisplayExplains(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	_, err := Capture()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Capture without a display: %v", err)
	}
	for _, want := range []string{"DISPLAY is not set", "Open image", "Paste", "manually"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %q", err, want)
		}
	}
	if read := ClipboardImageReader(); read != nil {
		if _, err := read(); err == nil {
			t.Error("ClipboardImage without a display succeeded")
		}
	}
}
