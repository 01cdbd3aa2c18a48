//go:build !((linux || freebsd || openbsd || netbsd) && !android)

package main

// trayHost: Windows and macOS always show the tray (notification area,
// menu bar).
func trayHost() bool { return true }
