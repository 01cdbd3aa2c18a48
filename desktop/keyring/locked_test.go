package keyring

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// A locked keyring is said to be locked, not missing: the error comes from
// a real gnome-keyring whose login collection is locked and whose unlock
// prompt cannot be shown (no display). Locking the shared test keyring
// would break the tests running beside this one, so the test runs itself
// again in a Secret Service of its own.
func TestLockedKeyringIsSaidLocked(t *testing.T) {
	if os.Getenv("TWOFOLD_LOCKED_PROBE") == "1" {
		lockedProbe(t)
		return
	}
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (make deps installs it): %v", tool, err)
		}
	}
	dir := t.TempDir()
	run, home := dir+"/run", dir+"/home"
	for _, d := range []string{run, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c",
		`printf probe | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$0" -test.run='^TestLockedKeyringIsSaidLocked$' -test.v`,
		os.Args[0])
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DISPLAY=") && !strings.HasPrefix(kv, "WAYLAND_DISPLAY=") && !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "TWOFOLD_LOCKED_PROBE=1", "HOME="+home, "XDG_RUNTIME_DIR="+run)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestLockedKeyringIsSaidLocked") {
		t.Fatalf("the probe in its own keyring failed: %v\n%s", err, out)
	}
}

// lockedProbe runs inside the private Secret Service: lock the login
// collection, then read and write through the store.
func lockedProbe(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), Service: "twofold-locked-probe"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Add(ctx, probeKey()); err != nil {
		t.Fatalf("add before locking: %v", err)
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	call := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").Call(
		"org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"})
	if call.Err != nil {
		t.Fatalf("locking the login collection: %v", call.Err)
	}
	k := probeKey()
	k.Account = "second"
	_, err = s.Add(ctx, k)
	if !errors.Is(err, vault.ErrKeyringLocked) {
		t.Fatalf("add to a locked keyring: %v, want ErrKeyringLocked", err)
	}
	if msg := vault.Message(err); !strings.Contains(msg, "locked") || strings.Contains(msg, "no keyring service") {
		t.Fatalf("the user reads %q", msg)
	}
}

func probeKey() *totp.Key {
	return &totp.Key{Type: totp.TOTP, Issuer: "Probe", Account: "first", Secret: []byte("locked-probe-secret!"), Algorithm: totp.SHA1, Digits: 6, Period: 30}
}
