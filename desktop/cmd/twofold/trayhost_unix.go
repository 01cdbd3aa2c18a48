//go:build (linux || freebsd || openbsd || netbsd) && !android

package main

import (
	"context"
	"os"
	"time"

	dbus "github.com/godbus/dbus/v5"
)

// trayHost reports whether anything on the session bus shows tray icons:
// fyne's tray on these systems is a StatusNotifierItem, which only a
// StatusNotifierWatcher (KDE, XFCE, GNOME with an AppIndicator extension)
// puts on screen. Without a session bus address it does not connect: an
// autolaunched bus would not have a watcher either.
func trayHost() bool {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return false
	}
	conn, err := dbus.SessionBus() // shared with the keyring and the tray
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var has bool
	err = conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && has
}
