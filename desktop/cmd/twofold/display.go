package main

import (
	"errors"
	"runtime"
)

// errNoDisplay is said instead of the panic Fyne's GLFW driver gives when
// there is no display to open a window on (an SSH session, a container).
var errNoDisplay = errors.New("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set): run twofold from a desktop session, or use its commands, e.g. twofold list, twofold code LABEL (twofold help lists them)")

// checkDisplay fails where a window needs DISPLAY or WAYLAND_DISPLAY and
// neither is set; Windows and macOS always have their own.
func checkDisplay(getenv func(string) string) error {
	switch runtime.GOOS {
	case "windows", "darwin":
		return nil
	}
	if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
		return errNoDisplay
	}
	return nil
}
