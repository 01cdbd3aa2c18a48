package instance

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tempDir is t.TempDir, removed with os.Remove one name at a time: these
// tests also run as a Windows binary under Wine 8.0 (make test-windows),
// whose ntdll lacks the call os.RemoveAll makes there.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "instance")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var names []string
		filepath.WalkDir(dir, func(p string, _ fs.DirEntry, _ error) error { names = append(names, p); return nil })
		slices.Reverse(names) // files before their directories
		for _, n := range names {
			if err := os.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("cleaning up: %v", err)
			}
		}
	})
	return dir
}

func TestSendReachesTheWindow(t *testing.T) {
	dir := filepath.Join(tempDir(t), "cfg")
	ctx := context.Background()
	if err := Send(ctx, dir, "x"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Send with no window: %v, want ErrNotRunning", err)
	}
	got := make(chan string, 4)
	l, err := Listen(dir, func(msg string) { got <- msg })
	if err != nil {
		t.Fatal(err)
	}
	link := "otpauth://totp/Ex:ann?secret=JBSWY3DPEHPK3PXP&issuer=Ex"
	for _, msg := range []string{link, ""} {
		if err := Send(ctx, dir, msg); err != nil {
			t.Fatalf("Send(%q): %v", msg, err)
		}
		if m := <-got; m != msg {
			t.Errorf("window got %q, want %q", m, msg)
		}
	}
	if err := Send(ctx, dir, "two\nlines"); err == nil {
		t.Error("a message with a newline was sent")
	}
	if _, err := Listen(dir, func(string) {}); err == nil {
		t.Error("a second window claimed the channel")
	}
	checkPrivate(t, dir)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Send(ctx, dir, "x"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Send after Close: %v, want ErrNotRunning", err)
	}
	select {
	case m := <-got:
		t.Errorf("unexpected message %q", m)
	default:
	}
}

// TestTooLongIgnored: a line longer than any link is not passed on.
func TestTooLongIgnored(t *testing.T) {
	dir := tempDir(t)
	got := make(chan string, 1)
	l, err := Listen(dir, func(msg string) { got <- msg })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	long := strings.Repeat("x", maxMessage+10)
	if err := Send(context.Background(), dir, long); err == nil {
		t.Fatal("a message longer than maxMessage was sent")
	}
	if err := Send(context.Background(), dir, "short"); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "short" {
		t.Errorf("got %q", m)
	}
}
