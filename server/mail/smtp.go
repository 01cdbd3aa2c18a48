// Package mail delivers the portal's outbox: an SMTP client (net/smtp)
// that writes each message as plain text plus HTML, and a sender that
// leases due messages from the store, sends them, and retries failures
// with exponential backoff.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"twofold.dev/server/portal"
)

// TLS modes of the connection to the SMTP server.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, required
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no TLS: loopback addresses only
)

// SMTPConfig says how to reach the SMTP server.
type SMTPConfig struct {
	Addr     string // host:port
	TLS      string // TLSStartTLS, TLSImplicit or TLSNone
	User     string // empty: no authentication
	Password string
	From     string // the From address
	// Timeout bounds one delivery (connection to QUIT); 0 means 30 s.
	Timeout time.Duration
	// TLSConfig overrides the TLS settings (tests with their own CA).
	TLSConfig *tls.Config
}

// Check validates the configuration: a known TLS mode, no plain text
// connection but to a loopback address, a valid From address.
func (c SMTPConfig) Check() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("smtp address %q: want HOST:PORT", c.Addr)
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !loopback(host) {
			return fmt.Errorf("smtp tls none is allowed only to a loopback address (localhost, 127.0.0.1, ::1), not %s: passwords and reset links would cross the network in clear", host)
		}
	default:
		return fmt.Errorf("smtp tls %q: want starttls, tls or none", c.TLS)
	}
	if _, err := mail.ParseAddress(c.From); err != nil || c.From == "" {
		return fmt.Errorf("mail from %q: not an e-mail address", c.From)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SMTP sends messages to one SMTP server, one connection per message.
type SMTP struct {
	cfg SMTPConfig
}

// NewSMTP checks cfg and returns a client.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg}, nil
}

// Send delivers m. An error means the server did not take it (or we
// cannot tell): the caller tries again later.
func (s *SMTP) Send(ctx context.Context, m *portal.Mail) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	tlsCfg := s.cfg.TLSConfig
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	var d net.Dialer
	var conn net.Conn
	var err error
	if s.cfg.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsCfg}).DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return fmt.Errorf("connecting to smtp server %s: %w", s.cfg.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp greeting from %s: %w", s.cfg.Addr, err)
	}
	defer c.Close()
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp server %s does not offer STARTTLS (use --smtp-tls tls, or none on loopback)", s.cfg.Addr)
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("smtp starttls with %s: %w", s.cfg.Addr, err)
		}
	}
	if s.cfg.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.User, s.cfg.Password, host)); err != nil {
			return fmt.Errorf("smtp authentication as %s: %w", s.cfg.User, err)
		}
	}
	from, err := mail.ParseAddress(s.cfg.From)
	if err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("smtp RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := Write(w, s.cfg.From, m, rand.Reader); err != nil {
		return fmt.Errorf("writing message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of data: %w", err)
	}
	// The message is accepted: a failed QUIT changes nothing.
	c.Quit()
	return nil
}

// Write writes m as an RFC 5322 message: multipart/alternative with the
// text and the HTML, both quoted-printable, CRLF line ends. Message-ID is
// m.MessageID, the same on every attempt. random makes the boundary.
func Write(w io.Writer, from string, m *portal.Mail, random io.Reader) error {
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.MessageID, "\r\n<>") || strings.ContainsAny(from, "\r\n") {
		return errors.New("header value with a line break")
	}
	var b [12]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return err
	}
	boundary := fmt.Sprintf("twofold-%x", b)
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	var buf bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	h("From", fromAddr.String()) // a non-ASCII name RFC 2047-encoded
	h("To", m.To)
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", m.CreatedAt.UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.MessageID+">")
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	h("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	buf.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		fmt.Fprintf(&buf, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, part.typ)
		qp := quotedprintable.NewWriter(&buf)
		if _, err := qp.Write([]byte(strings.ReplaceAll(part.body, "\n", "\r\n"))); err != nil {
			return err
		}
		if err := qp.Close(); err != nil {
			return err
		}
		buf.WriteString("\r\n")
	}
	fmt.Fprintf(&buf, "--%s--\r\n", boundary)
	_, err = w.Write(buf.Bytes())
	return err
}
