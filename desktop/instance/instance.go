// Package instance keeps one window per user and config directory: a
// second launch hands its argument (an otpauth:// link, or nothing) to the
// window already running, which brings itself to the front, instead of
// opening another window.
//
// The channel lives in the config directory, so only its owner can use it:
// a Unix socket (mode 0600, in a 0700 directory) on Linux and macOS; on
// Windows a loopback TCP port whose address and random token are in a file
// there (the user's AppData is readable by that user only), because Wine
// and older Windows lack AF_UNIX.
package instance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Handler receives each message a later launch sends; "" means "just come
// to the front". It runs on the listener's goroutine.
type Handler func(msg string)

// ErrNotRunning means no window answered.
var ErrNotRunning = errors.New("no window running")

// maxMessage bounds what a launch may send: a long otpauth-migration link
// fits many times over.
const maxMessage = 64 << 10

// ack is the window's answer once it has taken the message.
const ack = "ok"

// Send hands msg to the window running for dir, and returns when that
// window has taken it. It returns ErrNotRunning (wrapped) when there is
// none, so the caller opens the window itself.
func Send(ctx context.Context, dir, msg string) error {
	if strings.ContainsAny(msg, "\r\n") || len(msg) > maxMessage {
		return errors.New("handing over to the running window: the argument is not one link")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, token, err := dial(ctx, dir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	if _, err := fmt.Fprintf(conn, "%s%s\n", token, msg); err != nil {
		return fmt.Errorf("handing over to the running window: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != ack {
		return fmt.Errorf("handing over to the running window: no answer (%v)", err)
	}
	return nil
}

// Listener is the running window's end of the channel.
type Listener struct {
	ln      net.Listener
	token   string
	cleanup func()
}

// Listen claims dir's channel for this process and passes every message
// to h until Close. It fails when another window holds it (try Send
// first) or the channel cannot be made; the caller then opens its window
// without it.
func Listen(dir string, h Handler) (*Listener, error) {
	l, err := listen(dir)
	if err != nil {
		return nil, fmt.Errorf("listening for later launches: %w", err)
	}
	go l.serve(h)
	return l, nil
}

// Close stops listening and removes the channel's files.
func (l *Listener) Close() error {
	err := l.ln.Close()
	l.cleanup()
	return err
}

func (l *Listener) serve(h Handler) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return // closed
		}
		go l.handle(conn, h)
	}
}

func (l *Listener) handle(conn net.Conn, h Handler) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	// One line: the token, if any, and the message; nothing longer is read.
	r := bufio.NewReader(io.LimitReader(conn, int64(len(l.token)+1+maxMessage+1)))
	line, err := r.ReadString('\n')
	if err != nil {
		return // cut short or too long
	}
	msg, ok := checkToken(strings.TrimSuffix(line, "\n"), l.token)
	if !ok {
		return // not one of ours: say nothing
	}
	h(msg)
	fmt.Fprintln(conn, ack)
}
