package sqlite_test

import (
	"context"
	"database/sql"
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
// read the session and the user (one joined statement), then count the
// attempt and record the failure in one transaction, from parallel
// clients.
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
			if _, _, err := db.SessionUser(ctx, sess.ID); err != nil {
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

// Ids are never reused (AUTOINCREMENT), and the migration that rebuilt the
// users table kept every row that refers to a user, with foreign keys on.
func TestUserIDsNeverReused(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mk := func(name string) *portal.User {
		u := &portal.User{Username: name, DisplayName: name, PasswordHash: "h", CreatedAt: time.Now()}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	mk("ann")
	joe := mk("joe")
	if err := db.DeleteUser(ctx, joe.ID); err != nil {
		t.Fatal(err)
	}
	if again := mk("joe"); again.ID == joe.ID {
		t.Errorf("the id %d of a deleted user was reused", joe.ID)
	}
	// Foreign keys are still enforced after the rebuild.
	now := time.Now()
	err = db.CreateSession(ctx, &portal.Session{ID: []byte("0123456789abcdef0123456789abcdef"), UserID: 999999, Stage: portal.StageFull, CreatedAt: now, LastSeenAt: now, AuthAt: now})
	if err == nil {
		t.Error("a session of no user was stored: foreign keys are off")
	}
}

// A database made before the AUTOINCREMENT migration keeps its users,
// sessions, recovery codes and activity through it.
func TestAutoincrementMigrationKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "portal.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0001_init.sql", "0002_attempts_decay.sql"} {
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, q := range []string{
		`CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		`INSERT INTO migrations VALUES ('migrations/0001_init.sql', 1), ('migrations/0002_attempts_decay.sql', 2)`,
		`INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES (7, 'joe', 'Joe', 'h', 1)`,
		`INSERT INTO sessions VALUES (x'01', 7, 2, 1, 1, 1, '127.0.0.1', 'ua')`,
		`INSERT INTO recovery_codes (user_id, code_hash) VALUES (7, x'02')`,
		`INSERT INTO activity (user_id, kind, ip, at) VALUES (7, 'signup', '127.0.0.1', 1)`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByID(ctx, 7)
	if err != nil || u.Username != "joe" {
		t.Fatalf("user after the migration: %+v %v", u, err)
	}
	if _, err := db.Session(ctx, []byte{1}); err != nil {
		t.Errorf("session lost: %v", err)
	}
	if n, err := db.CountRecoveryCodes(ctx, 7); err != nil || n != 1 {
		t.Errorf("recovery codes: %d %v", n, err)
	}
	if ev, err := db.Events(ctx, 7, 10); err != nil || len(ev) != 1 {
		t.Errorf("activity: %v %v", ev, err)
	}
	if err := db.DeleteUser(ctx, 7); err != nil {
		t.Fatal(err)
	}
	ann := &portal.User{Username: "ann", DisplayName: "Ann", PasswordHash: "h", CreatedAt: time.Now()}
	if err := db.CreateUser(ctx, ann); err != nil || ann.ID <= 7 {
		t.Errorf("new id %d after deleting 7: %v", ann.ID, err)
	}
	if _, err := db.Session(ctx, []byte{1}); err == nil {
		t.Error("the deleted user's session survived: the cascade is gone")
	}
}
