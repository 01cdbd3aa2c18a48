package keyring

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// replaceFile renames from over to. os.Rename is MoveFileEx with
// MOVEFILE_REPLACE_EXISTING, which replaces to in one step; it fails while
// another process has to open without FILE_SHARE_DELETE (Go's os.Open, a
// lock-free List reading the index), so it is tried again for a moment:
// readers hold the file only while they read it.
func replaceFile(from, to string) error {
	var err error
	for wait := time.Millisecond; wait < time.Second; wait *= 2 {
		if err = os.Rename(from, to); err == nil || !errors.Is(err, fs.ErrPermission) {
			return err
		}
		time.Sleep(wait)
	}
	return err
}
