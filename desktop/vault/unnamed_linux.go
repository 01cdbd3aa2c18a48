package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// writeUnnamed writes data to an unnamed file in dir (O_TMPFILE), syncs
// it, and links it in as path, or as a numbered name when path is taken:
// until the link the file has no name, so a process killed at any step
// leaves nothing behind, not even a temporary file. ok is false where dir's
// file system (or a missing /proc) does not allow it; nothing was written
// then, and the caller writes a named temporary file instead.
func writeUnnamed(dir, path string, data []byte, beforeLink func(string)) (_ string, ok bool, err error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
		return "", false, nil
	}
	if err != nil {
		return "", true, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), dir)
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return "", true, err
	}
	if err := f.Sync(); err != nil {
		return "", true, err
	}
	proc := fmt.Sprintf("/proc/self/fd/%d", fd)
	if beforeLink != nil {
		beforeLink(proc)
	}
	base, ext := strings.TrimSuffix(path, filepath.Ext(path)), filepath.Ext(path)
	for i := 2; ; i++ {
		err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
		switch {
		case err == nil:
			return path, true, nil
		case errors.Is(err, unix.ENOENT) && i == 2:
			if _, statErr := os.Stat(proc); statErr != nil {
				return "", false, nil // no /proc: the named way
			}
			return "", true, &os.LinkError{Op: "link", Old: proc, New: path, Err: err}
		case !errors.Is(err, unix.EEXIST):
			return "", true, &os.LinkError{Op: "link", Old: proc, New: path, Err: err}
		}
		path = fmt.Sprintf("%s-%d%s", base, i, ext)
	}
}
