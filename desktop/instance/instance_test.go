package instance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestSendReachesTheWindow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
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
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(dir, socketName))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("socket mode %v: others may connect", fi.Mode().Perm())
		}
	}
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

// TestStaleSocketReplaced: a window that crashed leaves its socket file;
// the next window takes over.
func TestStaleSocketReplaced(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Windows channel is a file rewritten at every start") // not a missing tool
	}
	dir := t.TempDir()
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
