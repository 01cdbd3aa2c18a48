//go:build !windows

package keyring

import "os"

// replaceFile renames from over to: rename(2), atomic over an existing file.
func replaceFile(from, to string) error { return os.Rename(from, to) }
