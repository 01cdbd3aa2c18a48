package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/server/portal/storetest"
	"twofold.dev/server/sqlite"
)

func open(t *testing.T) portal.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, &portal.User{Username: "joe", DisplayName: "Joe", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer db.Close()
	if _, err := db.UserByName(ctx, "joe"); err != nil {
		t.Errorf("user lost after reopening: %v", err)
	}
}

func TestFilesReadableByOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateUser(context.Background(), &portal.User{Username: "joe", DisplayName: "Joe", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "portal.db*"))
	if len(files) < 2 {
		t.Fatalf("files %v, want the database and its WAL", files)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(f), st.Mode().Perm())
		}
	}
}

// BenchmarkCodeCheck is the database side of a wrong second-step code:
// read the session and the user, then count the attempt and record the
// failure in one transaction, from parallel clients.
func BenchmarkCodeCheck(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "portal.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	u := &portal.User{Username: "joe", DisplayName: "Joe", PasswordHash: "x", CreatedAt: time.Now()}
	if err := db.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	sess := &portal.Session{ID: []byte("session-id-0123456789abcdef0123456"), UserID: u.ID, Stage: portal.StagePassword,
		CreatedAt: time.Now(), LastSeenAt: time.Now(), AuthAt: time.Now()}
	if err := db.CreateSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.Session(ctx, sess.ID); err != nil {
				b.Fatal(err)
			}
			if _, err := db.UserByID(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
			err := db.Atomic(ctx, func(tx portal.Store) error {
				if _, err := tx.TakeAttempt(ctx, "k", time.Now(), 0, func(int) time.Duration { return 0 }); err != nil {
					return err
				}
				return tx.AddEvent(ctx, &portal.Event{UserID: u.ID, Kind: portal.EventCodeFailed, IP: "127.0.0.1", At: time.Now()})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
