package vault

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestMessageNamesPlatformStore: keyring advice names this platform's own
// store (Secret Service, Credential Manager, Keychain).
func TestMessageNamesPlatformStore(t *testing.T) {
	names := map[string][2]string{
		"windows": {"Credential Manager", "Windows"},
		"darwin":  {"Keychain", "keychain"},
	}
	want, ok := names[runtime.GOOS]
	if !ok {
		want = [2]string{"Secret Service", "keyring"}
	}
	msg := Message(fmt.Errorf("opening: %w", ErrKeyringUnavailable))
	if !strings.Contains(msg, want[0]) || !strings.HasSuffix(msg, "nothing was saved elsewhere.") {
		t.Errorf("unavailable: %q does not name %s", msg, want[0])
	}
	msg = Message(ErrKeyringLocked)
	if !strings.HasPrefix(msg, ErrKeyringLocked.Error()+". ") || !strings.Contains(msg, want[1]) {
		t.Errorf("locked: %q does not name %s", msg, want[1])
	}
}

// A damaged list is said once, with what to do.
func TestMessageOfADamagedList(t *testing.T) {
	msg := Message(fmt.Errorf("the account list /x/accounts.json is cut short (truncated): %w", ErrIndexDamaged))
	if msg != "the account list /x/accounts.json is cut short (truncated). Repair rebuilds it from the keyring (twofold repair, or Repair in the window); the damaged file is kept aside, not overwritten." {
		t.Errorf("message %q", msg)
	}
}
