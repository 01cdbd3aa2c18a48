package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"twofold.dev/server/cluster"
	"twofold.dev/server/pgtest"
	"twofold.dev/server/portal"
	"twofold.dev/server/postgres"
	"twofold.dev/shared/totp"
)

const benchPassword = "bench password 1234"

// startPortal runs bin/twofold-portal on SQLite (database "") or on a
// PostgreSQL URL, trusting 127.0.0.1 for X-Forwarded-For so that every
// virtual user has an address of its own.
func startPortal(ctx context.Context, cfg *Config, name, database string) (*cluster.Instance, error) {
	return startPortalWith(ctx, cfg, name, database, "", nil)
}

// startPortalWith is startPortal with the secret key file of another
// instance of the same database (""): a new one) and a command to run
// the portal under (nil: none).
func startPortalWith(ctx context.Context, cfg *Config, name, database, keyFile string, wrap []string) (*cluster.Instance, error) {
	dir := filepath.Join(cfg.Work, "portal-"+name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if keyFile == "" {
		key := make([]byte, 32)
		rand.Read(key)
		keyFile = filepath.Join(dir, "secret.key")
		if err := cluster.WriteKeyFile(keyFile, key); err != nil {
			return nil, err
		}
	}
	in := &cluster.Instance{Bin: filepath.Join(cfg.Bin, "twofold-portal"), Name: name, Data: filepath.Join(dir, "data"),
		Database: database, SecretKeyFile: keyFile, Args: []string{"--trusted-proxies", "127.0.0.1"}, Wrap: wrap}
	if err := in.Start(ctx); err != nil {
		return nil, err
	}
	return in, nil
}

// acct is an enrolled account and the steps it may still use.
type acct struct {
	name string
	key  *totp.Key
	step uint64 // last step the portal accepted
	ip   string
}

var transport = &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}

func newClient(ip string) *cluster.Client {
	c := cluster.NewClient(transport)
	c.ForwardedFor = ip
	return c
}

