package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"twofold.dev/server/pgtest"
	"twofold.dev/shared/totp"
)

// journey is what a client learned of one user before the portal died:
// each field is set only once the portal answered.
type journey struct {
	name     string
	signedUp bool
	key      *totp.Key // the key shown (enrollment started)
	step     uint64    // step of the code sent to verify it
	verified []string  // recovery codes received (enrollment confirmed)
	loggedIn bool      // password + code sign-in confirmed
}

// traffic runs sign-ups, enrollments and sign-ins on base with workers
// clients until ctx ends or the portal stops answering, and returns what
// each client learned.
func traffic(ctx context.Context, base, prefix string, workers int, done *atomic.Int64) []*journey {
	var mu sync.Mutex
	var all []*journey
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				j := &journey{name: fmt.Sprintf("%sw%du%d", prefix, w, i)}
				mu.Lock()
				all = append(all, j)
				mu.Unlock()
				if !j.run(ctx, base) {
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return all
}

func (j *journey) run(ctx context.Context, base string) bool {
	c := NewClient(nil)
	if c.SignUp(ctx, base, j.name, password) != nil {
		return false
	}
	j.signedUp = true
	k, err := c.StartTOTP(ctx, base)
	if err != nil {
		return false
	}
	j.key, j.step = k, k.Step(time.Now())
	codes, err := c.VerifyTOTP(ctx, base, k, j.step)
	if err != nil {
		return false
	}
	j.verified = codes
	c = NewClient(nil)
	if req, err := c.Login(ctx, base, j.name, password); err != nil || !req {
		return false
	}
	r, err := c.LoginCode(ctx, base, Code(k, j.step+1))
	if err != nil || r.Status != http.StatusOK {
		return false
	}
	j.loggedIn = true
	return true
}

// TestKillDuringTraffic kills the portal (SIGKILL) while clients sign up,
// enroll and sign in, restarts it, and checks the database and every
// user: fully enrolled or not at all, and able to sign in. Three rounds,
// so that the kill lands on several different steps.
func TestKillDuringTraffic(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			database := ""
			if backend == "postgres" {
				database = newDatabase(t, pg)
			}
			in := startInstances(t, 1, database)[0]
			check := func(t *testing.T) *sqlRows { return checkPostgres(t, database) }
			if backend == "sqlite" {
				check = func(t *testing.T) *sqlRows { return checkSQLite(t, filepath.Join(in.Data, "portal.db")) }
			}
			for round := range 3 {
				ctx, cancel := context.WithCancel(context.Background())
				var done atomic.Int64
				result := make(chan []*journey)
				go func() { result <- traffic(ctx, in.URL(), fmt.Sprintf("r%d", round), 3, &done) }()
				deadline := time.Now().Add(60 * time.Second)
				for done.Load() < int64(3+round) && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				must(t, in.Kill()) // mid-request: three clients are always busy
				journeys := <-result
				cancel()
				if done.Load() < int64(3+round) {
					t.Fatalf("round %d: only %d journeys in 60 s before the kill", round, done.Load())
				}
				rows := check(t) // as the crash left it
				must(t, in.Start(context.Background()))
				checkJourneys(t, in.URL(), journeys, rows)
				t.Logf("round %d: killed after %d complete journeys; cut short: %s", round, done.Load(), cutShort(journeys))
			}
			check(t)
		})
	}
}

// cutShort describes where the kill caught the unfinished journeys.
func cutShort(journeys []*journey) string {
	var out []string
	for _, j := range journeys {
		switch {
		case j.loggedIn:
			continue
		case j.verified != nil:
			out = append(out, j.name+" signing in")
		case j.key != nil:
			out = append(out, j.name+" verifying")
		case j.signedUp:
			out = append(out, j.name+" starting enrollment")
		default:
			out = append(out, j.name+" signing up")
		}
	}
	return strings.Join(out, ", ")
}

// sqlRows is the per-user state read from the database.
type sqlRows map[string]struct {
	twoFactor bool
	recovery  int
}

