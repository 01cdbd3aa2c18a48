//go:build !windows && !darwin

package screen

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// ClipboardImageReader is the window's "Paste image": ClipboardImage here.
func ClipboardImageReader() func() ([]byte, error) { return ClipboardImage }

// ClipboardImage returns the PNG image on the clipboard, read with xclip
// (X11) or wl-paste (Wayland); Fyne's clipboard holds only text.
func ClipboardImage() ([]byte, error) {
	var cmd *exec.Cmd
	switch {
	case os.Getenv("WAYLAND_DISPLAY") != "":
		cmd = exec.Command("wl-paste", "--no-newline", "--type", "image/png")
	case os.Getenv("DISPLAY") != "":
		cmd = exec.Command("xclip", "-selection", "clipboard", "-t", "image/png", "-o")
	default:
		return nil, errors.New("no display, so no clipboard")
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("no image on the clipboard (%s: %v)", cmd.Args[0], err)
	}
	// Some clipboard owners (xclip among them) answer any type asked for
	// with what they hold: text is not an image.
	if !bytes.HasPrefix(out, []byte("\x89PNG\r\n\x1a\n")) {
		return nil, errors.New("no image on the clipboard")
	}
	return out, nil
}