// enroll makes n accounts with two-factor authentication on, enrolled
// with the previous step's code so that the current and the next step
// are both still unused: each account has two sign-ins ready.
func enroll(ctx context.Context, base, prefix string, n int) ([]*acct, error) {
	accts := make([]*acct, n)
	err := forEach(ctx, n, func(i int) error {
		a := &acct{name: fmt.Sprintf("%s%d", prefix, i), ip: fmt.Sprintf("10.%d.%d.%d", 90+i/62500, i/250%250, i%250+1)}
		c := newClient(a.ip)
		if err := c.SignUp(ctx, base, a.name, benchPassword); err != nil {
			return err
		}
		k, err := c.StartTOTP(ctx, base)
		if err != nil {
			return err
		}
		// A step boundary between our clock read and the
		// portal's makes the previous step two behind: read again.
		for try := 0; ; try++ {
			a.key, a.step = k, k.Step(time.Now())-1
			_, err = c.VerifyTOTP(ctx, base, k, a.step)
			if err == nil || try == 1 {
				break
			}
		}
		if err != nil {
			return err
		}
		accts[i] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enrolling: %w", err)
	}
	return accts, nil
}

// forEach calls fn for every i in [0, n) on 8 workers; a worker stops at
// its first error, every worker when ctx ends. It returns the workers'
// errors joined, or ctx's.
func forEach(ctx context.Context, n int, fn func(i int) error) error {
	var next atomic.Int64
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// password sends the password and expects to be asked for the code.
func password(ctx context.Context, c *cluster.Client, base string, a *acct) (time.Duration, error) {
	r, err := c.Post(ctx, base, "/api/v1/login", map[string]string{"username": a.name, "password": benchPassword})
	if err != nil {
		return 0, err
	}
	if r.Status != http.StatusOK || r.Body["code_required"] != true {
		return 0, fmt.Errorf("password of %s: status %d %s", a.name, r.Status, r.Error())
	}
	return r.Latency, nil
}

// hashRate is argon2id password checks per second at the portal's
// parameters on every core, as the portal computes them, for d.
func hashRate(d time.Duration) (float64, error) {
	hash, err := portal.HashPassword(rand.Reader, portal.OWASPParams, benchPassword)
	if err != nil {
		return 0, err
	}
	var n atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if ok, err := portal.CheckPassword(hash, benchPassword); err != nil || !ok {
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

func benchLogins(ctx context.Context, cfg *Config, rep *Report) error {
	const clients = 8
	rep.Progress("raw argon2id (m=19 MiB, t=2, p=1) checks on %d goroutines for 4s, before and after the sign-ins", runtime.GOMAXPROCS(0))
	before, err := hashRate(4 * time.Second)
	if err != nil {
		return err
	}
	in, err := startPortal(ctx, cfg, "logins", "")
	if err != nil {
		return err
	}
	defer in.Stop()
	run := 8 * time.Second
	n := int(before*1.3*run.Seconds()/2) + 2*clients
	rep.Progress("enrolling %d accounts (2 sign-ins each) on the SQLite portal", n)
	accts, err := enroll(ctx, in.URL(), "login", n)
	if err != nil {
		return err
	}
	// Work: every account twice, with the next unused step each time.
	type item struct {
		a    *acct
		step uint64
	}
	work := make(chan item, 2*n)
	for _, a := range accts {
		work <- item{a, a.step + 1}
	}
	for _, a := range accts {
		work <- item{a, a.step + 2}
	}
	close(work)
	rep.Progress("full sign-ins (password, then code) with %d clients for up to %v", clients, run)
	rctx, cancel := context.WithTimeout(ctx, run)
	defer cancel()
	lat, elapsed, err := signInClients(rctx, in.URL(), clients, func() (*acct, uint64, error) {
		it, ok := <-work
		if !ok {
			return nil, 0, errDone
		}
		return it.a, it.step, nil
	})
	if err != nil {
		return err
	}
	in.Stop()
	after, err := hashRate(4 * time.Second)
	if err != nil {
		return err
	}
	// The limit is the faster of the two: the machine is shared and noisy.
	rate := max(before, after)
	logins := float64(len(lat)) / elapsed.Seconds()
	rep.Add(&Figure{
		Name: fmt.Sprintf("Full sign-ins per second, %d concurrent clients, SQLite", clients), Value: logins, Unit: "/s",
		Baseline: "raw argon2id checks on all cores", BaseValue: rate, BaseUnit: "/s", Target: 0.8,
		Reproduce: "`go run ./qa/cmd/twofold-bench -groups 3` (argon2id rate: `go test -run '^$' -bench Argon2 ./server/portal` is not there; the bench times `portal.CheckPassword` on GOMAXPROCS goroutines); " +
			"`go run ./qa/cmd/twofold-load -start sqlite -users 8 -wrong 0 -replay 0 -idle-wait` gives the same kind of figure",
		Note: fmt.Sprintf("%d sign-ins in %.1fs; latency p50 %.0f ms, p99 %.0f ms; argon2id rate %.1f/s before, %.1f/s after", len(lat), elapsed.Seconds(),
			ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)), before, after),
	})
	return nil
}

// loadResult is a closed-loop run's throughput and latencies.
type loadResult struct {
	n        int
	elapsed  time.Duration
	lat      []time.Duration
	statuses map[int]int
}

func (r *loadResult) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// bareUnder starts bin/baregin (one Gin handler that does nothing, in a
// process tuned as the portal is) under wrap (nil: none; the same as the
// portal it is compared with) and drives its GET /bare with clients for d.
func bareUnder(ctx context.Context, cfg *Config, wrap []string, clients int, d time.Duration) (*loadResult, error) {
	argv := append(append([]string(nil), wrap...), filepath.Join(cfg.Bin, "baregin"))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bare handler: %w", err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("bare handler: no address: %w", err)
	}
	base := "http://" + strings.TrimSpace(addr)
	res := &loadResult{statuses: map[int]int{}}
	var mu sync.Mutex
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			c := newClient("")
			for rctx.Err() == nil {
				r, err := c.Get(rctx, base, "/bare")
				if err != nil {
					continue
				}
				mu.Lock()
				res.lat = append(res.lat, r.Latency)
				res.statuses[r.Status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.elapsed, res.n = time.Since(start), len(res.lat)
	if res.statuses[http.StatusOK] != res.n || res.n == 0 {
		return nil, fmt.Errorf("bare handler: statuses %v", res.statuses)
	}
	return res, nil
}

// codeSession is one account's sign-in that passed the password.
type codeSession struct {
	a    *acct
	c    *cluster.Client
	step uint64
}

// prepareCodeChecks enrolls n accounts and signs each in twice with the
// password only (two half-signed-in sessions), off the clock.
func prepareCodeChecks(ctx context.Context, base, prefix string, n int) ([][]codeSession, error) {
	accts, err := enroll(ctx, base, prefix, n)
	if err != nil {
		return nil, err
	}
	out := make([][]codeSession, n)
	err = forEach(ctx, n, func(i int) error {
		for s := uint64(1); s <= 2; s++ {
			c := newClient(accts[i].ip)
			if _, err := password(ctx, c, base, accts[i]); err != nil {
				return err
			}
			out[i] = append(out[i], codeSession{accts[i], c, accts[i].step + s})
		}
		return nil
	})
	return out, err
}

// codeChecks submits, for every prepared session, four wrong codes and
// then the right one (five failures would lock the account), each
// account on one client, clients at a time; a flood of password
// sign-ins runs meanwhile when flood > 0.
func codeChecks(ctx context.Context, base string, work [][]codeSession, clients, flood int, floodAcct *acct) (*loadResult, int, error) {
	return codeChecksOn(ctx, []string{base}, work, clients, flood, floodAcct)
}

// codeChecksOn is codeChecks against several instances of one portal
// (one database): client i sends to bases[i % len(bases)], the flood to
// bases[0].
func codeChecksOn(ctx context.Context, bases []string, work [][]codeSession, clients, flood int, floodAcct *acct) (*loadResult, int, error) {
	base := bases[0]
	res := &loadResult{statuses: map[int]int{}}
	var mu sync.Mutex
	queue := make(chan []codeSession, len(work))
	for _, w := range work {
		queue <- w
	}
	close(queue)
	fctx, stopFlood := context.WithCancel(ctx)
	var floods atomic.Int64
	var fwg sync.WaitGroup
	for range flood {
		fwg.Go(func() {
			for fctx.Err() == nil {
				if _, err := password(fctx, newClient(floodAcct.ip), base, floodAcct); err == nil {
					floods.Add(1)
				}
			}
		})
	}
	if flood > 0 {
		time.Sleep(500 * time.Millisecond) // let the flood fill the hash slots
	}
	start := time.Now()
	var wg sync.WaitGroup
	for n := range clients {
		to := bases[n%len(bases)]
		wg.Go(func() {
			for sessions := range queue {
				var last uint64
				for _, s := range sessions {
					// The prepared step, or the current one when the
					// preparation took so long that the prepared code
					// expired (a loaded machine, one core): always later
					// than the account's last accepted step.
					step := max(s.step, last+1, s.a.key.Step(time.Now()))
					last = step
					right := cluster.Code(s.a.key, step)
					wrong := wrongCode(s.a, right)
					for i := 0; i < 5; i++ {
						code, want := wrong, http.StatusUnauthorized
						if i == 4 {
							code, want = right, http.StatusOK
						}
						r, err := s.c.LoginCode(ctx, to, code)
						mu.Lock()
						if err != nil {
							res.statuses[-1]++
						} else {
							res.statuses[r.Status]++
							res.lat = append(res.lat, r.Latency)
							if r.Status != want {
								res.statuses[1000+want]++ // counted as unexpected
							}
						}
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	res.elapsed, res.n = time.Since(start), len(res.lat)
	stopFlood()
	fwg.Wait()
	var unexpected int
	for s, n := range res.statuses {
		if s < 0 || s >= 1000 {
			unexpected += n
		}
	}
	if unexpected > 0 {
		return res, 0, fmt.Errorf("code checks: unexpected answers: %v (status 1000+N: N was wanted)", res.statuses)
	}
	return res, int(floods.Load()), nil
}

// wrongCode is a code of a's length that is none of the codes of the
// steps around now.
func wrongCode(a *acct, right string) string {
	now := a.key.Step(time.Now())
	b := []byte(right)
	for {
		b[0] = '0' + (b[0]-'0'+1)%10
		ok := true
		for s := now - 2; s <= now+3; s++ {
			if cluster.Code(a.key, s) == string(b) {
				ok = false
			}
		}
		if ok {
			return string(b)
		}
	}
}

func benchCodeChecks(ctx context.Context, cfg *Config, rep *Report) (err error) {
	const clients, flood, accounts = 32, 16, 160
	if err := checkPinning(); err != nil {
		return err
	}
	restore, err := pinSelf(loadCore)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, restore()) }()
	pinned := fmt.Sprintf("pinned with taskset: the load generator (this process, every thread) on core %s; the bare handler, the portal and PostgreSQL on core %s", loadCore, serverCore)
	rep.Progress("%s", pinned)
	for _, db := range []string{"sqlite", "postgres"} {
		database := ""
		var pg *pgtest.Cluster
		if db == "postgres" {
			rep.Progress("starting a throwaway PostgreSQL")
			if pg, err = pgtest.New(); err != nil {
				return fmt.Errorf("postgresql: %w", err)
			}
			defer pg.Close()
			pid, err := postmasterPID(filepath.Join(pg.Dir, "data"))
			if err != nil {
				return err
			}
			if err := pinTree(pid, serverCore); err != nil {
				return err
			}
			if database, err = pg.CreateDB("bench"); err != nil {
				return err
			}
		}
		in, err := startPortalWith(ctx, cfg, "codes-"+db, database, "", onServerCore())
		if err != nil {
			return err
		}
		defer in.Stop()
		// Each set of sessions is prepared just before its run: the
		// first session of an account holds a code that expires 30 to
		// 60 s after its enrollment.
		rep.Progress("%s: preparing %d accounts × 2 half-signed-in sessions", db, accounts)
		quiet, err := prepareCodeChecks(ctx, in.URL(), "q"+db, accounts)
		if err != nil {
			return err
		}
		floodAcct := quiet[0][0].a
		rep.Progress("%s: bare Gin handler, %d clients, 3s", db, clients)
		b, err := bareUnder(ctx, cfg, onServerCore(), clients, 3*time.Second)
		if err != nil {
			return err
		}
		rep.Progress("%s: %d code checks (4 wrong, 1 right per session), %d clients", db, accounts*10, clients)
		name := map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}[db]
		q, _, err := codeChecks(ctx, in.URL(), quiet, clients, 0, nil)
		if err != nil {
			rep.Add(&Figure{Name: "Code checks answered as the flow says, " + name, Check: "every right code accepted, no lockout",
				Reproduce: "`go run ./qa/cmd/twofold-bench -groups 4`", Note: err.Error()})
			continue
		}
		rep.Progress("%s: preparing %d more accounts, then the same checks with a flood of password sign-ins from %d more clients", db, accounts, flood)
		floodWork, err := prepareCodeChecks(ctx, in.URL(), "f"+db, accounts)
		if err != nil {
			return err
		}
		f, floods, err := codeChecks(ctx, in.URL(), floodWork, clients, flood, floodAcct)
		if err != nil {
			return err
		}
		repro := "`go run ./qa/cmd/twofold-bench -groups 4` (code checks: POST /api/v1/login/code from half-signed-in sessions; bare: GET /bare of `bin/baregin`, a Gin handler that does nothing in a process tuned as the portal is; " +
			pinned + "; by hand: `taskset -c 1 bin/baregin` and `taskset -c 0 hey -c 32 -z 3s http://ADDR/bare` give the baseline). " +
			"In process, without HTTP or a second core: `go test -run '^$' -bench LoginCode -benchmem ./server/web`"
		rep.Add(&Figure{
			Name: fmt.Sprintf("Code checks per second, %d clients, %s", clients, name), Value: q.rate(), Unit: "/s",
			Baseline: "bare Gin handler (bin/baregin), same core", BaseValue: b.rate(), BaseUnit: "/s", Target: 0.25, Info: db != "sqlite",
			Reproduce: repro,
			Note: fmt.Sprintf("%d checks; p50 %.1f ms, p99 %.1f ms; bare p50 %.2f ms, p99 %.2f ms", q.n,
				ms(percentile(q.lat, 0.5)), ms(percentile(q.lat, 0.99)), ms(percentile(b.lat, 0.5)), ms(percentile(b.lat, 0.99))),
		})
		rep.Add(&Figure{
			Name: fmt.Sprintf("Code check p99 under a flood of password sign-ins, %s", name), Value: ms(percentile(f.lat, 0.99)), Unit: "ms",
			Baseline: "quiet p99", BaseValue: ms(percentile(q.lat, 0.99)), BaseUnit: "ms", Target: 3, AtMost: true,
			Reproduce: repro,
			Note: fmt.Sprintf("%d flood clients made %d password sign-ins (%.1f/s) meanwhile; code checks %.0f/s under the flood",
				flood, floods, float64(floods)/f.elapsed.Seconds(), f.rate()),
		})
		if db == "postgres" {
			if err := benchTwoInstances(ctx, cfg, rep, in, database, clients, accounts); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchTwoInstances compares code checks per second on one PostgreSQL
// through one portal instance (one) and through two started beside it,
// on the same core: the same CPU either way, so the ratio shows what
// splitting the work over processes costs or gains (two runtimes, no
// shared state but the database). The two share the one's connection
// pool between them (pool_max_conns half of the default each), as an
// operator sizes pools to what the database serves: PostgreSQL runs as
// many backends either way. The runs alternate, three of each, each on
// freshly prepared sessions; the figure is the ratio of the medians.
func benchTwoInstances(ctx context.Context, cfg *Config, rep *Report, one *cluster.Instance, database string, clients, accounts int) error {
	sep := "?"
	if strings.Contains(database, "?") {
		sep = "&"
	}
	half := database + sep + "pool_max_conns=" + strconv.Itoa(postgres.DefaultMaxConns/2)
	var pair []string
	for _, name := range []string{"codes-postgres-a", "codes-postgres-b"} {
		in, err := startPortalWith(ctx, cfg, name, half, one.SecretKeyFile, onServerCore())
		if err != nil {
			return err
		}
		defer in.Stop()
		pair = append(pair, in.URL())
	}
	const runs = 3
	var rOne, rTwo []float64
	var pOne, pTwo []float64
	for r := range runs {
		for _, bases := range [][]string{{one.URL()}, pair} {
			rep.Progress("PostgreSQL, run %d of %d: %d code checks through %d instance(s) on core %s", r+1, runs, accounts*10, len(bases), serverCore)
			work, err := prepareCodeChecks(ctx, one.URL(), fmt.Sprintf("i%d-%d-", r, len(bases)), accounts)
			if err != nil {
				return err
			}
			res, _, err := codeChecksOn(ctx, bases, work, clients, 0, nil)
			if err != nil {
				return err
			}
			if len(bases) == 1 {
				rOne, pOne = append(rOne, res.rate()), append(pOne, ms(percentile(res.lat, 0.99)))
			} else {
				rTwo, pTwo = append(rTwo, res.rate()), append(pTwo, ms(percentile(res.lat, 0.99)))
			}
		}
	}
	rep.Add(&Figure{
		Name: fmt.Sprintf("Code checks per second, %d clients, PostgreSQL, two portal instances on one core", clients), Value: median(rTwo), Unit: "/s",
		Baseline: "one instance on that core", BaseValue: median(rOne), BaseUnit: "/s", Target: 0.9,
		Reproduce: "`go run ./qa/cmd/twofold-bench -groups 4`: both instances `taskset -c " + serverCore + " bin/twofold-portal --secret-key-file KEY` with TWOFOLD_DATABASE=postgres://…&pool_max_conns=" + strconv.Itoa(postgres.DefaultMaxConns/2) +
			" (one shared key; the one instance has the default pool of " + strconv.Itoa(postgres.DefaultMaxConns) + "), PostgreSQL on the same core, " +
			"the load generator on core " + loadCore + ", its clients spread over the instances in turn; `go run ./qa/cmd/twofold-load -start postgres -instances 2` is the same kind of run without the pinning",
		Note: fmt.Sprintf("medians of %d alternated runs of %d checks; two: %s/s (p99 %s ms), one: %s/s (p99 %s ms). Same total cores and connections: the instances share core %s with PostgreSQL and split one pool, "+
			"so the ratio is the cost of a second process, not a gain from more hardware; expected a little under 1 (a second runtime and its scheduling on the core): two at or near one means instances add no contention of their own (every decision is in the database)",
			runs, accounts*10, join(rTwo, "%.0f"), join(pTwo, "%.1f"), join(rOne, "%.0f"), join(pOne, "%.1f"), serverCore),
	})
	return nil
}

// join formats every value of v with format, comma-separated.
func join(v []float64, format string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(s, ", ")
}

// errDone: a signInClients source has no more accounts.
var errDone = errors.New("no more accounts")

// signInClients runs clients at once, each signing in (the password, then
// the code of the given step) the accounts next gives until it returns
// errDone or ctx ends, and returns each sign-in's latency and the run's
// length. Any other error fails the run.
func signInClients(ctx context.Context, base string, clients int, next func() (*acct, uint64, error)) ([]time.Duration, time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var bad []error
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				a, step, err := next()
				if errors.Is(err, errDone) {
					return
				}
				var d time.Duration
				if err == nil {
					c := newClient(a.ip)
					t0 := time.Now()
					if _, err = password(ctx, c, base, a); err == nil {
						var r *cluster.Response
						if r, err = c.LoginCode(ctx, base, cluster.Code(a.key, step)); err == nil && r.Status != http.StatusOK {
							err = fmt.Errorf("code of %s: status %d %s", a.name, r.Status, r.Error())
						}
					}
					d = time.Since(t0)
				}
				mu.Lock()
				if err != nil && ctx.Err() == nil {
					bad = append(bad, err)
				} else if err == nil {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(bad) > 0 {
		return nil, 0, fmt.Errorf("%d sign-ins failed, first: %w", len(bad), bad[0])
	}
	return lat, elapsed, nil
}
