//go:build windows || darwin

package screen

// quietX11: Windows and macOS capture through their own APIs, not X11.
func quietX11() {}

// noDisplay says why no display was found.
func noDisplay() string { return "no display found" }
