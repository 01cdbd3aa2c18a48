package web_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/server/sqlite"
	"twofold.dev/server/web"
	"twofold.dev/shared/totp"
)

// codeBench is a portal on a real SQLite file, served in process (no
// network, no client), with one account that has two-factor
// authentication on and sessions that have passed the password.
type codeBench struct {
	b     *testing.B
	db    *sqlite.DB
	srv   *web.Server
	clock *clock
	user  *portal.User
	key   *totp.Key
}

func newCodeBench(b *testing.B) *codeBench {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "portal.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	master, err := portal.LoadOrCreateKeyFile(rand.Reader, filepath.Join(dir, "secret.key"), true)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := portal.NewKeys(master)
	if err != nil {
		b.Fatal(err)
	}
	cb := &codeBench{b: b, db: db, clock: &clock{t: t0}}
	svc, err := portal.NewService(db, keys, portal.DefaultConfig(), cb.clock.Now, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	if cb.srv, err = web.NewServer(web.Config{}, svc, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		b.Fatal(err)
	}
	// The account is written through the store as enrollment leaves it:
	// the sealed key active, the enrollment's step used.
	cb.key, err = totp.Generate(rand.Reader, "Twofold Portal", "joe")
	if err != nil {
		b.Fatal(err)
	}
	cb.user = &portal.User{Username: "joe", DisplayName: "Joe", PasswordHash: "unused", CreatedAt: t0}
	if err := db.CreateUser(ctx, cb.user); err != nil {
		b.Fatal(err)
	}
	sealed, err := keys.Seal(rand.Reader, cb.user.ID, []byte(cb.key.URI()))
	if err != nil {
		b.Fatal(err)
	}
	if err := db.SetPendingTOTP(ctx, cb.user.ID, sealed); err != nil {
		b.Fatal(err)
	}
	if err := db.EnableTOTP(ctx, cb.user.ID, sealed, cb.key.Step(t0)-1, nil); err != nil {
		b.Fatal(err)
	}
	return cb
}

// session stores a session of joe that has passed the password at at and
// returns its cookie token.
func (cb *codeBench) session(at time.Time) string {
	cb.b.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	s := &portal.Session{ID: portal.HashToken(token), UserID: cb.user.ID, Stage: portal.StagePassword,
		CreatedAt: at, LastSeenAt: at, AuthAt: at, IP: "192.0.2.1", UserAgent: "bench"}
	if err := cb.db.CreateSession(context.Background(), s); err != nil {
		cb.b.Fatal(err)
	}
	return token
}

// check posts code from the session of token and returns the status.
func (cb *codeBench) check(token, code string) int {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/login/code", strings.NewReader(`{"code":"`+code+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: "twofold_session", Value: token})
	w := httptest.NewRecorder()
	cb.srv.ServeHTTP(w, req)
	return w.Code
}

func (cb *codeBench) code(step uint64) string {
	c, err := cb.key.Code(time.Unix(int64(step)*30, 0))
	if err != nil {
		cb.b.Fatal(err)
	}
	return c
}

// cpuClock adds up the CPU time (user and system, every thread) the
// process spends while the benchmark timer runs: on a shared machine the
// wall time per op includes waiting for a core, the CPU time does not.
type cpuClock struct {
	b       *testing.B
	total   time.Duration
	started time.Duration
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuClock) start() { c.b.StartTimer(); c.started = processCPU(c.b) }
func (c *cpuClock) stop()  { c.total += processCPU(c.b) - c.started; c.b.StopTimer() }

// report adds the metric cpu-ns/op.
func (c *cpuClock) report(n int) {
	if n > 0 {
		c.b.ReportMetric(float64(c.total.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}

// wrongCode is a code that no step the portal accepts around step has.
func (cb *codeBench) wrongCode(step uint64) string {
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", n*111111%1000000)
		if _, ok := cb.key.Verify(c, time.Unix(int64(step)*30, 0), totp.DefaultSkew+1); !ok {
			return c
		}
	}
}

// BenchmarkLoginCode is one second-step code check through the whole
// in-process handler (middleware, session, service, SQLite), in the mix
// that `make bench` group 4 sends: per half-signed-in session four wrong
// codes (401) and then the right one (200), which ends the session. One
// op is one check; the clock moves a time step per session, and the
// sessions are stored off the clock in batches.
func BenchmarkLoginCode(b *testing.B) {
	cb := newCodeBench(b)
	const batch = 200
	var tokens []string
	var steps []uint64
	var wrong []string
	b.ReportAllocs()
	cpu := &cpuClock{b: b}
	n := 0
	for i := 0; b.Loop(); i++ {
		if i == 0 {
			cpu.start() // b.Loop restarts the timer at the first iteration
		}
		n++
		j := i / 5 % batch
		if i%(5*batch) == 0 {
			cpu.stop()
			// Session j is used one step after session j-1: it is
			// created at the moment it is used, as after a password.
			tokens, steps, wrong = tokens[:0], steps[:0], wrong[:0]
			base := cb.clock.Now()
			for k := range batch {
				at := base.Add(time.Duration(k) * 30 * time.Second)
				step := cb.key.Step(at)
				tokens, steps, wrong = append(tokens, cb.session(at)), append(steps, step), append(wrong, cb.wrongCode(step))
			}
			cpu.start()
		}
		code, want := wrong[j], http.StatusUnauthorized
		if i%5 == 4 {
			code, want = cb.code(steps[j]), http.StatusOK
		}
		if got := cb.check(tokens[j], code); got != want {
			b.Fatalf("check %d (session %d, step %d): status %d, want %d", i, j, steps[j], got, want)
		}
		if i%5 == 4 {
			cb.clock.Add(30 * time.Second)
		}
	}
	cpu.stop()
	cpu.report(n)
}

// BenchmarkLoginCodeWrong is one wrong code through the whole in-process
// handler: the path four checks in five of group 4 take.
func BenchmarkLoginCodeWrong(b *testing.B) {
	cb := newCodeBench(b)
	var token, wrong string
	b.ReportAllocs()
	cpu := &cpuClock{b: b}
	n := 0
	for i := 0; b.Loop(); i++ {
		if i == 0 {
			cpu.start()
		}
		n++
		if i%4 == 0 {
			// Four failures stay under the free five; a fresh session
			// and a fresh step start the count again.
			cpu.stop()
			cb.clock.Add(24*time.Hour + time.Minute)
			token = cb.session(cb.clock.Now())
			wrong = cb.wrongCode(cb.key.Step(cb.clock.Now()))
			cpu.start()
		}
		if got := cb.check(token, wrong); got != http.StatusUnauthorized {
			b.Fatalf("check %d: status %d, want 401", i, got)
		}
	}
	cpu.stop()
	cpu.report(n)
}
