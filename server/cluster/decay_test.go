package cluster

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/server/postgres"
	"twofold.dev/server/web"
)

// sharedClock is the one injected clock of in-process instances: the
// test moves it, nobody sleeps.
type sharedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *sharedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *sharedClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// inProcess is a portal instance built as main builds it (its own
// PostgreSQL pool, service and HTTP server) inside the test process, so
// that its clock is the test's.
type inProcess struct {
	URL string
	db  *postgres.DB
	svc *portal.Service
}

// startInProcess runs n instances on one database with one secret key
// and the clock now; opts change the default policy.
func startInProcess(t *testing.T, n int, database string, now func() time.Time, opts ...func(*portal.Config)) []*inProcess {
	t.Helper()
	master := make([]byte, portal.MasterKeySize)
	if _, err := io.ReadFull(crand.Reader, master); err != nil {
		t.Fatal(err)
	}
	insts := make([]*inProcess, n)
	for i := range insts {
		db, err := postgres.Open(context.Background(), database)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		keys, err := portal.NewKeys(master)
		must(t, err)
		cfg := portal.DefaultConfig()
		for _, o := range opts {
			o(&cfg)
		}
		svc, err := portal.NewService(db, keys, cfg, now, crand.Reader)
		must(t, err)
		srv, err := web.NewServer(web.Config{}, svc, slog.New(slog.DiscardHandler))
		must(t, err)
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		insts[i] = &inProcess{URL: ts.URL, db: db, svc: svc}
	}
	return insts
}

// TestDecayAcrossInstances: two instances on one PostgreSQL database and
// one clock. Password failures on A count on B; within the window they
// keep counting after a lock ends; past the window they stop counting on
// both; the owner's browser, with the device cookie A issued, signs in on
// B while unknown clients are locked; and B's prune removes the counters
// A wrote.
func TestDecayAcrossInstances(t *testing.T) {
	ctx := context.Background()
	clk := &sharedClock{t: time.Date(2026, 9, 2, 9, 0, 1, 0, time.UTC)}
	insts := startInProcess(t, 2, newDatabase(t, pg), clk.Now)
	a, b := insts[0].URL, insts[1].URL
	name := map[string]string{a: "A", b: "B"}
	window := portal.DefaultConfig().PasswordLimit.Window

	owner := NewClient(nil)
	must(t, owner.SignUp(ctx, a, "erin", password))
	must(t, owner.Logout(ctx, a)) // the device cookie stays
	guess := func(base string, i int, want int) {
		t.Helper()
		r, err := NewClient(nil).Post(ctx, base, "/api/v1/login", map[string]string{"username": "erin", "password": fmt.Sprintf("guess %d", i)})
		wantStatus(t, fmt.Sprintf("guess %d on %s", i, name[base]), r, err, want)
	}
	rightPassword := func(base string, want int) {
		t.Helper()
		r, err := NewClient(nil).Post(ctx, base, "/api/v1/login", map[string]string{"username": "erin", "password": password})
		wantStatus(t, "the right password from an unknown client on "+name[base], r, err, want)
	}

	// Four guesses on A, a minute apart: no lock yet (five are free).
	for i := range 4 {
		guess(a, i+1, http.StatusUnauthorized)
		clk.Add(time.Minute)
	}
	// The fifth, on B, is the fifth for the account: it locks, on both.
	guess(b, 5, http.StatusUnauthorized)
	rightPassword(a, http.StatusTooManyRequests)
	rightPassword(b, http.StatusTooManyRequests)
	// The owner's browser carries the device cookie A issued: B honours it.
	if req, err := owner.Login(ctx, b, "erin", password); err != nil || req {
		t.Fatalf("the owner's browser on B while unknown clients are locked: code required %v, %v", req, err)
	}
	must(t, owner.Logout(ctx, b))

	// The lock ends, the failures are still inside the window: the next
	// guess (on A) is the sixth and locks again, on both.
	clk.Add(2 * time.Minute)
	guess(a, 6, http.StatusUnauthorized)
	rightPassword(b, http.StatusTooManyRequests)
	rightPassword(a, http.StatusTooManyRequests)

	// Past the window since the last failure: the six no longer count,
	// on either instance. Four more guesses over A and B stay under the
	// free five (were the old ones counted, the first would lock).
	clk.Add(window + time.Minute)
	for i := range 4 {
		guess([]string{b, a}[i%2], 7+i, http.StatusUnauthorized)
	}
	rightPassword(b, http.StatusOK)
	rightPassword(a, http.StatusOK)

	// Every counter is now older than the longest window: B prunes what A
	// wrote too.
	clk.Add(window + time.Minute)
	if n, err := insts[1].svc.PruneAttempts(ctx); err != nil || n == 0 {
		t.Errorf("PruneAttempts on B = %d, %v; want the counters of both instances", n, err)
	}
	if n, err := insts[0].db.CountAttempts(ctx); err != nil || n != 0 {
		t.Errorf("after B pruned: %d counters, %v; want 0", n, err)
	}
}