// consistency queries, in SQL both databases speak.
const (
	userStateQuery = `SELECT u.username, u.totp_secret IS NOT NULL, (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id),
	                         (SELECT COUNT(*) FROM activity a WHERE a.user_id = u.id AND a.kind = '2fa_enabled') FROM users u`
	orphansQuery = `SELECT (SELECT COUNT(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id))
	                       + (SELECT COUNT(*) FROM recovery_codes r WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id))
	                       + (SELECT COUNT(*) FROM activity a WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.user_id))`
)

func checkSQLite(t *testing.T, path string) *sqlRows {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	must(t, err)
	defer db.Close()
	var integrity string
	must(t, db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity))
	if integrity != "ok" {
		t.Errorf("PRAGMA integrity_check: %s", integrity)
	}
	rows, err := db.Query(`PRAGMA foreign_key_check`)
	must(t, err)
	if rows.Next() {
		t.Error("PRAGMA foreign_key_check reports violations")
	}
	rows.Close()
	var orphans int
	must(t, db.QueryRow(orphansQuery).Scan(&orphans))
	return userStates(t, orphans, func() (scanner, error) { return db.Query(userStateQuery) })
}

func checkPostgres(t *testing.T, url string) *sqlRows {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	must(t, err)
	defer conn.Close(ctx)
	var orphans int
	must(t, conn.QueryRow(ctx, orphansQuery).Scan(&orphans))
	return userStates(t, orphans, func() (scanner, error) {
		rows, err := conn.Query(ctx, userStateQuery)
		return pgxRows{rows}, err
	})
}

type scanner interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

type pgxRows struct{ pgx.Rows }

func (r pgxRows) Close() error { r.Rows.Close(); return nil }

// userStates reads every user and checks that none is half enrolled:
// two-factor on with its ten recovery codes and its activity entry (one
// transaction), or off with none.
func userStates(t *testing.T, orphans int, query func() (scanner, error)) *sqlRows {
	t.Helper()
	if orphans != 0 {
		t.Errorf("%d sessions, recovery codes or events without a user", orphans)
	}
	rows, err := query()
	must(t, err)
	defer rows.Close()
	out := sqlRows{}
	for rows.Next() {
		var name string
		var on bool
		var n, enabled int
		must(t, rows.Scan(&name, &on, &n, &enabled))
		if on && n != 10 || !on && n != 0 {
			t.Errorf("user %s half enrolled: two-factor %v with %d recovery codes", name, on, n)
		}
		if on && enabled != 1 || !on && enabled != 0 {
			t.Errorf("user %s: two-factor %v with %d \"turned on\" activity entries", name, on, enabled)
		}
		out[name] = struct {
			twoFactor bool
			recovery  int
		}{on, n}
	}
	must(t, rows.Err())
	return &out
}

// checkJourneys signs every user in after the restart with what its
// client knows: nobody is locked out, and what the portal confirmed
// before the kill is still there.
func checkJourneys(t *testing.T, base string, journeys []*journey, rows *sqlRows) {
	t.Helper()
	ctx := context.Background()
	for _, j := range journeys {
		state, exists := (*rows)[j.name]
		if j.signedUp && !exists {
			t.Errorf("%s: sign-up confirmed before the kill, user gone after it", j.name)
			continue
		}
		if !exists {
			continue // the sign-up never committed; nothing to sign in to
		}
		if j.verified != nil && !state.twoFactor {
			t.Errorf("%s: enrollment confirmed before the kill, two-factor off after it", j.name)
		}
		c := NewClient(nil)
		req, err := c.Login(ctx, base, j.name, password)
		if err != nil {
			t.Errorf("%s: password sign-in after the restart: %v", j.name, err)
			continue
		}
		switch {
		case !req:
			// Not enrolled: signed in with the password alone.
		case j.key == nil:
			t.Errorf("%s: a code is asked for, but no key was ever shown", j.name)
			continue
		case j.verified != nil:
			r, err := c.LoginRecovery(ctx, base, j.verified[0])
			wantStatus(t, j.name+": recovery code after the restart", r, err, http.StatusOK)
		default:
			// The enrollment committed but its answer was lost with the
			// process: the key the user scanned works, and this sign-in
			// brings the recovery codes the user never saw.
			r, err := c.LoginCode(ctx, base, Code(j.key, j.step+1))
			wantStatus(t, j.name+": code after the restart", r, err, http.StatusOK)
			if codes, _ := r.Body["recovery_codes"].([]any); len(codes) != 10 {
				t.Errorf("%s: enrollment's answer lost in the kill; the next sign-in shows %d recovery codes, want 10", j.name, len(codes))
			}
		}
		if got := me(t, c, base); got != http.StatusOK {
			t.Errorf("%s: not signed in after the restart: %d", j.name, got)
		}
	}
}

