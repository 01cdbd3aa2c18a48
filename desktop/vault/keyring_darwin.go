package vault

// The keyring on macOS is the login Keychain.
const (
	keyringUnavailableAdvice = "The macOS Keychain did not answer: open Keychain Access and check that the login keychain exists"
	keyringLockedAdvice      = "Unlock the login keychain (Keychain Access, or your Mac password when asked)"
)
