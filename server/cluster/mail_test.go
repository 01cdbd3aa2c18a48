package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"twofold.dev/server/smtptest"
	_ "twofold.dev/server/sqlite" // the driver, for counting rows
)

// Mail through real portal processes and a real SMTP server process
// (aiosmtpd): an outage or a kill -9 delays mail and never drops or
// duplicates it; two instances on PostgreSQL send each message once.

func mailArgs(srv *smtptest.Server) []string {
	return []string{"--smtp-addr", srv.Addr, "--smtp-tls", "none", "--mail-from", "Portal <portal@example.com>", "--public-url", "https://portal.example.com"}
}

func signUpWithEmail(t *testing.T, base, name string) {
	t.Helper()
	r, err := NewClient(nil).Post(context.Background(), base, "/api/v1/signup", map[string]string{
		"username": name, "password": password, "display_name": name, "email": name + "@example.com"})
	wantStatus(t, "sign-up with e-mail", r, err, http.StatusCreated)
}

// onceEach checks that the messages are n, to name0..n-1@example.com,
// each Message-ID once.
func onceEach(t *testing.T, ms []smtptest.Message, names ...string) {
	t.Helper()
	ids, to := map[string]int{}, map[string]int{}
	for _, m := range ms {
		ids[m.Header.Get("Message-ID")]++
		to[strings.Join(m.To, ",")]++
	}
	if len(ms) != len(names) || len(ids) != len(names) {
		t.Errorf("%d messages with %d Message-IDs, want %d once each: %v", len(ms), len(ids), len(names), to)
	}
	for _, n := range names {
		if to[n+"@example.com"] != 1 {
			t.Errorf("%s@example.com got %d messages, want 1", n, to[n+"@example.com"])
		}
	}
}

// settle waits a few sender rounds (poll 2 s) so that a duplicate would
// have arrived, then reads the folder.
func settle(t *testing.T, srv *smtptest.Server) []smtptest.Message {
	time.Sleep(5 * time.Second)
	return srv.Messages(t)
}

// unsent counts the outbox rows not sent, with SQL of its own on the
// database file.
func unsent(t *testing.T, data string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "portal.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitLog waits until the instance logged s.
func waitLog(t *testing.T, in *Instance, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(in.Log(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("instance %s did not log %q:\n%s", in.Name, s, in.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMailOutageRealProcesses: the SMTP server is down when the change
// is made; it comes back; the mail arrives once.
func TestMailOutageRealProcesses(t *testing.T) {
	srv := smtptest.Start(t)
	srv.Stop()
	in := &Instance{Bin: portalBin, Name: "A", Data: t.TempDir(), Args: mailArgs(srv)}
	must(t, in.Start(context.Background()))
	t.Cleanup(func() { in.Stop() })
	signUpWithEmail(t, in.URL(), "joe")
	waitLog(t, in, "mail not delivered, will retry")
	must(t, srv.Restart())
	srv.WaitFor(t, 1, 60*time.Second) // the first retry comes 10 s after the failure
	onceEach(t, settle(t, srv), "joe")
	checkLog(t, in, password)
}

// TestMailSurvivesKill9: with mail in the outbox (the SMTP server down),
// the portal is killed with SIGKILL; after the restart the mail arrives,
// once.
func TestMailSurvivesKill9(t *testing.T) {
	srv := smtptest.Start(t)
	srv.Stop()
	data := t.TempDir()
	in := &Instance{Bin: portalBin, Name: "A", Data: data, Args: mailArgs(srv)}
	must(t, in.Start(context.Background()))
	t.Cleanup(func() { in.Stop() })
	signUpWithEmail(t, in.URL(), "joe")
	signUpWithEmail(t, in.URL(), "ann")
	waitLog(t, in, "mail not delivered, will retry")
	must(t, in.Kill())
	if n := unsent(t, data); n != 2 {
		t.Fatalf("%d unsent messages in the outbox after the kill, want 2", n)
	}
	must(t, srv.Restart())
	if len(srv.Messages(t)) != 0 {
		t.Fatal("mail arrived while the portal was dead")
	}
	must(t, in.Start(context.Background()))
	srv.WaitFor(t, 2, 60*time.Second)
	onceEach(t, settle(t, srv), "joe", "ann")
}

// TestMailTwoInstancesOnPostgres: two portal processes on one database,
// both with a sender; sign-ups land on both; every message arrives once.
func TestMailTwoInstancesOnPostgres(t *testing.T) {
	srv := smtptest.Start(t)
	database := newDatabase(t, pg)
	key := keyFile(t)
	var insts []*Instance
	for i := range 2 {
		in := &Instance{Bin: portalBin, Name: string(rune('A' + i)), Data: t.TempDir(), Database: database, SecretKeyFile: key, Args: mailArgs(srv)}
		must(t, in.Start(context.Background()))
		t.Cleanup(func() { in.Stop(); checkLog(t, in, password, dbPassword) })
		insts = append(insts, in)
	}
	var names []string
	for i := range 20 {
		name := fmt.Sprintf("user%d", i)
		signUpWithEmail(t, insts[i%2].URL(), name)
		names = append(names, name)
	}
	srv.WaitFor(t, len(names), 60*time.Second)
	onceEach(t, settle(t, srv), names...)
	sent := map[string]bool{}
	for _, in := range insts {
		if strings.Contains(in.Log(), "mail sent") {
			sent[in.Name] = true
		}
	}
	t.Logf("instances that sent mail: %v", sent)
}