// TestPostgresStoppedWhileServing stops the database under a running
// portal: pages and API answer 503 with a clear message and nothing
// internal, /healthz says so, and the portal recovers by itself.
func TestPostgresStoppedWhileServing(t *testing.T) {
	own, err := pgtest.New() // this test stops its server
	must(t, err)
	t.Cleanup(func() { own.Close() })
	database := newDatabase(t, own)
	in := startInstances(t, 1, database)[0]
	base := in.URL()
	ctx := context.Background()
	joe := NewClient(nil)
	must(t, joe.SignUp(ctx, base, "joe", password))

	must(t, own.Stop())
	leaks := []string{password, dbPassword, "postgres://", "goroutine", "panic", ".go:", "dial tcp", "SQLSTATE", "pgx"}
	clean := func(what string, body []byte) {
		t.Helper()
		for _, s := range leaks {
			if strings.Contains(string(body), s) {
				t.Errorf("%s shows %q:\n%s", what, s, body)
			}
		}
	}
	page, err := joe.Get(ctx, base, "/settings/security")
	must(t, err)
	if page.Status != http.StatusServiceUnavailable || !strings.Contains(string(page.Raw), "try again") {
		t.Errorf("security page with the database down: %d\n%s", page.Status, page.Raw)
	}
	clean("the 503 page", page.Raw)
	api, err := joe.Get(ctx, base, "/api/v1/me")
	must(t, err)
	if api.Status != http.StatusServiceUnavailable || api.Error() == "" {
		t.Errorf("API with the database down: %d %s", api.Status, api.Raw)
	}
	clean("the 503 JSON", api.Raw)
	login, err := NewClient(nil).Post(ctx, base, "/api/v1/login", map[string]string{"username": "joe", "password": password})
	must(t, err)
	if login.Status != http.StatusServiceUnavailable {
		t.Errorf("sign-in with the database down: %d, want 503", login.Status)
	}
	health, err := NewClient(nil).Get(ctx, base, "/healthz")
	must(t, err)
	if health.Status != http.StatusServiceUnavailable {
		t.Errorf("/healthz with the database down: %d, want 503", health.Status)
	}
	clean("/healthz", health.Raw)

	must(t, own.Start())
	if err := in.WaitHealthy(ctx, 30*time.Second); err != nil {
		t.Fatalf("no recovery without a restart: %v", err)
	}
	if got := me(t, joe, base); got != http.StatusOK {
		t.Errorf("the session after the database came back: %d, want 200", got)
	}
	if !in.Running() {
		t.Error("the portal exited")
	}
}

// tmpfs mounts a small tmpfs on a new temp dir (root only) and unmounts
// it at the end of the test.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a %s tmpfs to simulate a full or read-only disk (the tests run as root, as make test does in CI): %v: %s", size, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func remount(t *testing.T, dir, mode string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", mode, dir, err, out)
	}
}

// fill takes every free block of the file system of dir; the returned
// function frees them.
func fill(t *testing.T, dir string) func() {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	must(t, err)
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	for {
		if _, err := f.Write(buf[:512]); err != nil {
			break
		}
	}
	f.Close()
	return func() { must(t, os.Remove(path)) }
}

