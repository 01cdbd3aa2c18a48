package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"twofold.dev/server/portal"
	"twofold.dev/server/postgres"
)

// twoInstances opens one new database twice, as two portal instances
// would, and a plain connection to it for the test's own SQL.
func twoInstances(t *testing.T) ([2]*postgres.DB, *pgx.Conn) {
	t.Helper()
	url := newDB(t)
	dbs := openTwice(t, url)
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return dbs, c
}

// Two instances prune one database at once: every expired row is
// deleted exactly once between them, and neither errs.
func TestPruneTwoInstances(t *testing.T) {
	ctx := context.Background()
	dbs, c := twoInstances(t)
	now := time.Date(2026, 9, 2, 10, 0, 0, 0, time.UTC)
	u := &portal.User{Username: "joe", DisplayName: "Joe", PasswordHash: "h", CreatedAt: now}
	if err := dbs[0].CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	const old, young = 5000, 300
	if _, err := c.Exec(ctx, `INSERT INTO activity (user_id, kind, ip, at)
		SELECT $1, 'sign_in', '192.0.2.1', $2::timestamptz - i * interval '1 minute' FROM generate_series(1, $3::int) i`,
		u.ID, now.Add(-366*24*time.Hour), old); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `INSERT INTO activity (user_id, kind, ip, at)
		SELECT $1, 'sign_in', '192.0.2.1', $2::timestamptz - i * interval '1 minute' FROM generate_series(1, $3::int) i`,
		u.ID, now, young); err != nil {
		t.Fatal(err)
	}
	cut := now.Add(-portal.DefaultActivityRetention)
	var wg sync.WaitGroup
	var deleted [2]int
	for i, db := range dbs {
		wg.Go(func() {
			for {
				n, err := db.PruneBatch(ctx, portal.PruneActivity, cut, now, 100)
				if err != nil {
					t.Errorf("instance %d: %v", i, err)
					return
				}
				deleted[i] += n
				if n < 100 {
					return
				}
			}
		})
	}
	wg.Wait()
	var left int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM activity`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if deleted[0]+deleted[1] != old || left != young {
		t.Errorf("the instances deleted %d and %d rows (want %d between them); %d left, want %d", deleted[0], deleted[1], old, left, young)
	}
	t.Logf("deleted %d and %d", deleted[0], deleted[1])
}

// A prune never waits for a sign-in: a row that a transaction holds (a
// counter being counted) is skipped, the rest go, and the next prune
// takes it once it is free.
func TestPruneSkipsHeldRows(t *testing.T) {
	ctx := context.Background()
	dbs, c := twoInstances(t)
	now := time.Date(2026, 9, 2, 10, 0, 0, 0, time.UTC)
	none := func(int) time.Duration { return 0 }
	for _, key := range []string{"pw:ip:a", "pw:ip:b", "pw:ip:c"} {
		if _, err := dbs[0].TakeAttempt(ctx, key, now.Add(-48*time.Hour), 24*time.Hour, none); err != nil {
			t.Fatal(err)
		}
	}
	// A sign-in on the other instance, in the middle of its transaction
	// on counter b.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE attempts SET failures = failures + 1 WHERE key = 'pw:ip:b'`); err != nil {
		t.Fatal(err)
	}
	// Waiting for the lock would run into this deadline.
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := dbs[0].PruneBatch(pctx, portal.PruneAttempts, now.Add(-24*time.Hour), now, 100)
	if err != nil || n != 2 {
		t.Fatalf("prune beside a held counter: %d, %v; want the 2 free ones at once", n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := dbs[0].PruneBatch(ctx, portal.PruneAttempts, now.Add(-24*time.Hour), now, 100); err != nil || n != 1 {
		t.Errorf("next prune: %d, %v; want the freed counter", n, err)
	}
}
