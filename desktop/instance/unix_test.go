//go:build !windows

package instance

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// checkPrivate: only the owner may connect to the socket.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, socketName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("socket mode %v: others may connect", fi.Mode().Perm())
	}
}

// TestStaleSocketReplaced: a window that crashed leaves its socket file;
// the next window takes over.
func TestStaleSocketReplaced(t *testing.T) {
	dir := tempDir(t)
	if err := os.WriteFile(filepath.Join(dir, socketName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	l, err := Listen(dir, func(msg string) { got <- msg })
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	if err := Send(context.Background(), dir, "hello"); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "hello" {
		t.Errorf("got %q", m)
	}
}
