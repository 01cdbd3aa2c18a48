//go:build !windows && !darwin

package vault

// The keyring here is the Secret Service (D-Bus), as go-keyring uses it.
const (
	keyringUnavailableAdvice = "Install and start a Secret Service provider (e.g. gnome-keyring or KeePassXC) and log in again"
	keyringLockedAdvice      = "Unlock the keyring (your login keyring password)"
)
