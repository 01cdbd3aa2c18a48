//go:build !linux && !windows

package keyring

import gokeyring "github.com/zalando/go-keyring"

// defaultBackend on macOS (and other systems) is go-keyring as it is: on
// macOS it drives the `security` command, which can store a label but not
// list a service's items in a form go-keyring reads. Items there carry
// only service and username; the account list cannot be rebuilt from the
// Keychain (Repair and Orphans say so with vault.ErrCannotList), so keep
// the automatic backups on.
func defaultBackend() Backend { return plainKeyring{} }

// plainKeyring is go-keyring's package functions: items with go-keyring's
// own label and only the service and username attributes.
type plainKeyring struct{}

func (plainKeyring) Get(s, u string) (string, error) { return gokeyring.Get(s, u) }
func (plainKeyring) Set(s, u, p string) error        { return gokeyring.Set(s, u, p) }
func (plainKeyring) Delete(s, u string) error        { return gokeyring.Delete(s, u) }
