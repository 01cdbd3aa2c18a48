package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	portalseed "twofold.dev/qa/seed"
	"twofold.dev/server/cluster"
	"twofold.dev/server/pgtest"
	"twofold.dev/server/portal"
	"twofold.dev/server/postgres"
	"twofold.dev/server/sqlite"
)

// Group 6, portal growth (issue 16): the same measurements at 1,000
// accounts (the baseline) and at -growth-accounts, on SQLite and on
// PostgreSQL, each database seeded by qa/seed with a year of history.
const (
	growthBase       = 1000
	growthSignInRun  = 8 * time.Second
	growthSignInCli  = 4
	growthCodeAccts  = 128 // × 2 half-signed-in sessions × 5 checks
	growthCodeCli    = 16
	growthPortalName = "Twofold Portal"
)

// growthRun is what one database at one size measured.
type growthRun struct {
	accounts int
	stats    *portalseed.Stats
	bytes    int64
	rssRest  int64 // bytes
	rssLoad  int64 // bytes, the peak under load
	signIns  []time.Duration
	signInS  time.Duration
	codes    *loadResult
	pruned   *loadResult // nil: not measured at this size
	pruneErr error
	prune    pruneReport
	loadAvg  string
}

// pruneReport is what the pruner did while the code checks ran.
type pruneReport struct {
	how            string
	passes         int
	first, longest time.Duration
	before, after  tableRows
}

// tableRows counts the rows the pruner works on.
type tableRows struct{ sessions, attempts, activity int64 }

func (t tableRows) String() string {
	return fmt.Sprintf("%d sessions, %d attempt counters, %d activity events", t.sessions, t.attempts, t.activity)
}

func benchGrowth(ctx context.Context, cfg *Config, rep *Report) error {
	if cfg.GrowthAccounts <= growthBase {
		return fmt.Errorf("-growth-accounts %d: want more than the baseline's %d", cfg.GrowthAccounts, growthBase)
	}
	master := make([]byte, portal.MasterKeySize)
	rand.Read(master)
	rep.Progress("starting a throwaway PostgreSQL")
	pg, err := pgtest.New()
	if err != nil {
		return fmt.Errorf("postgresql: %w", err)
	}
	defer pg.Close()
	for _, db := range cfg.GrowthDatabases {
		small, err := growthMeasure(ctx, cfg, rep, pg, master, db, growthBase, false)
		if err != nil {
			return fmt.Errorf("%s at %d accounts: %w", db, growthBase, err)
		}
		large, err := growthMeasure(ctx, cfg, rep, pg, master, db, cfg.GrowthAccounts, true)
		if err != nil {
			return fmt.Errorf("%s at %d accounts: %w", db, cfg.GrowthAccounts, err)
		}
		growthFigures(cfg, rep, db, small, large)
	}
	return nil
}

