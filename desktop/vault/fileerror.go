package vault

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// FileError says in words what could not be done to a file and why,
// without the system call's name or a temporary file's: "cannot read
// x.json: no such file", not "open x.json: no such file or directory".
// verb is what the user asked: "read", "write", "create the folder". The
// error still matches the underlying one with errors.Is.
func FileError(verb, path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	reason := err
	switch {
	case errors.As(err, &pe):
		reason = pe.Err
	case errors.As(err, &le):
		reason = le.Err
	}
	return &fileError{msg: "cannot " + verb + " " + path + ": " + fileReason(verb, path, reason), err: err}
}

func fileReason(verb, path string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist) && verb == "read":
		return "no such file"
	case errors.Is(err, fs.ErrNotExist):
		return "the folder " + filepath.Dir(path) + " does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, syscall.EISDIR):
		return "it is a folder, not a file"
	case errors.Is(err, syscall.ENOTDIR):
		return "a part of the path is a file, not a folder"
	case errors.Is(err, syscall.ENOSPC):
		return "the disk is full"
	case errors.Is(err, syscall.EROFS):
		return "the disk is read-only"
	}
	return err.Error()
}

type fileError struct {
	msg string
	err error
}

func (e *fileError) Error() string { return e.msg }
func (e *fileError) Unwrap() error { return e.err }
