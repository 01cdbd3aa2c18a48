package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/server/sqlite"
)

// BenchmarkPruneBatch measures one batch of expired activity rows
// deleted from a table that also holds 100,000 young ones: the time the
// batch holds SQLite's one write lock, which a sign-in may wait for.
func BenchmarkPruneBatch(b *testing.B) {
	for _, batch := range []int{100, 250, portal.DefaultPruneBatch} {
		b.Run(fmt.Sprintf("rows=%d", batch), func(b *testing.B) { benchmarkPruneBatch(b, batch) })
	}
}

func benchmarkPruneBatch(b *testing.B, batch int) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "portal.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	u := &portal.User{Username: "joe", DisplayName: "Joe", PasswordHash: "h"}
	if err := db.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 9, 2, 10, 0, 0, 0, time.UTC)
	seed := func(n int, at time.Time) {
		err := db.Exec(ctx, fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO activity (user_id, kind, ip, at) SELECT %d, 'sign_in', '192.0.2.1', %d - i * 1000000000 FROM n`, n, u.ID, at.UnixNano()))
		if err != nil {
			b.Fatal(err)
		}
	}
	seed(100_000, now)
	seed(b.N*batch, now.Add(-400*24*time.Hour))
	cut := now.Add(-portal.DefaultActivityRetention)
	b.ResetTimer()
	for range b.N {
		if n, err := db.PruneBatch(ctx, portal.PruneActivity, cut, now, batch); err != nil || n != batch {
			b.Fatalf("PruneBatch = %d, %v; want %d", n, err, batch)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
}