// thousands writes n as 1,000,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func growthFigures(cfg *Config, rep *Report, db string, small, large *growthRun) {
	name := map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}[db]
	at := func(r *growthRun) string { return thousands(r.accounts) + " accounts" }
	base := "at " + at(small)
	repro := fmt.Sprintf("`scripts/with-keyring.sh go run ./qa/cmd/twofold-bench -groups 6 -growth-accounts %d` (accounts seeded by qa/seed; sign-ins and code checks on accounts picked at random among all)", large.accounts)
	seedNote := func(r *growthRun) string {
		return fmt.Sprintf("seeded %d accounts (%d with 2FA), %d recovery codes, %d events, %d sessions, %d counters in %.0fs (%.0f rows/s)",
			r.stats.Accounts, r.stats.TwoFactor, r.stats.RecoveryCodes, r.stats.Events, r.stats.Sessions, r.stats.Attempts,
			r.stats.Took.Seconds(), float64(r.stats.Rows())/r.stats.Took.Seconds())
	}
	for _, p := range []float64{0.5, 0.99} {
		rep.Add(&Figure{
			Name:  fmt.Sprintf("Full sign-in (password + code) p%.0f at %s, %s", p*100, at(large), name),
			Value: ms(percentile(large.signIns, p)), Unit: "ms", Baseline: base, BaseValue: ms(percentile(small.signIns, p)), BaseUnit: "ms",
			Target: 1.2, AtMost: true, Reproduce: repro,
			Note: fmt.Sprintf("%d sign-ins in %.1fs with %d clients (%d in %.1fs at %s); load average %s / %s",
				len(large.signIns), large.signInS.Seconds(), growthSignInCli, len(small.signIns), small.signInS.Seconds(), at(small), large.loadAvg, small.loadAvg),
		})
	}
	rep.Add(&Figure{
		Name:  fmt.Sprintf("Code checks per second at %s, %s", at(large), name),
		Value: large.codes.rate(), Unit: "/s", Baseline: base, BaseValue: small.codes.rate(), BaseUnit: "/s", Target: 1 / 1.2, Reproduce: repro,
		Note: fmt.Sprintf("%d checks (4 wrong, 1 right per session), %d clients; p50 %.1f ms, p99 %.1f ms (at %s: p50 %.1f ms, p99 %.1f ms)",
			large.codes.n, growthCodeCli, ms(percentile(large.codes.lat, 0.5)), ms(percentile(large.codes.lat, 0.99)), at(small),
			ms(percentile(small.codes.lat, 0.5)), ms(percentile(small.codes.lat, 0.99))),
	})
	how := "file size of portal.db after the seed (WAL checkpointed)"
	if db == "postgres" {
		how = "pg_total_relation_size over the portal's tables (indexes and TOAST included) after VACUUM ANALYZE"
	}
	rep.Add(&Figure{
		Name:  fmt.Sprintf("Bytes on disk per account at %s, %s", at(large), name),
		Value: float64(large.bytes) / float64(large.accounts), Unit: "B", Baseline: base,
		BaseValue: float64(small.bytes) / float64(small.accounts), BaseUnit: "B", Info: true, Reproduce: repro,
		Note: fmt.Sprintf("%s: %.1f MiB in all; %s", how, float64(large.bytes)/(1<<20), seedNote(large)),
	})
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	rep.Add(&Figure{
		Name:  fmt.Sprintf("Portal RSS at rest at %s, %s", at(large), name),
		Value: mib(large.rssRest), Unit: "MiB", Baseline: base, BaseValue: mib(small.rssRest), BaseUnit: "MiB", Target: 1.1, AtMost: true,
		Reproduce: repro, Note: "VmRSS of bin/twofold-portal once it answers /healthz, before any sign-in",
	})
	rep.Add(&Figure{
		Name:  fmt.Sprintf("Portal RSS under load at %s, %s", at(large), name),
		Value: mib(large.rssLoad), Unit: "MiB", Baseline: base, BaseValue: mib(small.rssLoad), BaseUnit: "MiB", Target: 1.1, AtMost: true,
		Reproduce: repro, Note: "peak VmRSS (sampled every 100 ms) during the sign-ins and code checks",
	})
	pruner := "the portal's own loop"
	if large.prune.passes > 0 {
		pruner = fmt.Sprintf("the pruner made %d passes (first %.1fs, longest %.1fs)", large.prune.passes, large.prune.first.Seconds(), large.prune.longest.Seconds())
	}
	if large.pruned == nil {
		rep.Add(&Figure{Name: fmt.Sprintf("Code checks answered while pruning runs at %s, %s", at(large), name), Check: "every check answered as the flow says",
			Reproduce: repro + "; pruning: " + large.prune.how, Note: fmt.Sprintf("%v; meanwhile %s; rows before: %v; after: %v",
				large.pruneErr, pruner, large.prune.before, large.prune.after)})
		return
	}
	rep.Add(&Figure{
		Name:  fmt.Sprintf("Code-check p99 while pruning runs at %s, %s", at(large), name),
		Value: ms(percentile(large.pruned.lat, 0.99)), Unit: "ms", Baseline: "without pruning, same size", BaseValue: ms(percentile(large.codes.lat, 0.99)),
		BaseUnit: "ms", Target: 1.5, AtMost: true, Reproduce: repro + "; pruning: " + large.prune.how,
		Note: fmt.Sprintf("%d checks in %.1fs while %s; rows before: %v; after: %v",
			large.pruned.n, large.pruned.elapsed.Seconds(), pruner, large.prune.before, large.prune.after),
	})
}

