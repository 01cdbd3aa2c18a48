package mail_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"twofold.dev/server/mail"
	"twofold.dev/server/pgtest"
	"twofold.dev/server/portal"
	"twofold.dev/server/postgres"
	"twofold.dev/server/smtptest"
	"twofold.dev/server/sqlite"
)

var t0 = time.Date(2026, 9, 2, 10, 0, 0, 0, time.UTC)

// clock is a test clock the outbox reads.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openSQLite(t *testing.T) portal.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/portal.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func smtpClient(t *testing.T, srv *smtptest.Server) *mail.SMTP {
	t.Helper()
	c, err := mail.NewSMTP(mail.SMTPConfig{Addr: srv.Addr, TLS: mail.TLSNone, From: "Twofold Portal <portal@example.com>", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNonASCIISender: a sender name outside ASCII is encoded (RFC 2047)
// and reads back the same.
func TestNonASCIISender(t *testing.T) {
	srv := smtptest.Start(t)
	st := openSQLite(t)
	c, err := mail.NewSMTP(mail.SMTPConfig{Addr: srv.Addr, TLS: mail.TLSNone, From: "Portail Zürich <portal@example.com>", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, st, "zh", "joe@example.com", t0)
	if _, err := (&mail.Outbox{Store: st, Sender: c, Now: (&clock{now: t0}).Now}).SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitFor(t, 1, 10*time.Second)[0]
	from, err := m.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Portail Zürich" || strings.Contains(m.Header.Get("From"), "ü") {
		t.Errorf("From %q: %v, %v", m.Header.Get("From"), from, err)
	}
}

func enqueue(t *testing.T, s portal.Store, id, to string, at time.Time) *portal.Mail {
	t.Helper()
	m := &portal.Mail{MessageID: id + "@portal.example.com", To: to, Subject: "Sécurité: " + id,
		Text: "Hello,\nline two " + id + " with a long line " + strings.Repeat("x", 100) + "\n.\nend", HTML: "<p>Hello <b>" + id + "</b></p>", CreatedAt: at}
	if err := s.EnqueueMail(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDeliveredToRealServer: messages reach aiosmtpd with the envelope,
// headers and both parts intact (read back with net/mail and
// mime/multipart), and are marked sent.
func TestDeliveredToRealServer(t *testing.T) {
	srv := smtptest.Start(t)
	st := openSQLite(t)
	clk := &clock{now: t0}
	a := enqueue(t, st, "a1", "joe@example.com", t0)
	enqueue(t, st, "b2", "ann@example.org", t0)
	o := &mail.Outbox{Store: st, Sender: smtpClient(t, srv), Now: clk.Now}
	if n, err := o.SendDue(context.Background()); err != nil || n != 2 {
		t.Fatalf("SendDue = %d, %v", n, err)
	}
	ms := srv.WaitFor(t, 2, 10*time.Second)
	if len(ms) != 2 {
		t.Fatalf("%d messages, want 2", len(ms))
	}
	byID := map[string]smtptest.Message{}
	for _, m := range ms {
		byID[m.Header.Get("Message-ID")] = m
	}
	got, ok := byID["<a1@portal.example.com>"]
	if !ok {
		t.Fatalf("no message with Message-ID <a1@portal.example.com>: %v", byID)
	}
	if from, err := got.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != "Twofold Portal" || from[0].Address != "portal@example.com" {
		t.Errorf("From header %q: %v %v", got.Header.Get("From"), from, err)
	}
	if got.From != "portal@example.com" || len(got.To) != 1 || got.To[0] != "joe@example.com" || got.Header.Get("To") != "joe@example.com" {
		t.Errorf("envelope %s -> %v, To %q", got.From, got.To, got.Header.Get("To"))
	}
	if got.Subject != a.Subject {
		t.Errorf("subject %q, want %q", got.Subject, a.Subject)
	}
	if strings.ReplaceAll(got.Text, "\r\n", "\n") != a.Text || got.HTML != a.HTML {
		t.Errorf("parts:\n%q\n%q\nwant\n%q\n%q", got.Text, got.HTML, a.Text, a.HTML)
	}
	if d, err := got.Header.Date(); err != nil || !d.Equal(t0) {
		t.Errorf("Date %v, %v", d, err)
	}
	if m, _ := st.OutboxMail(context.Background(), a.ID); !m.SentAt.Equal(t0) || m.Attempts != 1 {
		t.Errorf("after delivery: sent %v, attempts %d", m.SentAt, m.Attempts)
	}
	if n, err := o.SendDue(context.Background()); err != nil || n != 0 {
		t.Errorf("second SendDue = %d, %v; want nothing left", n, err)
	}
}

// TestOutageDelaysNeverDrops: the SMTP server is down when the message
// is due; the sender backs off (10 s, 20 s, 40 s on the injected clock);
// once the server is back the message arrives once.
func TestOutageDelaysNeverDrops(t *testing.T) {
	srv := smtptest.Start(t)
	st := openSQLite(t)
	clk := &clock{now: t0}
	m := enqueue(t, st, "outage", "joe@example.com", t0)
	o := &mail.Outbox{Store: st, Sender: smtpClient(t, srv), Now: clk.Now}
	ctx := context.Background()
	srv.Stop()
	for i, wait := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
		if n, err := o.SendDue(ctx); err != nil || n != 1 {
			t.Fatalf("attempt %d during the outage: %d, %v", i+1, n, err)
		}
		got, _ := st.OutboxMail(ctx, m.ID)
		if !got.SentAt.IsZero() || got.Attempts != i+1 || !got.NextAttemptAt.Equal(clk.Now().Add(wait)) || got.LastError == "" {
			t.Fatalf("after failed attempt %d: %+v, want a retry in %v", i+1, got, wait)
		}
		clk.Add(wait - time.Second)
		if n, _ := o.SendDue(ctx); n != 0 {
			t.Fatalf("claimed before its backoff ended")
		}
		clk.Add(time.Second)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if n, err := o.SendDue(ctx); err != nil || n != 1 {
		t.Fatalf("after the outage: %d, %v", n, err)
	}
	for range 3 {
		clk.Add(time.Hour)
		if n, err := o.SendDue(ctx); err != nil || n != 0 {
			t.Fatalf("sent again: %d, %v", n, err)
		}
	}
	ms := srv.WaitFor(t, 1, 10*time.Second)
	if len(ms) != 1 || ms[0].Header.Get("Message-ID") != "<outage@portal.example.com>" {
		t.Fatalf("%d messages arrived, want the one once", len(ms))
	}
}

func TestBackoff(t *testing.T) {
	o := &mail.Outbox{MinBackoff: 10 * time.Second, MaxBackoff: time.Hour}
	for _, tt := range []struct {
		attempts int
		want     time.Duration
	}{{1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second}, {9, 2560 * time.Second}, {10, time.Hour}, {500, time.Hour}} {
		if got := o.Backoff(tt.attempts); got != tt.want {
			t.Errorf("Backoff(%d) = %v, want %v", tt.attempts, got, tt.want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	for _, tt := range []struct {
		cfg  mail.SMTPConfig
		want string // "" ok, else part of the error
	}{
		{mail.SMTPConfig{Addr: "127.0.0.1:25", TLS: "none", From: "a@example.com"}, ""},
		{mail.SMTPConfig{Addr: "[::1]:25", TLS: "none", From: "a@example.com"}, ""},
		{mail.SMTPConfig{Addr: "localhost:25", TLS: "none", From: "a@example.com"}, ""},
		{mail.SMTPConfig{Addr: "smtp.example.com:587", TLS: "starttls", From: "Portal <a@example.com>"}, ""},
		{mail.SMTPConfig{Addr: "smtp.example.com:465", TLS: "tls", From: "a@example.com"}, ""},
		{mail.SMTPConfig{Addr: "smtp.example.com:25", TLS: "none", From: "a@example.com"}, "only to a loopback address"},
		{mail.SMTPConfig{Addr: "192.0.2.1:25", TLS: "none", From: "a@example.com"}, "only to a loopback address"},
		{mail.SMTPConfig{Addr: "smtp.example.com:25", TLS: "ssl", From: "a@example.com"}, "want starttls, tls or none"},
		{mail.SMTPConfig{Addr: "smtp.example.com", TLS: "tls", From: "a@example.com"}, "want HOST:PORT"},
		{mail.SMTPConfig{Addr: "smtp.example.com:25", TLS: "tls", From: "not an address"}, "not an e-mail address"},
		{mail.SMTPConfig{Addr: "smtp.example.com:25", TLS: "tls"}, "not an e-mail address"},
	} {
		err := tt.cfg.Check()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Check(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// TestStartTLSRequired: a server that does not offer STARTTLS gets no
// message in clear under the default mode.
func TestStartTLSRequired(t *testing.T) {
	srv := smtptest.Start(t)
	c, err := mail.NewSMTP(mail.SMTPConfig{Addr: srv.Addr, TLS: mail.TLSStartTLS, From: "portal@example.com", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Send(context.Background(), &portal.Mail{MessageID: "x@example.com", To: "joe@example.com", CreatedAt: t0})
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("Send = %v, want a refusal", err)
	}
	if ms := srv.Messages(t); len(ms) != 0 {
		t.Errorf("%d messages sent in clear", len(ms))
	}
}

// TestTwoInstancesPostgres: two senders, each with its own connection
// pool to one PostgreSQL database as two portal instances have, run at
// once on a real clock; every message arrives exactly once.
func TestTwoInstancesPostgres(t *testing.T) {
	cluster, err := pgtest.New()
	if err != nil {
		t.Fatalf("the PostgreSQL outbox test needs a throwaway PostgreSQL server: %v", err)
	}
	defer cluster.Close()
	url, err := cluster.CreateDB("outbox")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var dbs []*postgres.DB
	for range 2 {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	srv := smtptest.Start(t)
	const n = 60
	now := time.Now()
	for i := range n {
		enqueue(t, dbs[i%2], fmt.Sprintf("pg%d", i), fmt.Sprintf("user%d@example.com", i), now)
	}
	var wg sync.WaitGroup
	for _, db := range dbs {
		o := &mail.Outbox{Store: db, Sender: smtpClient(t, srv), Batch: 3, Poll: 10 * time.Millisecond}
		wg.Go(func() { o.Run(ctx) })
	}
	srv.WaitFor(t, n, 60*time.Second)
	// Let both senders look again before counting.
	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()
	ms := srv.Messages(t)
	seen := map[string]int{}
	for _, m := range ms {
		seen[m.Header.Get("Message-ID")]++
		if want := "user" + strings.TrimSuffix(strings.TrimPrefix(m.Header.Get("Message-ID"), "<pg"), "@portal.example.com>") + "@example.com"; m.To[0] != want {
			t.Errorf("%s went to %v, want %s", m.Header.Get("Message-ID"), m.To, want)
		}
	}
	if len(ms) != n || len(seen) != n {
		t.Errorf("%d messages, %d distinct; want %d once each", len(ms), len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s arrived %d times", id, c)
		}
	}
}
