//go:build !windows && !darwin

package screen

import (
	"io"
	"os"

	"github.com/jezek/xgb"
)

// quietX11 silences the X client, which logs to stderr when there is no
// ~/.Xauthority: normal (Xvfb, some sessions), and it would clutter the
// command line.
func quietX11() { xgb.Logger.SetOutput(io.Discard) }

// noDisplay says why no display was found.
func noDisplay() string {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return "no display (DISPLAY is not set)"
	}
	return "no display found"
}
