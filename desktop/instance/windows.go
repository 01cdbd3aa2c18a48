//go:build windows

package instance

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// addrName is the file in the config directory with the window's loopback
// address and token: "127.0.0.1:PORT TOKEN".
const addrName = "window.addr"

// lockName is the file the running window holds open with no sharing, so
// that a second window cannot claim the channel (two launches at once).
// Windows closes it when the process ends, even in a crash: no stale lock.
const lockName = "window.lock"

// errSharingViolation is ERROR_SHARING_VIOLATION, which package syscall
// does not name.
const errSharingViolation = syscall.Errno(32)

func dial(ctx context.Context, dir string) (net.Conn, string, error) {
	data, err := os.ReadFile(filepath.Join(dir, addrName))
	if err != nil {
		return nil, "", err
	}
	addr, token, ok := strings.Cut(strings.TrimSpace(string(data)), " ")
	if !ok || !strings.HasPrefix(addr, "127.0.0.1:") || len(token) != 64 {
		return nil, "", errors.New("unreadable " + addrName)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	return conn, token + " ", err
}

func listen(dir string) (*Listener, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := holdLock(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		syscall.CloseHandle(lock)
		return nil, err
	}
	token := hex.EncodeToString(raw[:])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		syscall.CloseHandle(lock)
		return nil, err
	}
	path := filepath.Join(dir, addrName)
	tmp, err := os.CreateTemp(dir, "."+addrName+".tmp*")
	if err == nil {
		_, err = fmt.Fprintf(tmp, "%s %s\n", ln.Addr(), token)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path) // replaces a crashed window's file
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		ln.Close()
		syscall.CloseHandle(lock)
		return nil, err
	}
	return &Listener{ln: ln, token: token, cleanup: func() {
		os.Remove(path)
		syscall.CloseHandle(lock)
		os.Remove(filepath.Join(dir, lockName)) // fails harmlessly if a new window holds it
	}}, nil
}

// holdLock opens path for this process alone (share mode 0): while it is
// open, another window's open fails with a sharing violation.
func holdLock(path string) (syscall.Handle, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	h, err := syscall.CreateFile(p, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
		syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if errors.Is(err, errSharingViolation) {
		return 0, errors.New("another window is running")
	}
	if err != nil {
		return 0, err
	}
	return h, nil
}

// checkToken splits "TOKEN MSG" and compares the token in constant time.
func checkToken(line, token string) (string, bool) {
	got, msg, ok := strings.Cut(line, " ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		return "", false
	}
	return msg, true
}
