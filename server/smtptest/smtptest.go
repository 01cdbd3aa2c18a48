// Package smtptest runs a real SMTP server process for tests: Debian's
// python3-aiosmtpd (run by Debian's /usr/bin/python3, which has it, not
// another python3 first on PATH) on a free loopback port, with a handler
// (embedded here) that writes each accepted message to a folder. Tests
// read the folder to see what arrived, stop the server to play an
// outage, and start it again on the same port.
package smtptest

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

//go:embed folder_handler.py
var handler []byte

// Server is one aiosmtpd process (or a stopped one, keeping its port and
// its folder of messages).
type Server struct {
	Addr string // 127.0.0.1:PORT
	dir  string // holds the handler; messages in dir/inbox
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a server on a free loopback port; it is stopped when the
// test ends. A missing aiosmtpd fails the test with the package to
// install.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if _, err := os.Stat("/usr/lib/python3/dist-packages/aiosmtpd/__main__.py"); err != nil {
		tb.Fatal("aiosmtpd not found: install the Debian package python3-aiosmtpd (make deps does)")
	}
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "folder_handler.py"), handler, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "inbox"), 0o755); err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Addr: l.Addr().String(), dir: dir}
	l.Close()
	tb.Cleanup(s.Stop)
	if err := s.Restart(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Restart starts the stopped server again on its port and waits until it
// accepts connections.
func (s *Server) Restart() error {
	if s.cmd != nil {
		return errors.New("smtp server already running")
	}
	cmd := exec.Command("/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", s.Addr, "-c", "folder_handler.Folder", filepath.Join(s.dir, "inbox"))
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "PYTHONPATH="+s.dir)
	logf, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting aiosmtpd: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			s.cmd = nil
			return fmt.Errorf("aiosmtpd exited at start: %s", log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("aiosmtpd did not listen on %s within 30 s", s.Addr)
		}
	}
}

// Stop kills the server (no error if stopped).
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Message is one message the server accepted.
type Message struct {
	From    string   // envelope sender
	To      []string // envelope recipients
	Raw     string
	Header  mail.Header
	Subject string // decoded
	Text    string // the text/plain part, decoded
	HTML    string // the text/html part, decoded
}

// Messages reads every message accepted so far, oldest first.
func (s *Server) Messages(tb testing.TB) []Message {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(s.dir, "inbox", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	type entry struct {
		m   Message
		mod time.Time
	}
	var all []entry
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var raw struct {
			From string   `json:"from"`
			To   []string `json:"to"`
			Data string   `json:"data"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			tb.Fatalf("reading %s: %v", f, err)
		}
		m, err := parse(raw.Data)
		if err != nil {
			tb.Fatalf("parsing message %s: %v\n%s", f, err, raw.Data)
		}
		m.From, m.To = raw.From, raw.To
		all = append(all, entry{m, st.ModTime()})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].mod.Before(all[j].mod) })
	out := make([]Message, len(all))
	for i, e := range all {
		out[i] = e.m
	}
	return out
}

// WaitFor waits up to timeout for at least n messages and returns all of
// them. The messages come from another process, so this polls the folder.
func (s *Server) WaitFor(tb testing.TB, n int, timeout time.Duration) []Message {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms := s.Messages(tb)
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d messages arrived within %v, want %d", len(ms), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// parse reads a message with net/mail and mime/multipart (the reader's
// side, independent of the code that wrote it).
func parse(raw string) (Message, error) {
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Raw: raw, Header: msg.Header}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("subject: %w", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return m, fmt.Errorf("content type: %w", err)
	}
	if mt != "multipart/alternative" {
		return m, fmt.Errorf("content type %s, want multipart/alternative", mt)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		} else if err != nil {
			return m, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return m, err
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "text/plain":
			m.Text = string(b)
		case "text/html":
			m.HTML = string(b)
		}
	}
	return m, nil
}