// growthMeasure seeds a new database of db with n accounts, runs the
// portal on it and measures; with prune, also the code checks while the
// pruner runs. It removes the database before it returns.
func growthMeasure(ctx context.Context, cfg *Config, rep *Report, pg *pgtest.Cluster, master []byte, db string, n int, prune bool) (*growthRun, error) {
	dir := filepath.Join(cfg.Work, fmt.Sprintf("growth-%s-%d", db, n))
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	keyFile := filepath.Join(dir, "secret.key")
	if err := cluster.WriteKeyFile(keyFile, master); err != nil {
		return nil, err
	}
	var database string
	if db == "postgres" {
		var err error
		if database, err = pg.CreateDB(fmt.Sprintf("growth%d", n)); err != nil {
			return nil, err
		}
		defer dropDB(pg, fmt.Sprintf("growth%d", n))
	}
	sc := portalseed.Config{Accounts: n, Prefix: "g", Password: benchPassword, Issuer: growthPortalName, Master: master,
		Now: time.Now(), Seed: mrand.Uint64(), Rand: rand.Reader, Writers: 1}
	if db == "postgres" {
		sc.Writers = 2 // a COPY per core
	}
	r := &growthRun{accounts: n}
	var err error
	if r.stats, r.bytes, err = growthSeed(ctx, rep, db, data, database, sc); err != nil {
		return nil, err
	}
	in := &cluster.Instance{Bin: filepath.Join(cfg.Bin, "twofold-portal"), Name: fmt.Sprintf("growth-%s-%d", db, n), Data: data,
		Database: database, SecretKeyFile: keyFile, Args: []string{"--trusted-proxies", "127.0.0.1", "--issuer", growthPortalName, "--prune-interval", "0"}}
	rep.Progress("%s, %s accounts: starting the portal", db, thousands(n))
	if err := in.Start(ctx); err != nil {
		return nil, err
	}
	defer in.Stop()
	pid, err := portalPID(in)
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Second) // at rest: started, nothing asked yet
	if r.rssRest, err = rss(pid); err != nil {
		return nil, err
	}
	peak := sampleRSS(ctx, pid)
	pick := newPicker(&sc)
	rep.Progress("%s, %s accounts: full sign-ins of random accounts, %d clients, %v", db, thousands(n), growthSignInCli, growthSignInRun)
	if r.signIns, r.signInS, err = growthSignIns(ctx, in.URL(), pick); err != nil {
		peak()
		return nil, err
	}
	rep.Progress("%s, %s accounts: %d random accounts × 2 half-signed-in sessions, then %d code checks with %d clients",
		db, thousands(n), growthCodeAccts, growthCodeAccts*10, growthCodeCli)
	work, err := growthSessions(ctx, in.URL(), pick)
	if err != nil {
		peak()
		return nil, err
	}
	if r.codes, _, err = codeChecks(ctx, in.URL(), work, growthCodeCli, 0, nil); err != nil {
		peak()
		return nil, err
	}
	r.rssLoad = peak()
	r.loadAvg = loadAvg()
	if !prune {
		return r, nil
	}
	rep.Progress("%s, %s accounts: the same code checks while the pruner runs", db, thousands(n))
	if work, err = growthSessions(ctx, in.URL(), pick); err != nil {
		return nil, err
	}
	if r.prune.before, err = countRows(ctx, db, data, database); err != nil {
		return nil, err
	}
	r.prune.how = "the portal's own loop with " + cfg.GrowthPruneArgs
	if cfg.GrowthPruneArgs != "" {
		// The portal's own loop, switched on by its flags: restart it so,
		// after the sessions are made (they are in the database), so that
		// the checks start while its first pass runs.
		in.Stop()
		in.Args = append(in.Args, strings.Fields(cfg.GrowthPruneArgs)...)
		if err := in.Start(ctx); err != nil {
			return nil, err
		}
	}
	var stopPruner func() ([]time.Duration, error)
	if cfg.GrowthPruneArgs == "" {
		r.prune.how = "portal.Service.Prune (what the portal's loop runs) in a loop from the bench, on the same database"
		if stopPruner, err = startPruner(ctx, db, data, database, master); err != nil {
			return nil, err
		}
		time.Sleep(200 * time.Millisecond) // the first pass under way
	}
	r.pruned, _, r.pruneErr = codeChecks(ctx, in.URL(), work, growthCodeCli, 0, nil)
	if r.pruneErr != nil {
		r.pruned = nil
	}
	if stopPruner != nil {
		passes, err := stopPruner()
		if err != nil {
			return nil, fmt.Errorf("pruner: %w", err)
		}
		r.prune.passes = len(passes)
		for i, d := range passes {
			if i == 0 {
				r.prune.first = d
			}
			r.prune.longest = max(r.prune.longest, d)
		}
	}
	if r.prune.after, err = countRows(ctx, db, data, database); err != nil {
		return nil, err
	}
	return r, nil
}

// growthSeed seeds the database and returns its size on disk.
func growthSeed(ctx context.Context, rep *Report, db, data, database string, sc portalseed.Config) (*portalseed.Stats, int64, error) {
	step := max(sc.Accounts/10, 1)
	next := step
	sc.Progress = func(done int) {
		if done >= next || done == sc.Accounts {
			rep.Progress("%s: seeded %s of %s accounts", db, thousands(done), thousands(sc.Accounts))
			next += step
		}
	}
	if db == "sqlite" {
		path := filepath.Join(data, "portal.db")
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, 0, err
		}
		stats, err := portalseed.Seed(ctx, st, sc)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, 0, err
		}
		var size int64
		for _, f := range []string{path, path + "-wal"} {
			if fi, err := os.Stat(f); err == nil {
				size += fi.Size()
			}
		}
		return stats, size, nil
	}
	st, err := postgres.Open(ctx, database)
	if err != nil {
		return nil, 0, err
	}
	stats, err := portalseed.Seed(ctx, st, sc)
	st.Close()
	if err != nil {
		return nil, 0, err
	}
	// What autovacuum would do after such a load, before anyone asks:
	// planner statistics and the visibility map.
	rep.Progress("postgres: VACUUM ANALYZE after the load")
	size, err := pgSize(ctx, database)
	return stats, size, err
}

