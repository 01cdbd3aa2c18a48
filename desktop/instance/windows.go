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
)

// addrName is the file in the config directory with the window's loopback
// address and token: "127.0.0.1:PORT TOKEN".
const addrName = "window.addr"

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
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(raw[:])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
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
		return nil, err
	}
	return &Listener{ln: ln, token: token, cleanup: func() { os.Remove(path) }}, nil
}

// checkToken splits "TOKEN MSG" and compares the token in constant time.
func checkToken(line, token string) (string, bool) {
	got, msg, ok := strings.Cut(line, " ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		return "", false
	}
	return msg, true
}
