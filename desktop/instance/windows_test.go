//go:build windows

package instance

import (
	"os"
	"path/filepath"
	"testing"
)

// checkPrivate: the address file is there, with a token a caller must send.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, addrName)); err != nil {
		t.Fatal(err)
	}
	if _, ok := checkToken("wrong otpauth://x", "right"); ok {
		t.Error("a wrong token was accepted")
	}
}
