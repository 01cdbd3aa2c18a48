//go:build !linux && !windows

package keyring

// defaultBackend on macOS (and other systems) is go-keyring as it is: on
// macOS it drives the `security` command, which can store a label but not
// list a service's items in a form go-keyring reads. Items there carry
// only service and username; the account list cannot be rebuilt from the
// Keychain (Repair and Orphans say so with vault.ErrCannotList), so keep
// the automatic backups on.
func defaultBackend() Backend { return plainKeyring{} }
