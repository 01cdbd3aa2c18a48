package portal

import (
	"context"
	"slices"
	"testing"
	"time"
)

// batchStore deletes a backlog of rows per kind, batch by batch; each
// batch moves the clock on by took.
type batchStore struct {
	Store
	left  map[PruneKind]int
	clock *time.Time
	took  time.Duration
}

func (b *batchStore) PruneBatch(_ context.Context, kind PruneKind, _, _ time.Time, limit int) (int, error) {
	n := min(b.left[kind], limit)
	b.left[kind] -= n
	*b.clock = b.clock.Add(b.took)
	return n, nil
}

// TestPrunePausesBetweenBatches: after each full batch the pruner leaves
// the database alone as long as the batch took, so a backlog takes at
// most half of the writing; no pause after the last, short batch.
func TestPrunePausesBetweenBatches(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	st := &batchStore{left: map[PruneKind]int{PruneSessionsIdle: 250, PruneActivity: 100}, clock: &now, took: 7 * time.Millisecond}
	cfg := DefaultConfig()
	cfg.Password = PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	cfg.Retention.Batch = 100
	var waits []time.Duration
	cfg.Retention.Wait = func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}
	svc, err := NewService(st, nil, cfg, func() time.Time { return now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := svc.Prune(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n[PruneSessionsIdle] != 250 || n[PruneActivity] != 100 || n.Total() != 350 {
		t.Fatalf("pruned %v", n)
	}
	// Sessions: 100, 100 (pauses), 50 (done); activity: 100 (pause), 0.
	want := []time.Duration{7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond}
	if !slices.Equal(waits, want) {
		t.Fatalf("pauses %v, want %v", waits, want)
	}
	// A cancelled pause stops the run with what it deleted so far.
	st.left[PruneAttempts] = 300
	cfg.Retention.Wait = func(context.Context, time.Duration) error { return context.Canceled }
	svc, _ = NewService(st, nil, cfg, func() time.Time { return now }, nil)
	if n, err := svc.Prune(context.Background()); err == nil || n[PruneAttempts] != 100 {
		t.Fatalf("cancelled: %v, %v", n, err)
	}
}
