//go:build !windows

package instance

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// socketName is the Unix socket in the config directory.
const socketName = "window.sock"

func dial(ctx context.Context, dir string) (net.Conn, string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(dir, socketName))
	return conn, "", err
}

// listen binds the socket. A socket file that nobody answers on is left
// from a window that crashed: it is replaced.
func listen(dir string) (*Listener, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, socketName)
	// The socket is made with no access for others from the start, not
	// chmod-ed after a window in which another user could connect.
	old := syscall.Umask(0o077)
	ln, err := net.Listen("unix", path)
	if errors.Is(err, syscall.EADDRINUSE) {
		if c, derr := net.Dial("unix", path); derr == nil {
			c.Close()
			syscall.Umask(old)
			return nil, errors.New("another window is running")
		}
		os.Remove(path)
		ln, err = net.Listen("unix", path)
	}
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	// net.UnixListener removes the file on Close.
	return &Listener{ln: ln, cleanup: func() {}}, nil
}

// checkToken: the socket's permissions already admit only this user.
func checkToken(line, _ string) (string, bool) { return line, true }
