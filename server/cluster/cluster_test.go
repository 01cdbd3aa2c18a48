package cluster

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"twofold.dev/server/pgtest"
)

// One portal binary and one PostgreSQL server for the whole package; each
// test gets a database of its own.
var (
	portalBin string
	pg        *pgtest.Cluster
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "twofold-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if portalBin, err = Build(context.Background(), dir); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	// Not a skip: running on PostgreSQL is part of the product.
	if pg, err = pgtest.New(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the cluster tests need a throwaway PostgreSQL server: %v\n", err)
		return 1
	}
	defer pg.Close()
	return m.Run()
}

const password = "correct horse battery"

var dbSeq atomic.Int64

// newDatabase creates an empty database and returns its URL, with a
// password in it that must never show up in a log or a page.
func newDatabase(t *testing.T, c *pgtest.Cluster) string {
	t.Helper()
	url, err := c.CreateDB(fmt.Sprintf("cluster_%d", dbSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	// trust authentication ignores the password; the portal must still
	// keep it to itself.
	return strings.Replace(url, "://"+pgtest.User+"@", "://"+pgtest.User+":"+dbPassword+"@", 1)
}

const dbPassword = "db-pw-4f7c1e"

// keyFile writes a secret key file for the instances of one test.
func keyFile(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	crand.Read(key)
	path := filepath.Join(t.TempDir(), "secret.key")
	if err := WriteKeyFile(path, key); err != nil {
		t.Fatal(err)
	}
	return path
}

// startInstances runs n portals on database (SQLite in a temp dir when
// empty) sharing one secret key; they stop at the end of the test, whose
// logs must hold no secret.
func startInstances(t *testing.T, n int, database string, secrets ...string) []*Instance {
	t.Helper()
	key := keyFile(t)
	insts := make([]*Instance, n)
	for i := range insts {
		in := &Instance{Bin: portalBin, Name: string(rune('A' + i)), Data: t.TempDir(), Database: database, SecretKeyFile: key}
		if err := in.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		insts[i] = in
		t.Cleanup(func() {
			if err := in.Stop(); err != nil {
				t.Errorf("instance %s did not shut down cleanly: %v", in.Name, err)
			}
			checkLog(t, in, secrets...)
			if t.Failed() {
				for _, line := range strings.Split(in.Log(), "\n") {
					if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
						t.Logf("instance %s: %s", in.Name, line)
					}
				}
			}
		})
	}
	return insts
}

// checkLog fails the test if the instance logged a secret or a panic.
func checkLog(t *testing.T, in *Instance, secrets ...string) {
	t.Helper()
	log := in.Log()
	for _, s := range append([]string{password, dbPassword, "goroutine "}, secrets...) {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("instance %s logged %q", in.Name, s)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantStatus(t *testing.T, what string, r *Response, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d (%s)", what, r.Status, want, r.Error())
	}
}

func me(t *testing.T, c *Client, base string) int {
	t.Helper()
	code, err := c.Me(context.Background(), base)
	if err != nil {
		t.Fatalf("GET /api/v1/me on %s: %v", base, err)
	}
	return code
}

func TestSessionAcrossInstances(t *testing.T) {
	ctx := context.Background()
	insts := startInstances(t, 2, newDatabase(t, pg))
	a, b := insts[0].URL(), insts[1].URL()

	joe := NewClient(nil)
	must(t, joe.SignUp(ctx, a, "joe", password))
	if got := me(t, joe, b); got != http.StatusOK {
		t.Fatalf("session made on A, GET /me on B: %d, want 200", got)
	}
	// A second tab with the same cookie, then logout on A: the session
	// ends everywhere, not just in the tab that logged out.
	tab := joe.Copy(b)
	must(t, joe.Logout(ctx, a))
	if got := me(t, tab, b); got != http.StatusUnauthorized {
		t.Errorf("after logout on A, the same cookie on B: %d, want 401", got)
	}
	if got := me(t, tab, a); got != http.StatusUnauthorized {
		t.Errorf("after logout on A, the same cookie on A: %d, want 401", got)
	}
}

func TestCodeOnceAcrossInstances(t *testing.T) {
	ctx := context.Background()
	insts := startInstances(t, 2, newDatabase(t, pg))
	a, b := insts[0].URL(), insts[1].URL()
	k, step, _, err := NewClient(nil).Enroll(ctx, a, "ann", password)
	must(t, err)

	onA := NewClient(nil)
	if req, err := onA.Login(ctx, a, "ann", password); err != nil || !req {
		t.Fatalf("password on A: code required %v, %v", req, err)
	}
	r, err := onA.LoginCode(ctx, a, Code(k, step+1))
	wantStatus(t, "a fresh code on A", r, err, http.StatusOK)

	onB := NewClient(nil)
	if req, err := onB.Login(ctx, b, "ann", password); err != nil || !req {
		t.Fatalf("password on B: code required %v, %v", req, err)
	}
	r, err = onB.LoginCode(ctx, b, Code(k, step+1))
	wantStatus(t, "the code accepted on A, again on B", r, err, http.StatusUnauthorized)
	if !strings.Contains(r.Error(), "already used") {
		t.Errorf("replay on B: message %q does not say the code was already used", r.Error())
	}
	r, err = onB.LoginCode(ctx, b, Code(k, step))
	wantStatus(t, "the code that verified the enrollment on A, on B", r, err, http.StatusUnauthorized)
	if got := me(t, onB, b); got != http.StatusUnauthorized {
		t.Errorf("after two refused codes, GET /me on B: %d, want 401", got)
	}
}

func TestOneCodeFiftyConcurrentSubmissions(t *testing.T) {
	ctx := context.Background()
	insts := startInstances(t, 2, newDatabase(t, pg))
	bases := []string{insts[0].URL(), insts[1].URL()}
	k, step, _, err := NewClient(nil).Enroll(ctx, bases[0], "bob", password)
	must(t, err)

	// 50 sessions that passed the password, half on each instance. Four
	// at a time: the account's password counter never reaches the lock.
	const n = 50
	clients := make([]*Client, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range clients {
		clients[i] = NewClient(nil)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if req, err := clients[i].Login(ctx, bases[i%2], "bob", password); err != nil || !req {
				t.Errorf("password %d: code required %v, %v", i, req, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	code := Code(k, step+1)
	statuses := make([]int, n)
	start := make(chan struct{})
	for i, c := range clients {
		wg.Go(func() {
			<-start
			r, err := c.LoginCode(ctx, bases[i%2], code)
			if err != nil {
				t.Errorf("submission %d: %v", i, err)
				return
			}
			statuses[i] = r.Status
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	signedIn := 0
	for i, s := range statuses {
		count[s]++
		if me(t, clients[i], bases[(i+1)%2]) == http.StatusOK {
			signedIn++
		}
	}
	if count[http.StatusOK] != 1 || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != n-1 {
		t.Errorf("50 concurrent submissions of one code over A and B: statuses %v; want one 200, the rest 401 or 429", count)
	}
	if signedIn != 1 {
		t.Errorf("%d sessions are signed in after the race, want 1", signedIn)
	}
}

func TestLockoutAcrossInstances(t *testing.T) {
	ctx := context.Background()
	insts := startInstances(t, 2, newDatabase(t, pg))
	a, b := insts[0].URL(), insts[1].URL()
	k, step, _, err := NewClient(nil).Enroll(ctx, a, "cat", password)
	must(t, err)
	onA, onB := NewClient(nil), NewClient(nil)
	for _, x := range []struct {
		c    *Client
		base string
	}{{onA, a}, {onB, b}} {
		if req, err := x.c.Login(ctx, x.base, "cat", password); err != nil || !req {
			t.Fatalf("password: code required %v, %v", req, err)
		}
	}
	// Five wrong codes, alternating A and B: one counter for the account.
	for i := range 5 {
		c, base := onA, a
		if i%2 == 1 {
			c, base = onB, b
		}
		r, err := c.LoginCode(ctx, base, wrongCode(k, step+1, rand.New(rand.NewPCG(1, uint64(i)))))
		wantStatus(t, fmt.Sprintf("wrong code %d on %s", i+1, []string{"A", "B"}[i%2]), r, err, http.StatusUnauthorized)
	}
	// Locked on both, for the right code too.
	for _, x := range []struct {
		name string
		c    *Client
		base string
	}{{"B", onB, b}, {"A", onA, a}} {
		r, err := x.c.LoginCode(ctx, x.base, Code(k, step+1))
		wantStatus(t, "the right code on "+x.name+" after five wrong ones over A and B", r, err, http.StatusTooManyRequests)
		if !strings.Contains(r.Error(), "try again in") {
			t.Errorf("lockout on %s: message %q", x.name, r.Error())
		}
	}
}

func TestDisableOnOneEndsSessionsOnOther(t *testing.T) {
	ctx := context.Background()
	insts := startInstances(t, 2, newDatabase(t, pg))
	a, b := insts[0].URL(), insts[1].URL()
	first := NewClient(nil)
	k, step, recovery, err := first.Enroll(ctx, a, "dan", password)
	must(t, err)
	if len(recovery) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(recovery))
	}
	// A second device signs in on B with password and code.
	second := NewClient(nil)
	if req, err := second.Login(ctx, b, "dan", password); err != nil || !req {
		t.Fatalf("password on B: code required %v, %v", req, err)
	}
	r, err := second.LoginCode(ctx, b, Code(k, step+1))
	wantStatus(t, "code on B", r, err, http.StatusOK)
	if got := me(t, second, b); got != http.StatusOK {
		t.Fatalf("second device on B: %d, want 200", got)
	}

	must(t, first.Disable(ctx, a, password, recovery[0]))
	if got := me(t, second, b); got != http.StatusUnauthorized {
		t.Errorf("2FA off on A, the other session on B: %d, want 401", got)
	}
	if got := me(t, second, a); got != http.StatusUnauthorized {
		t.Errorf("2FA off on A, the other session on A: %d, want 401", got)
	}
	if got := me(t, first, b); got != http.StatusOK {
		t.Errorf("the session that turned 2FA off, on B: %d, want 200", got)
	}
	if req, err := NewClient(nil).Login(ctx, b, "dan", password); err != nil || req {
		t.Errorf("sign-in on B after 2FA off: code required %v, %v; want none", req, err)
	}
}

// TestClientIPFromTrustedProxyOnly runs one instance that trusts
// 127.0.0.1 as a proxy and one that trusts nobody: X-Forwarded-For counts
// only on the first.
func TestClientIPFromTrustedProxyOnly(t *testing.T) {
	ctx := context.Background()
	database, key := newDatabase(t, pg), keyFile(t)
	var bases []string
	for i, args := range [][]string{{"--trusted-proxies", "127.0.0.1"}, nil} {
		in := &Instance{Bin: portalBin, Name: string(rune('A' + i)), Data: t.TempDir(), Database: database, SecretKeyFile: key, Args: args}
		must(t, in.Start(ctx))
		t.Cleanup(func() { in.Stop(); checkLog(t, in) })
		bases = append(bases, in.URL())
	}
	c := NewClient(nil)
	c.ForwardedFor = "203.0.113.9"
	must(t, c.SignUp(ctx, bases[0], "ivy", password)) // through the "proxy"
	if _, err := c.Login(ctx, bases[1], "ivy", password); err != nil {
		t.Fatal(err)
	}
	r, err := c.Get(ctx, bases[1], "/api/v1/activity")
	wantStatus(t, "activity", r, err, http.StatusOK)
	ips := map[string]string{}
	events, _ := r.Body["events"].([]any)
	for _, e := range events {
		m, _ := e.(map[string]any)
		kind, _ := m["kind"].(string)
		ip, _ := m["ip"].(string)
		ips[kind] = ip
	}
	if ips["signup"] != "203.0.113.9" {
		t.Errorf("sign-up through the trusted proxy recorded IP %q, want the forwarded 203.0.113.9", ips["signup"])
	}
	if ips["signin"] != "127.0.0.1" {
		t.Errorf("sign-in on the instance that trusts no proxy recorded IP %q, want the peer 127.0.0.1", ips["signin"])
	}
}

// The device cookie across instances: guesses spread over A and B lock
// unknown clients on both; the owner's browser, which signed up on A,
// still signs in on B; and the right password from an address never
// keeps that address locked.
func TestDeviceCookieAcrossInstances(t *testing.T) {
	ctx := context.Background()
	insts := startInstances(t, 2, newDatabase(t, pg))
	a, b := insts[0].URL(), insts[1].URL()
	owner := NewClient(nil)
	must(t, owner.SignUp(ctx, a, "dora", password))
	must(t, owner.Logout(ctx, a))
	attacker := NewClient(nil)
	for i := range 5 {
		base := []string{a, b}[i%2]
		r, err := attacker.Post(ctx, base, "/api/v1/login", map[string]string{"username": "dora", "password": fmt.Sprintf("guess %d", i)})
		wantStatus(t, fmt.Sprintf("guess %d", i+1), r, err, http.StatusUnauthorized)
	}
	for _, base := range []string{a, b} {
		r, err := NewClient(nil).Post(ctx, base, "/api/v1/login", map[string]string{"username": "dora", "password": password})
		wantStatus(t, "the right password from an unknown client after five guesses", r, err, http.StatusTooManyRequests)
	}
	for _, base := range []string{b, a} {
		if req, err := owner.Login(ctx, base, "dora", password); err != nil || req {
			t.Fatalf("the owner's browser on %s: code required %v, %v", base, req, err)
		}
	}
}
