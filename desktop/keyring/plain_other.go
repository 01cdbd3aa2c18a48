//go:build !linux && !windows

package keyring

import gokeyring "github.com/zalando/go-keyring"

// defaultBackend on macOS (and other systems) is go-keyring as it is: on
// macOS it drives the `security` command, which cannot give an item
// attributes nor list a service's items in a form go-keyring reads. Items
// there carry only service and username, and Open turns on the catalog
// (catalog.go) so that Repair can still rebuild the list.
func defaultBackend() Backend { return plainKeyring{} }

// plainKeyring is go-keyring's package functions: items with go-keyring's
// own label and only the service and username attributes.
type plainKeyring struct{}

func (plainKeyring) Get(s, u string) (string, error) { return gokeyring.Get(s, u) }
func (plainKeyring) Set(s, u, p string) error        { return gokeyring.Set(s, u, p) }
func (plainKeyring) Delete(s, u string) error        { return gokeyring.Delete(s, u) }
