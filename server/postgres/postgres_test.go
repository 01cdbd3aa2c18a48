package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"twofold.dev/server/pgtest"
	"twofold.dev/server/portal"
	"twofold.dev/server/portal/storetest"
	"twofold.dev/server/postgres"
)

// cluster is the one PostgreSQL server of this test binary; each test gets
// a database of its own.
var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	c, err := pgtest.New()
	if err != nil {
		// Not a skip: the PostgreSQL store is part of the product.
		fmt.Fprintf(os.Stderr, "FAIL: the PostgreSQL store tests need a throwaway PostgreSQL server: %v\n", err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	c.Close()
	os.Exit(code)
}

var dbSeq atomic.Int64

// newDB returns the URL of a new, empty database.
func newDB(t *testing.T) string {
	t.Helper()
	url, err := cluster.CreateDB(fmt.Sprintf("store_%d", dbSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func open(t *testing.T) portal.Store {
	t.Helper()
	db, err := postgres.Open(context.Background(), newDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestStore runs the contract suite the SQLite store passes.
func TestStore(t *testing.T) { storetest.Run(t, open) }

// twoPools opens one new database twice, as two portal instances would.
func twoPools(t *testing.T) [2]*postgres.DB {
	t.Helper()
	return openTwice(t, newDB(t))
}

// openTwice opens the database at url twice.
func openTwice(t *testing.T, url string) [2]*postgres.DB {
	t.Helper()
	var dbs [2]*postgres.DB
	for i := range dbs {
		db, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

// TestTwoPoolsShareOneTruth runs the races of the contract across two
// independent pools, as two portal instances would.
func TestTwoPoolsShareOneTruth(t *testing.T) {
	ctx := context.Background()
	dbs := twoPools(t)
	u := &portal.User{Username: "joe", DisplayName: "Joe", PasswordHash: "h", CreatedAt: time.Now()}
	if err := dbs[0].CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := dbs[1].CreateUser(ctx, &portal.User{Username: "joe", DisplayName: "x", PasswordHash: "h"}); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("same name on the other pool: %v, want ErrConflict", err)
	}

	race := func(n int, fn func(db *postgres.DB) error, expected error) int {
		var wg sync.WaitGroup
		var ok atomic.Int64
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				if err := fn(dbs[i%2]); err == nil {
					ok.Add(1)
				} else if !errors.Is(err, expected) {
					t.Errorf("unexpected error: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		return int(ok.Load())
	}

	if n := race(50, func(db *postgres.DB) error { return db.ConsumeTOTPStep(ctx, u.ID, 1000) }, portal.ErrReplay); n != 1 {
		t.Errorf("%d of 50 uses of one step over two pools succeeded, want 1", n)
	}
	if err := dbs[0].SetPendingTOTP(ctx, u.ID, []byte("pending")); err != nil {
		t.Fatal(err)
	}
	hashes := [][]byte{[]byte("h1"), []byte("h2")}
	if n := race(20, func(db *postgres.DB) error { return db.EnableTOTP(ctx, u.ID, []byte("pending"), 1001, hashes) }, portal.ErrConflict); n != 1 {
		t.Errorf("%d of 20 concurrent enrollments succeeded, want 1", n)
	}
	if n, err := dbs[1].CountRecoveryCodes(ctx, u.ID); err != nil || n != 2 {
		t.Errorf("recovery codes after the enrollment race: %d, %v; want 2", n, err)
	}
	if n := race(20, func(db *postgres.DB) error { return db.ConsumeRecoveryCode(ctx, u.ID, []byte("h2"), time.Now()) }, portal.ErrReplay); n != 1 {
		t.Errorf("%d of 20 uses of one recovery code succeeded, want 1", n)
	}
	delay := func(n int) time.Duration {
		if n < 5 {
			return 0
		}
		return time.Hour
	}
	now := time.Now()
	if n := race(40, func(db *postgres.DB) error {
		_, err := db.TakeAttempt(ctx, "2fa:user:1", now, 0, delay)
		return err
	}, portal.ErrLocked); n != 5 {
		t.Errorf("%d of 40 attempts over two pools were let through, want 5", n)
	}
}

// TestConcurrentMigrations starts several stores on one empty database at
// once: the advisory lock lets exactly one apply each migration.
func TestConcurrentMigrations(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			db, err := postgres.Open(ctx, url)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != postgres.MigrationCount() {
		t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, postgres.MigrationCount())
	}
}

// TestDatabaseDown checks that a stopped server gives ErrUnavailable
// (which the portal answers with 503) and that the pool recovers by
// itself when the server is back. It has a cluster of its own, since it
// stops it.
func TestDatabaseDown(t *testing.T) {
	c, err := pgtest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	url, err := c.CreateDB("down")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateUser(ctx, &portal.User{Username: "joe", DisplayName: "Joe", PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// Every connection of the pool is dead or refused now; each call
	// must say so, quickly, whatever connection it gets.
	for i := range 5 {
		start := time.Now()
		_, err := db.UserByName(ctx, "joe")
		if !errors.Is(err, postgres.ErrUnavailable) {
			t.Errorf("call %d with the database down: %v, want ErrUnavailable", i, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("call %d took %v", i, d)
		}
	}
	if err := db.Ping(ctx); !errors.Is(err, postgres.ErrUnavailable) {
		t.Errorf("Ping with the database down: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := db.UserByName(ctx, "joe")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover within 30 s of the restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after recovery: %v", err)
	}
	if _, err := db.UserByName(ctx, "nobody"); !errors.Is(err, portal.ErrNotFound) || errors.Is(err, postgres.ErrUnavailable) {
		t.Errorf("a missing user after recovery: %v, want ErrNotFound only", err)
	}
}

func TestOpenRefusesBadURLWithoutEchoingIt(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://joe:s3cret-pw@127.0.0.1:1/x?sslmode=bogus")
	if err == nil {
		t.Fatal("bad URL accepted")
	}
	if s := err.Error(); strings.Contains(s, "s3cret-pw") {
		t.Errorf("error shows the password: %s", s)
	}
	_, err = postgres.Open(context.Background(), "postgres://joe:s3cret-pw@127.0.0.1:1/x?sslmode=disable")
	if !errors.Is(err, postgres.ErrUnavailable) {
		t.Errorf("nothing listening: %v, want ErrUnavailable", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error shows the password: %s", err)
	}
}

// TestAttemptWithEarlierClock: an attempt that does not lock must not
// lock out a concurrent one whose clock read came a moment earlier (two
// requests, or two instances whose clocks differ by milliseconds).
func TestAttemptWithEarlierClock(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	delay := func(n int) time.Duration {
		if n < 5 {
			return 0
		}
		return time.Minute
	}
	now := time.Now()
	if _, err := s.TakeAttempt(ctx, "k", now, 0, delay); err != nil {
		t.Fatal(err)
	}
	if a, err := s.TakeAttempt(ctx, "k", now.Add(-time.Millisecond), 0, delay); err != nil || a.Failures != 2 {
		t.Errorf("attempt with a clock 1 ms behind: %+v, %v; want 2 failures, no lock", a, err)
	}
}

// TestAttemptsRaceWithReset takes and resets one counter from two pools
// at once, as sign-ins failing and succeeding on two instances do: no
// error but the lock.
func TestAttemptsRaceWithReset(t *testing.T) {
	ctx := context.Background()
	dbs := twoPools(t)
	delay := func(n int) time.Duration {
		if n < 5 {
			return 0
		}
		return time.Millisecond
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			db := dbs[i%2]
			for range 20 {
				var err error
				if i%4 < 2 {
					_, err = db.TakeAttempt(ctx, "k", time.Now(), 0, delay)
				} else {
					err = db.ResetAttempts(ctx, "k")
				}
				if err != nil && !errors.Is(err, portal.ErrLocked) {
					t.Errorf("goroutine %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestPoolSize(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	for _, tc := range []struct {
		url  string
		want int32
	}{{url, postgres.DefaultMaxConns}, {url + "&pool_max_conns=3", 3}} {
		db, err := postgres.Open(ctx, tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := db.MaxConns(); got != tc.want {
			t.Errorf("pool size = %d, want %d", got, tc.want)
		}
		db.Close()
	}
}
