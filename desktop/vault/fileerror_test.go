package vault_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"twofold.dev/desktop/vault"
)

// WriteNewFile and FileError say what failed to which file in words, never
// the system call or the temporary file's name, and still match fs errors.
func TestFileErrorsInWords(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	for _, tc := range []struct {
		err  error
		want string
		is   error
	}{
		{vault.WriteNewFile(filepath.Join(dir, "no", "x.json"), []byte("{}")), "cannot write " + filepath.Join(dir, "no", "x.json") + ": the folder " + filepath.Join(dir, "no") + " does not exist", fs.ErrNotExist},
		{vault.WriteNewFile(file, []byte("{}")), file + " already exists: choose another name or remove it first", nil},
		{vault.WriteNewFile(filepath.Join(file, "x.json"), []byte("{}")), "cannot write " + filepath.Join(file, "x.json") + ": a part of the path is a file, not a folder", nil},
		{vault.FileError("read", filepath.Join(dir, "nothere"), func() error { _, err := os.ReadFile(filepath.Join(dir, "nothere")); return err }()), "cannot read " + filepath.Join(dir, "nothere") + ": no such file", fs.ErrNotExist},
		{vault.FileError("read", dir, func() error { _, err := os.ReadFile(dir); return err }()), "cannot read " + dir + ": it is a folder, not a file", nil},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("error %v, want %q", tc.err, tc.want)
			continue
		}
		if strings.Contains(tc.err.Error(), ".tmp") || strings.Contains(tc.err.Error(), "open ") {
			t.Errorf("%q names the system call or the temporary file", tc.err)
		}
		if tc.is != nil && !errors.Is(tc.err, tc.is) {
			t.Errorf("%q does not match %v", tc.err, tc.is)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left in the folder: %d, want only the one there before", len(entries))
	}
}
