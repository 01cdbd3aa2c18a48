//go:build windows

package instance

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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

// TestStaleFilesReplaced: a window that crashed leaves its address and
// lock files (Windows has closed the lock's handle); the next window takes
// over, and a launch reaches it, not the old address.
func TestStaleFilesReplaced(t *testing.T) {
	dir := tempDir(t)
	stale := "127.0.0.1:1 " + strings.Repeat("0", 64) + "\n"
	if err := os.WriteFile(filepath.Join(dir, addrName), []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, lockName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	l, err := Listen(dir, func(msg string) { got <- msg })
	if err != nil {
		t.Fatalf("Listen over a crashed window's files: %v", err)
	}
	defer l.Close()
	if err := Send(context.Background(), dir, "hello"); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "hello" {
		t.Errorf("got %q", m)
	}
}
