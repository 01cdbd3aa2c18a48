package seed

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"twofold.dev/server/pgtest"
	"twofold.dev/server/portal"
	"twofold.dev/server/postgres"
	"twofold.dev/server/sqlite"
)

// store is what the test needs of an adapter.
type store interface {
	portal.Store
	portal.BulkLoader
}

func testConfig(n int) Config {
	master := make([]byte, portal.MasterKeySize)
	rand.Read(master)
	return Config{Accounts: n, Prefix: "s", Password: "seeded password 42", Issuer: "Twofold Portal", Master: master,
		Now: time.Now(), Seed: 7, Rand: rand.Reader, Batch: 40}
}

// oathtool computes account i's code at now with the independent
// implementation (Debian package oathtool).
func oathtool(t *testing.T, cfg *Config, i int, now time.Time) string {
	t.Helper()
	bin, err := exec.LookPath("oathtool")
	if err != nil {
		t.Fatal("oathtool not found: install the Debian package oathtool")
	}
	k, err := cfg.Key(i)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--totp", "-b", "-N", "@"+strconv.FormatInt(now.Unix(), 10), k.SecretBase32()).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// checkSeeded reads the seeded accounts back through the Store and signs
// two of them in through the portal's Service: one with a code from
// oathtool, one with a recovery code, and one without 2FA.
func checkSeeded(t *testing.T, st store, cfg Config, stats *Stats) {
	t.Helper()
	ctx := context.Background()
	if stats.Accounts != cfg.Accounts || stats.TwoFactor != (cfg.Accounts+1)/2 || stats.RecoveryCodes != 10*stats.TwoFactor {
		t.Fatalf("stats %+v for %d accounts", stats, cfg.Accounts)
	}
	if stats.Events < 2*cfg.Accounts || stats.Sessions == 0 || stats.Attempts == 0 {
		t.Fatalf("too little history: %+v", stats)
	}
	users, err := st.ListUsers(ctx)
	if err != nil || len(users) != cfg.Accounts {
		t.Fatalf("ListUsers: %d users, %v", len(users), err)
	}
	n, err := st.CountAttempts(ctx)
	if err != nil || n != stats.Attempts {
		t.Fatalf("CountAttempts: %d, %v; seeded %d", n, err, stats.Attempts)
	}
	keys, err := portal.NewKeys(cfg.Master)
	if err != nil {
		t.Fatal(err)
	}
	if err := portal.CheckKeys(ctx, st, keys); err != nil {
		t.Fatalf("the portal's start-up key check: %v", err)
	}
	other := make([]byte, portal.MasterKeySize)
	otherKeys, _ := portal.NewKeys(other)
	if err := portal.CheckKeys(ctx, st, otherKeys); !errors.Is(err, portal.ErrKeyMismatch) {
		t.Fatalf("the start-up key check with another key: %v, want ErrKeyMismatch", err)
	}
	if has, err := portal.HasSealedSecrets(ctx, st); err != nil || !has {
		t.Fatalf("HasSealedSecrets after the seed: %v, %v", has, err)
	}
	var events int
	for i := range cfg.Accounts {
		u, err := st.UserByName(ctx, cfg.Username(i))
		if err != nil {
			t.Fatal(err)
		}
		if u.TwoFactor() != cfg.TwoFactor(i) {
			t.Fatalf("%s: 2FA %v", u.Username, u.TwoFactor())
		}
		if cfg.TwoFactor(i) {
			if left, err := st.CountRecoveryCodes(ctx, u.ID); err != nil || left != 10 {
				t.Fatalf("%s: %d recovery codes, %v", u.Username, left, err)
			}
			if cur := uint64(cfg.Now.Unix() / 30); u.TOTPLastStep >= cur || u.TOTPLastStep < cur-uint64(400*24*120) {
				t.Fatalf("%s: last step %d, now %d", u.Username, u.TOTPLastStep, cur)
			}
		}
		ev, err := st.Events(ctx, u.ID, 1000)
		if err != nil || len(ev) < 2 {
			t.Fatalf("%s: %d events, %v", u.Username, len(ev), err)
		}
		for _, e := range ev {
			if e.At.After(cfg.Now) || e.At.Before(cfg.Now.Add(-400*24*time.Hour)) {
				t.Fatalf("%s: event %s at %v, now %v", u.Username, e.Kind, e.At, cfg.Now)
			}
		}
		events += len(ev)
	}
	if events != stats.Events {
		t.Fatalf("%d events read back, %d seeded", events, stats.Events)
	}

	pcfg := portal.DefaultConfig()
	pcfg.Issuer = cfg.Issuer
	now := time.Now()
	svc, err := portal.NewService(st, keys, pcfg, func() time.Time { return now }, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(i int) *portal.Session {
		t.Helper()
		u, err := svc.Login(ctx, cfg.Username(i), cfg.Password, "192.0.2.1", "")
		if err != nil {
			t.Fatalf("sign-in of %s: %v", cfg.Username(i), err)
		}
		stage := portal.StageFull
		if u.TwoFactor() {
			stage = portal.StagePassword
		}
		_, sess, err := svc.BeginSession(ctx, nil, u, "192.0.2.1", "seed test", "")
		if err != nil {
			t.Fatal(err)
		}
		if sess.Stage != stage {
			t.Fatalf("%s: stage %v after the password, want %v", u.Username, sess.Stage, stage)
		}
		return sess
	}
	if _, err := svc.LoginCode(ctx, signIn(0), nil, oathtool(t, &cfg, 0, now), "192.0.2.1", false); err != nil {
		t.Fatalf("code of %s from oathtool: %v", cfg.Username(0), err)
	}
	codes, err := cfg.RecoveryCodes(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.LoginRecovery(ctx, signIn(2), nil, codes[3], "192.0.2.1"); err != nil {
		t.Fatalf("recovery code of %s: %v", cfg.Username(2), err)
	}
	signIn(1)
	if _, err := svc.Login(ctx, cfg.Username(3), "not the password", "192.0.2.1", ""); portal.ErrorCode(err) != portal.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	// The expired sessions and stale counters are the pruner's work.
	if err := svc.DeleteExpiredSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountAttempts(ctx); err != nil || n >= stats.Attempts {
		t.Fatalf("after pruning, %d counters of %d seeded, %v", n, stats.Attempts, err)
	}
}

// emptyStore: a database without secrets passes the start-up checks.
func emptyStore(t *testing.T, st store) {
	t.Helper()
	ctx := context.Background()
	if has, err := portal.HasSealedSecrets(ctx, st); err != nil || has {
		t.Fatalf("HasSealedSecrets of an empty database: %v, %v", has, err)
	}
	keys, _ := portal.NewKeys(make([]byte, portal.MasterKeySize))
	if err := portal.CheckKeys(ctx, st, keys); err != nil {
		t.Fatalf("CheckKeys of an empty database: %v", err)
	}
}

func TestSeedSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// An account made the ordinary way first: the reserved ids follow it.
	if err := db.CreateUser(ctx, &portal.User{Username: "before", DisplayName: "before", PasswordHash: "x", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	emptyStore(t, db)
	cfg := testConfig(101)
	stats, err := Seed(ctx, db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	after := &portal.User{Username: "after", DisplayName: "after", PasswordHash: "x", CreatedAt: time.Now()}
	if err := db.CreateUser(ctx, after); err != nil {
		t.Fatal(err)
	}
	if after.ID != 103 {
		t.Fatalf("the account made after the seed has id %d, want 103 (after 1 + 101 reserved)", after.ID)
	}
	if err := db.DeleteUser(ctx, after.ID); err != nil {
		t.Fatal(err)
	}
	before, _ := db.UserByName(ctx, "before")
	if err := db.DeleteUser(ctx, before.ID); err != nil {
		t.Fatal(err)
	}
	checkSeeded(t, db, cfg, stats)
	sameTypes(t, path)
}

// sameTypes compares the SQLite storage class of every column of a
// seeded row with one the portal wrote itself (the adapter's own
// CreateUser, EnableTOTP, CreateSession, AddEvent, TakeAttempt).
func sameTypes(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	u := &portal.User{Username: "ordinary", DisplayName: "Ordinary", PasswordHash: "h", CreatedAt: now, TOTPPending: []byte("p")}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.EnableTOTP(ctx, u.ID, []byte("p"), 5, [][]byte{[]byte("c")}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, &portal.Session{ID: []byte("sess"), UserID: u.ID, Stage: portal.StageFull, CreatedAt: now, LastSeenAt: now, AuthAt: now, IP: "ip", UserAgent: "ua"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddEvent(ctx, &portal.Event{UserID: u.ID, Kind: portal.EventSignIn, IP: "ip", At: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.TakeAttempt(ctx, "pw:user:ordinary", now, time.Hour, func(int) time.Duration { return 0 }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []struct{ table, cols, ordinary, seeded string }{
		{"users", "id, username, display_name, password_hash, totp_secret, totp_pending, totp_last_step, created_at, recovery_unseen, grace_from, email, email_pending, is_admin, disabled",
			"username = 'ordinary'", "username = 's0'"},
		{"recovery_codes", "user_id, code_hash, used_at", "user_id = " + strconv.FormatInt(u.ID, 10), "user_id = (SELECT id FROM users WHERE username = 's0')"},
		{"sessions", "id, user_id, stage, created_at, last_seen_at, auth_at, ip, user_agent, setup_skipped, code_at", "user_id = " + strconv.FormatInt(u.ID, 10), "user_id <> " + strconv.FormatInt(u.ID, 10)},
		{"activity", "id, user_id, kind, ip, at", "user_id = " + strconv.FormatInt(u.ID, 10), "user_id <> " + strconv.FormatInt(u.ID, 10)},
		{"attempts", "key, failures, locked_until, last_at", "key = 'pw:user:ordinary'", "key <> 'pw:user:ordinary'"},
	} {
		cols := strings.Split(q.cols, ", ")
		types := make([]string, len(cols))
		for i, c := range cols {
			types[i] = "typeof(" + c + ")"
		}
		query := "SELECT " + strings.Join(types, " || ',' || ") + " FROM " + q.table + " WHERE "
		var ordinary, seeded string
		if err := db.QueryRowContext(ctx, query+q.ordinary+" LIMIT 1").Scan(&ordinary); err != nil {
			t.Fatalf("%s, ordinary row: %v", q.table, err)
		}
		if err := db.QueryRowContext(ctx, query+q.seeded+" LIMIT 1").Scan(&seeded); err != nil {
			t.Fatalf("%s, seeded row: %v", q.table, err)
		}
		if ordinary != seeded {
			t.Errorf("%s (%s): the portal writes %s, the seed %s", q.table, q.cols, ordinary, seeded)
		}
	}
}

func TestSeedPostgres(t *testing.T) {
	ctx := context.Background()
	pg, err := pgtest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	url, err := pg.CreateDB("seed")
	if err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	emptyStore(t, db)
	cfg := testConfig(101)
	cfg.Writers = 2 // COPY on two connections at once
	stats, err := Seed(ctx, db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	after := &portal.User{Username: "after", DisplayName: "after", PasswordHash: "x", CreatedAt: time.Now()}
	if err := db.CreateUser(ctx, after); err != nil {
		t.Fatalf("an account made after the seed: %v", err)
	}
	if after.ID != 102 {
		t.Fatalf("the account made after the seed has id %d, want 102", after.ID)
	}
	if err := db.DeleteUser(ctx, after.ID); err != nil {
		t.Fatal(err)
	}
	checkSeeded(t, db, cfg, stats)
}

func TestSeedRefusesMissingParameters(t *testing.T) {
	cfg := testConfig(1)
	cfg.Rand = nil
	if _, err := Seed(context.Background(), nil, cfg); err == nil || !strings.Contains(err.Error(), "Rand") {
		t.Fatalf("no random source: %v", err)
	}
}

// BenchmarkSeedSQLite seeds 20,000 accounts per iteration into a new
// database and reports accounts and rows per second.
func BenchmarkSeedSQLite(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "portal.db"))
		if err != nil {
			b.Fatal(err)
		}
		stats, err := Seed(ctx, db, testConfigB(20000))
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
		b.ReportMetric(float64(stats.Accounts)/stats.Took.Seconds(), "accounts/s")
		b.ReportMetric(float64(stats.Rows())/stats.Took.Seconds(), "rows/s")
	}
}

// BenchmarkSeedPostgres is BenchmarkSeedSQLite on a throwaway PostgreSQL.
func BenchmarkSeedPostgres(b *testing.B) {
	ctx := context.Background()
	pg, err := pgtest.New()
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Close()
	for i := range b.N {
		url, err := pg.CreateDB("seed" + strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		db, err := postgres.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		cfg := testConfigB(20000)
		cfg.Writers = 2
		stats, err := Seed(ctx, db, cfg)
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
		b.ReportMetric(float64(stats.Accounts)/stats.Took.Seconds(), "accounts/s")
		b.ReportMetric(float64(stats.Rows())/stats.Took.Seconds(), "rows/s")
	}
}

func testConfigB(n int) Config {
	cfg := testConfig(n)
	cfg.Batch = 5000
	return cfg
}

// BenchmarkCodeCheckStore is the store side of a wrong code on SQLite
// (the user read, the counter taken and the event added in one
// transaction) for accounts picked at random, at 1,000 and at 100,000
// seeded accounts: what the database's size costs each check, without
// HTTP, argon2id or the load generator.
func BenchmarkCodeCheckStore(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "portal.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := Seed(ctx, db, testConfigB(n)); err != nil {
				b.Fatal(err)
			}
			noDelay := func(int) time.Duration { return 0 }
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rng := mrand.New(mrand.NewPCG(mrand.Uint64(), 1))
				for pb.Next() {
					id := int64(1 + rng.IntN(n))
					if _, err := db.UserByID(ctx, id); err != nil {
						b.Fatal(err)
					}
					err := db.Atomic(ctx, func(tx portal.Store) error {
						if _, err := tx.TakeAttempt(ctx, "2fa:user:"+strconv.FormatInt(id, 10), time.Now(), 24*time.Hour, noDelay); err != nil {
							return err
						}
						return tx.AddEvent(ctx, &portal.Event{UserID: id, Kind: portal.EventCodeFailed, IP: "192.0.2.1", At: time.Now()})
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