// picker hands out accounts with 2FA in a random order over all of them,
// each once, so that no cache holds the accounts asked for.
type picker struct {
	mu   sync.Mutex
	sc   *portalseed.Config
	perm []int
	next int
}

func newPicker(sc *portalseed.Config) *picker {
	return &picker{sc: sc, perm: mrand.Perm((sc.Accounts + 1) / 2)}
}

func (p *picker) take() (*acct, error) {
	p.mu.Lock()
	if p.next == len(p.perm) {
		p.mu.Unlock()
		return nil, errors.New("every account with 2FA was used")
	}
	i := 2 * p.perm[p.next]
	p.next++
	p.mu.Unlock()
	k, err := p.sc.Key(i)
	if err != nil {
		return nil, err
	}
	return &acct{name: p.sc.Username(i), key: k, ip: p.sc.IP(i)}, nil
}

// growthSignIns signs random accounts in (password, then the current
// code) from growthSignInCli clients for growthSignInRun, or until the
// baseline's accounts run short (a third of them stay for the checks).
func growthSignIns(ctx context.Context, base string, pick *picker) ([]time.Duration, time.Duration, error) {
	budget := int64(len(pick.perm) / 3)
	var used atomic.Int64
	rctx, cancel := context.WithTimeout(ctx, growthSignInRun)
	defer cancel()
	lat, elapsed, err := signInClients(rctx, base, growthSignInCli, func() (*acct, uint64, error) {
		if used.Add(1) > budget {
			return nil, 0, errDone
		}
		a, err := pick.take()
		if err != nil {
			return nil, 0, err
		}
		return a, a.key.Step(time.Now()), nil
	})
	if err != nil {
		return nil, 0, err
	}
	if len(lat) < 10 {
		return nil, 0, fmt.Errorf("only %d sign-ins in %v", len(lat), elapsed)
	}
	return lat, elapsed, nil
}

// growthSessions signs growthCodeAccts random accounts in twice with the
// password only, off the clock, and gives their two sessions the current
// and the next step (set now, so that the preparation's length does not
// matter).
func growthSessions(ctx context.Context, base string, pick *picker) ([][]codeSession, error) {
	out := make([][]codeSession, growthCodeAccts)
	err := forEach(ctx, len(out), func(i int) error {
		a, err := pick.take()
		if err != nil {
			return err
		}
		for range 2 {
			c := newClient(a.ip)
			if _, err := password(ctx, c, base, a); err != nil {
				return err
			}
			out[i] = append(out[i], codeSession{a: a, c: c})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, w := range out {
		now := w[0].a.key.Step(time.Now())
		w[0].step, w[1].step = now, now+1
	}
	return out, nil
}

// startPruner runs the portal's pruning (Service.Prune, what the portal's
// loop runs: expired sessions, devices, counters, tokens, old mail and
// activity past its retention, in batches) on the database in a loop
// until the returned stop is called, which returns each pass's duration.
func startPruner(ctx context.Context, db, data, database string, master []byte) (func() ([]time.Duration, error), error) {
	var store portal.Store
	var closeStore func() error
	if db == "sqlite" {
		st, err := sqlite.Open(ctx, filepath.Join(data, "portal.db"))
		if err != nil {
			return nil, err
		}
		store, closeStore = st, st.Close
	} else {
		st, err := postgres.Open(ctx, database)
		if err != nil {
			return nil, err
		}
		store, closeStore = st, st.Close
	}
	keys, err := portal.NewKeys(master)
	if err != nil {
		closeStore()
		return nil, err
	}
	svc, err := portal.NewService(store, keys, portal.DefaultConfig(), time.Now, rand.Reader)
	if err != nil {
		closeStore()
		return nil, err
	}
	// stop ends the loop, not a pass: a pass under way runs to its end,
	// so that its length is known.
	stop := make(chan struct{})
	done := make(chan struct{})
	var passes []time.Duration
	var perr error
	go func() {
		defer close(done)
		for {
			t0 := time.Now()
			if _, err := svc.Prune(ctx); err != nil {
				perr = err
				return
			}
			passes = append(passes, time.Since(t0))
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() ([]time.Duration, error) {
		close(stop)
		<-done
		return passes, errors.Join(perr, closeStore())
	}, nil
}