// TestSQLiteDiskFull fills the data dir's disk under a running portal:
// writes get a clear 503, nothing half-written stays, and the portal
// carries on once there is room again.
func TestSQLiteDiskFull(t *testing.T) {
	data := tmpfs(t, "8m")
	key := keyFile(t)
	in := &Instance{Bin: portalBin, Name: "sqlite", Data: data, SecretKeyFile: key}
	must(t, in.Start(context.Background()))
	t.Cleanup(func() { in.Stop(); checkLog(t, in) })
	base := in.URL()
	ctx := context.Background()
	eve := NewClient(nil)
	must(t, eve.SignUp(ctx, base, "eve", password))
	k, err := eve.StartTOTP(ctx, base)
	must(t, err)

	free := fill(t, data)
	r, err := NewClient(nil).Post(ctx, base, "/api/v1/signup", map[string]string{"username": "fay", "password": password, "display_name": "Fay"})
	wantStatus(t, "sign-up on a full disk", r, err, http.StatusServiceUnavailable)
	if r.Error() == "" || strings.Contains(string(r.Raw), "disk is full (13)") {
		t.Errorf("sign-up on a full disk: unclear or internal message %s", r.Raw)
	}
	code := Code(k, k.Step(time.Now()))
	r, err = eve.Post(ctx, base, "/api/v1/2fa/totp/verify", map[string]string{"code": code})
	wantStatus(t, "enrollment on a full disk", r, err, http.StatusServiceUnavailable)
	free()

	rows := checkSQLite(t, filepath.Join(data, "portal.db"))
	if _, ok := (*rows)["fay"]; ok {
		t.Error("the sign-up refused on the full disk created the user")
	}
	if (*rows)["eve"].twoFactor {
		t.Error("the enrollment refused on the full disk turned two-factor on")
	}
	// Room again: the same requests work, without a restart.
	must(t, NewClient(nil).SignUp(ctx, base, "fay", password))
	codes, err := eve.VerifyTOTP(ctx, base, k, k.Step(time.Now()))
	must(t, err)
	if len(codes) != 10 {
		t.Errorf("%d recovery codes", len(codes))
	}
	checkSQLite(t, filepath.Join(data, "portal.db"))
}

// TestSQLiteReadOnlyDataDir starts the portal on a read-only data dir: it
// refuses at once with a clear message and writes nothing.
func TestSQLiteReadOnlyDataDir(t *testing.T) {
	data := tmpfs(t, "8m")
	in := &Instance{Bin: portalBin, Name: "sqlite", Data: data}
	must(t, in.Start(context.Background()))
	must(t, NewClient(nil).SignUp(context.Background(), in.URL(), "gus", password))
	must(t, in.Stop())
	before := checkSQLite(t, filepath.Join(data, "portal.db"))

	remount(t, data, "ro")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := in.Command(ctx).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the portal on a read-only data dir: %v, want a non-zero exit\n%s", err, out)
	}
	if !strings.Contains(string(out), "not writable") || strings.Contains(string(out), "goroutine") {
		t.Errorf("the portal on a read-only data dir says:\n%s", out)
	}
	remount(t, data, "rw")
	after := checkSQLite(t, filepath.Join(data, "portal.db"))
	if len(*after) != len(*before) {
		t.Errorf("users before %d, after %d", len(*before), len(*after))
	}
	must(t, in.Start(context.Background()))
	if req, err := NewClient(nil).Login(context.Background(), in.URL(), "gus", password); err != nil || req {
		t.Errorf("sign-in once writable again: %v, %v", req, err)
	}
	must(t, in.Stop())
}

// TestSQLiteFullDiskAtStart starts the portal on a data dir whose disk is
// full: it refuses at once with a clear message.
func TestSQLiteFullDiskAtStart(t *testing.T) {
	data := tmpfs(t, "4m")
	in := &Instance{Bin: portalBin, Name: "sqlite", Data: data}
	must(t, in.Start(context.Background()))
	must(t, in.Stop())
	free := fill(t, data)
	defer free()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := in.Command(ctx).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the portal on a full disk: %v, want a non-zero exit\n%s", err, out)
	}
	if !strings.Contains(string(out), "not writable (read-only or full disk?)") || strings.Contains(string(out), "goroutine") {
		t.Errorf("the portal on a full disk says:\n%s", out)
	}
}
