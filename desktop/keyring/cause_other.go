//go:build !linux

package keyring

// cause is an unavailable keyring's error as the OS gave it: Credential
// Manager's and the Keychain's words need no translation (the D-Bus ones
// are translated in secretservice_linux.go).
func cause(err error) string { return err.Error() }
