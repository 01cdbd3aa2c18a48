//go:build (linux || freebsd || openbsd || netbsd) && !android

package main

import (
	"os"
	"testing"

	dbus "github.com/godbus/dbus/v5"
)

// trayHost on the private session bus of scripts/with-keyring.sh: no
// watcher there at first; a connection that owns the watcher's name makes
// one; no bus address at all means none.
func TestTrayHost(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("no session bus: run under scripts/with-keyring.sh (make test-desktop does)")
	}
	if trayHost() {
		t.Fatal("a tray host on a bus with no StatusNotifierWatcher")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reply, err := conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning the watcher's name: %v %v", reply, err)
	}
	if !trayHost() {
		t.Fatal("no tray host while a StatusNotifierWatcher owns its name")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	if trayHost() {
		t.Fatal("a tray host without a session bus address")
	}
}
