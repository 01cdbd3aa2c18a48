// Package xvfb starts private X servers for the checks that drive real
// windows: the smoke test, the end-to-end run, the bench. It is the one
// place an Xvfb is started, and Start returns only once an X client has
// completed its handshake with the new server.
package xvfb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running Xvfb.
type Server struct {
	// Display is the DISPLAY value of the server, such as ":97".
	Display string

	cmd    *exec.Cmd
	exited chan struct{}
	out    *syncBuffer
	once   sync.Once
}

// Start runs Xvfb with one screen of width×height and returns once a
// client can connect. Xvfb picks a free display number itself
// (-displayfd), so two tests never race for one, and runs with -noreset:
// by default an X server resets when its last client leaves, and a client
// connecting during the reset fails ("Failed to open display").
func Start(ctx context.Context, width, height int) (*Server, error) {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		return nil, errors.New("xvfb: Xvfb not found: install the Debian package xvfb (make deps does)")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("xvfb: %w", err)
	}
	defer r.Close()
	out := &syncBuffer{}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", width, height),
		"-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the child
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("xvfb: starting Xvfb: %w", err)
	}
	w.Close()
	s := &Server{cmd: cmd, exited: make(chan struct{}), out: out}
	go func() { cmd.Wait(); close(s.exited) }()

	// Xvfb writes the display number once it listens; a closed pipe
	// without a number means it exited.
	number := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		number <- strings.TrimSpace(line)
	}()
	fail := func(err error) (*Server, error) {
		s.Close()
		return nil, fmt.Errorf("xvfb: %w; its output: %s", err, strings.TrimSpace(out.String()))
	}
	select {
	case n := <-number:
		if _, err := strconv.Atoi(n); err != nil {
			return fail(errors.New("the X server exited without a display"))
		}
		s.Display = ":" + n
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	// The server listens; wait until it answers a client's handshake.
	for {
		err := handshake(ctx, s.Display)
		if err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			return fail(fmt.Errorf("the X server on %s exited", s.Display))
		case <-ctx.Done():
			return fail(fmt.Errorf("no X client could connect to %s: %v", s.Display, err))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// handshake opens an X connection to display on its Unix socket and reads
// the server's answer to the connection setup (X11 protocol, section 8).
func handshake(ctx context.Context, display string) error {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "unix", "/tmp/.X11-unix/X"+strings.TrimPrefix(display, ":"))
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	// Little-endian, protocol 11.0, no authorisation (Xvfb without -auth).
	setup := []byte{'l', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(setup[2:], 11)
	if _, err := c.Write(setup); err != nil {
		return err
	}
	var head [8]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		return err
	}
	if head[0] != 1 {
		return fmt.Errorf("the server refused the connection (status %d)", head[0])
	}
	return nil
}

// Env is os.Environ with DISPLAY set to the server and a UTF-8 locale
// (Fyne logs an error for the C locale).
func (s *Server) Env() []string {
	return append(os.Environ(), "DISPLAY="+s.Display, "LANG=en_US.UTF-8")
}

// Close stops the server and waits for it to exit.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	return nil
}

// StartT starts a server for a test and stops it when the test ends.
func StartT(tb testing.TB, width, height int) *Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, width, height)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// syncBuffer is Xvfb's output, written by exec's copying goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
