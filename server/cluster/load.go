package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"twofold.dev/shared/totp"
)

// LoadConfig describes a load run.
type LoadConfig struct {
	// Targets are the portal base URLs; each virtual user spreads its
	// requests over all of them in turn (login on one, code on the next).
	Targets []string
	// Users is the number of concurrent virtual users; each has
	// AccountsPerUser accounts of its own and moves to the next one when
	// the current one has no unused time step left.
	Users           int
	AccountsPerUser int
	Duration        time.Duration
	// WrongRate and ReplayRate are the shares of logins whose right code
	// is preceded by a wrong code, and by the last accepted code again
	// (which must be refused). Both stay below the lockout.
	WrongRate  float64
	ReplayRate float64
	// Prefix makes the usernames of one run unique (a-z, 0-9).
	Prefix string
	// ForwardedFor gives each virtual user an X-Forwarded-For address of
	// its own (10.77.x.y); the portal must trust 127.0.0.1 as a proxy.
	// Without it, all users share the per-IP password limit.
	ForwardedFor bool
	// IdleWait makes a virtual user whose accounts have used their steps
	// wait for the next step; by default it checks its sessions
	// (GET /api/v1/me) meanwhile.
	IdleWait bool
}

// Operation names in a Summary.
const (
	OpPassword = "password"    // POST /api/v1/login, expect 200
	OpCode     = "code"        // POST /api/v1/login/code, right code, expect 200
	OpWrong    = "code_wrong"  // a wrong code, expect 401
	OpReplay   = "code_replay" // the last accepted code again, expect 401
	OpSession  = "session"     // GET /api/v1/me, expect 200
)

const loadPassword = "load-test password 1"

// Load is a prepared run: accounts made and enrolled.
type Load struct {
	cfg       LoadConfig
	transport *http.Transport
	users     [][]*account
	setup     time.Duration
}

type account struct {
	name     string
	client   *Client
	key      *totp.Key
	last     uint64 // last step the portal accepted
	lastCode string
}

// PrepareLoad signs up and enrolls every account, Users at a time.
func PrepareLoad(ctx context.Context, cfg LoadConfig) (*Load, error) {
	if len(cfg.Targets) == 0 || cfg.Users < 1 {
		return nil, errors.New("load: need at least one target and one user")
	}
	if cfg.AccountsPerUser < 1 {
		cfg.AccountsPerUser = 1
	}
	if cfg.Prefix == "" {
		cfg.Prefix = fmt.Sprintf("load%d", time.Now().UnixNano()%1_000_000)
	}
	l := &Load{cfg: cfg, transport: &http.Transport{
		MaxIdleConns: 4 * cfg.Users, MaxIdleConnsPerHost: 2 * cfg.Users, IdleConnTimeout: 30 * time.Second,
	}}
	start := time.Now()
	l.users = make([][]*account, cfg.Users)
	errs := make([]error, cfg.Users)
	var wg sync.WaitGroup
	for u := range cfg.Users {
		wg.Go(func() {
			for a := range cfg.AccountsPerUser {
				acc, err := l.newAccount(ctx, u, a)
				if err != nil {
					errs[u] = err
					return
				}
				l.users[u] = append(l.users[u], acc)
			}
		})
	}
	wg.Wait()
	l.setup = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("load: preparing accounts: %w", err)
	}
	return l, nil
}

func (l *Load) newAccount(ctx context.Context, u, a int) (*account, error) {
	c := NewClient(l.transport)
	if l.cfg.ForwardedFor {
		c.ForwardedFor = fmt.Sprintf("10.77.%d.%d", u/250, u%250+1)
	}
	acc := &account{name: fmt.Sprintf("%s-%d-%d", l.cfg.Prefix, u, a), client: c}
	base := l.cfg.Targets[(u+a)%len(l.cfg.Targets)]
	k, step, _, err := c.Enroll(ctx, base, acc.name, loadPassword)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", acc.name, err)
	}
	acc.key, acc.last, acc.lastCode = k, step, Code(k, step)
	return acc, nil
}

// CloseIdle closes the load's idle connections, so the portal's
// goroutine and descriptor counts fall back.
func (l *Load) CloseIdle() { l.transport.CloseIdleConnections() }

// Run drives the portal for d and summarises. It returns when d has
// passed or ctx ends.
func (l *Load) Run(ctx context.Context, d time.Duration) *Summary {
	rec := newRecorder()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for u, accounts := range l.users {
		wg.Go(func() { l.virtualUser(ctx, u, accounts, rec) })
	}
	wg.Wait()
	return rec.summary(l, time.Since(start))
}

func (l *Load) virtualUser(ctx context.Context, u int, accounts []*account, rec *recorder) {
	rng := rand.New(rand.NewPCG(uint64(u), uint64(time.Now().UnixNano())))
	n := u // request counter: picks the target
	next := func() string { n++; return l.cfg.Targets[n%len(l.cfg.Targets)] }
	cur := 0
	for ctx.Err() == nil {
		// An account with an unused step: the current one or the next (the
		// portal accepts one step either side, so the next is safe even if
		// its clock passes a step boundary first).
		now := accounts[0].key.Step(time.Now())
		var acc *account
		var step uint64
		for i := range accounts {
			a := accounts[(cur+i)%len(accounts)]
			if s := max(a.last+1, now); s <= now+1 {
				acc, step, cur = a, s, (cur+i)%len(accounts)
				break
			}
		}
		if acc == nil && l.cfg.IdleWait {
			k := accounts[0].key
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(time.Unix(int64(now+1)*int64(k.Period), 0))):
			}
			continue
		}
		if acc == nil {
			// Every account used its steps: check sessions until the next.
			a := accounts[rng.IntN(len(accounts))]
			r, err := a.client.Get(ctx, next(), "/api/v1/me")
			rec.add(ctx, OpSession, r, err, http.StatusOK)
			continue
		}
		r, err := acc.client.Post(ctx, next(), "/api/v1/login", map[string]string{"username": acc.name, "password": loadPassword})
		if !rec.add(ctx, OpPassword, r, err, http.StatusOK) || r.Body["code_required"] != true {
			continue
		}
		if rng.Float64() < l.cfg.ReplayRate {
			r, err := acc.client.LoginCode(ctx, next(), acc.lastCode)
			rec.add(ctx, OpReplay, r, err, http.StatusUnauthorized)
			if r != nil && r.Status == http.StatusOK {
				rec.accept(acc.name, acc.last) // a replay let in: a duplicate
				continue
			}
		}
		if rng.Float64() < l.cfg.WrongRate {
			r, err := acc.client.LoginCode(ctx, next(), wrongCode(acc.key, now, rng))
			rec.add(ctx, OpWrong, r, err, http.StatusUnauthorized)
		}
		code := Code(acc.key, step)
		r, err = acc.client.LoginCode(ctx, next(), code)
		if rec.add(ctx, OpCode, r, err, http.StatusOK) {
			rec.accept(acc.name, step)
			acc.last, acc.lastCode = step, code
		}
	}
}

// wrongCode returns a code that matches no step near now.
func wrongCode(k *totp.Key, now uint64, rng *rand.Rand) string {
	for {
		c := fmt.Sprintf("%06d", rng.IntN(1_000_000))
		ok := true
		for s := now - 2; s <= now+2; s++ {
			if Code(k, s) == c {
				ok = false
			}
		}
		if ok {
			return c
		}
	}
}

// recorder collects the outcome of every request of a run.
type recorder struct {
	mu       sync.Mutex
	ops      map[string]*opRecord
	steps    map[string]map[uint64]int // accepted codes per user and step
	errors   Errors
	accepted int
}

type opRecord struct {
	lat        []time.Duration
	status     map[int]int
	unexpected int
}

func newRecorder() *recorder {
	return &recorder{ops: map[string]*opRecord{}, steps: map[string]map[uint64]int{}}
}

// add records one request and reports whether it got the status wanted.
// A request cut short by the end of the run is not counted.
func (r *recorder) add(ctx context.Context, op string, resp *Response, err error, want int) bool {
	if err != nil && ctx.Err() != nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.ops[op]
	if o == nil {
		o = &opRecord{status: map[int]int{}}
		r.ops[op] = o
	}
	switch {
	case err != nil:
		o.unexpected++
		r.errors.Transport++
		r.errors.sample(op + ": " + err.Error())
		return false
	case resp.Status != want:
		o.unexpected++
		if resp.Status >= 500 {
			r.errors.Server5xx++
		} else {
			r.errors.Client4xx++
		}
		r.errors.sample(fmt.Sprintf("%s: status %d, want %d: %s", op, resp.Status, want, resp.Error()))
	}
	if resp != nil {
		o.status[resp.Status]++
		o.lat = append(o.lat, resp.Latency)
	}
	return resp.Status == want
}

func (r *recorder) accept(user string, step uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.steps[user] == nil {
		r.steps[user] = map[uint64]int{}
	}
	r.steps[user][step]++
	r.accepted++
}

// Summary is the result of a run, as text (String) or JSON.
type Summary struct {
	// Slack is the goroutines and descriptors outside any bounded pool a
	// portal may gain over the run (set by the caller, for Check and the
	// printed bound).
	Slack          int                 `json:"slack"`
	Targets        []string            `json:"targets"`
	Users          int                 `json:"users"`
	Accounts       int                 `json:"accounts"`
	SetupSeconds   float64             `json:"setup_seconds"`
	Seconds        float64             `json:"seconds"`
	Requests       int                 `json:"requests"`
	RequestsPerSec float64             `json:"requests_per_sec"`
	Latency        Latency             `json:"latency_ms"`
	Ops            map[string]*OpStats `json:"ops"`
	// FullLogins are password + right code sign-ins; CodeChecks are all
	// code submissions (right, wrong and replayed).
	FullLogins       int     `json:"full_logins"`
	FullLoginsPerSec float64 `json:"full_logins_per_sec"`
	CodeChecks       int     `json:"code_checks"`
	CodeChecksPerSec float64 `json:"code_checks_per_sec"`
	// AcceptedCodes counts codes the portal accepted; DuplicateCodes
	// those accepted for a user and step already accepted (must be 0).
	AcceptedCodes  int    `json:"accepted_codes"`
	DuplicateCodes int    `json:"duplicate_codes"`
	Errors         Errors `json:"errors"`
	// Server holds the portal's counters before and after, when read.
	Server []ServerCounters `json:"server,omitempty"`
}

// OpStats are the numbers of one operation.
type OpStats struct {
	Requests   int            `json:"requests"`
	PerSec     float64        `json:"per_sec"`
	Latency    Latency        `json:"latency_ms"`
	Status     map[string]int `json:"status"`
	Unexpected int            `json:"unexpected"`
}

// Latency percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Errors counts the requests that did not get the status expected:
// Client4xx and Server5xx by the status received, Transport when there
// was no response. Samples holds the first few, without secrets.
type Errors struct {
	Client4xx int      `json:"client_4xx"`
	Server5xx int      `json:"server_5xx"`
	Transport int      `json:"transport"`
	Samples   []string `json:"samples,omitempty"`
}

func (e *Errors) sample(s string) {
	if len(e.Samples) < 10 {
		e.Samples = append(e.Samples, s)
	}
}

// Total is the number of failed requests.
func (e Errors) Total() int { return e.Client4xx + e.Server5xx + e.Transport }

// ServerCounters are what an instance's /debug/vars says before and
// after a run.
type ServerCounters struct {
	Instance string `json:"instance"`
	Before   Vars   `json:"before"`
	After    Vars   `json:"after"`
}

func (r *recorder) summary(l *Load, elapsed time.Duration) *Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := elapsed.Seconds()
	s := &Summary{
		Targets: l.cfg.Targets, Users: l.cfg.Users, Accounts: l.cfg.Users * l.cfg.AccountsPerUser,
		SetupSeconds: l.setup.Seconds(), Seconds: secs, Ops: map[string]*OpStats{},
		AcceptedCodes: r.accepted, Errors: r.errors,
	}
	var all []time.Duration
	for name, o := range r.ops {
		st := &OpStats{Requests: len(o.lat), PerSec: float64(len(o.lat)) / secs, Latency: percentiles(o.lat),
			Status: map[string]int{}, Unexpected: o.unexpected}
		for code, n := range o.status {
			st.Status[fmt.Sprint(code)] = n
		}
		s.Ops[name] = st
		s.Requests += len(o.lat)
		all = append(all, o.lat...)
	}
	s.RequestsPerSec = float64(s.Requests) / secs
	s.Latency = percentiles(all)
	if o := r.ops[OpCode]; o != nil {
		s.FullLogins = o.status[http.StatusOK]
	}
	for _, op := range []string{OpCode, OpWrong, OpReplay} {
		if o := r.ops[op]; o != nil {
			s.CodeChecks += len(o.lat)
		}
	}
	s.FullLoginsPerSec = float64(s.FullLogins) / secs
	s.CodeChecksPerSec = float64(s.CodeChecks) / secs
	for _, steps := range r.steps {
		for _, n := range steps {
			s.DuplicateCodes += n - 1
		}
	}
	return s
}

func percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	d = slices.Clone(d)
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(p * float64(len(d)-1))
		return float64(d[i]) / float64(time.Millisecond)
	}
	return Latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: at(1)}
}

// JSON writes the summary as indented JSON.
func (s *Summary) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// String is the summary for people.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "targets:        %s\n", strings.Join(s.Targets, " "))
	fmt.Fprintf(&b, "users:          %d virtual users, %d accounts (set up in %.1fs)\n", s.Users, s.Accounts, s.SetupSeconds)
	fmt.Fprintf(&b, "run:            %.1fs, %d requests, %.1f req/s\n", s.Seconds, s.Requests, s.RequestsPerSec)
	fmt.Fprintf(&b, "latency:        p50 %.1fms  p90 %.1fms  p99 %.1fms  max %.1fms\n", s.Latency.P50, s.Latency.P90, s.Latency.P99, s.Latency.Max)
	fmt.Fprintf(&b, "full logins:    %d (%.1f/s)\n", s.FullLogins, s.FullLoginsPerSec)
	fmt.Fprintf(&b, "code checks:    %d (%.1f/s)\n", s.CodeChecks, s.CodeChecksPerSec)
	fmt.Fprintf(&b, "accepted codes: %d, accepted twice for one user and step: %d\n", s.AcceptedCodes, s.DuplicateCodes)
	fmt.Fprintf(&b, "errors:         %d 4xx, %d 5xx, %d transport\n", s.Errors.Client4xx, s.Errors.Server5xx, s.Errors.Transport)
	names := make([]string, 0, len(s.Ops))
	for n := range s.Ops {
		names = append(names, n)
	}
	slices.Sort(names)
	fmt.Fprintf(&b, "%-12s %8s %9s %8s %8s %8s  %s\n", "operation", "requests", "per sec", "p50 ms", "p99 ms", "max ms", "statuses")
	for _, n := range names {
		o := s.Ops[n]
		codes := make([]string, 0, len(o.Status))
		for c, k := range o.Status {
			codes = append(codes, fmt.Sprintf("%s×%d", c, k))
		}
		slices.Sort(codes)
		fmt.Fprintf(&b, "%-12s %8d %9.1f %8.1f %8.1f %8.1f  %s\n", n, o.Requests, o.PerSec, o.Latency.P50, o.Latency.P99, o.Latency.Max, strings.Join(codes, " "))
	}
	for _, c := range s.Server {
		fmt.Fprintf(&b, "server %s:  goroutines %d -> %d, open fds %d -> %d (database connections %d -> %d of at most %d, client connections %d -> %d, other fds %d -> %d, bound %d)\n",
			c.Instance, c.Before.Goroutines, c.After.Goroutines, c.Before.OpenFDs, c.After.OpenFDs,
			c.Before.DBConns, c.After.DBConns, c.After.DBMaxConns, c.Before.ClientConns, c.After.ClientConns,
			c.Before.OtherFDs(), c.After.OtherFDs(), c.FDBound(s.Slack))
	}
	for _, e := range s.Errors.Samples {
		fmt.Fprintf(&b, "  error: %s\n", e)
	}
	return b.String()
}

// Check returns an error for what must not happen in any run: a server
// error, a code accepted twice, goroutines or descriptors that grew by
// more than slack.
func (s *Summary) Check(slack int) error {
	var errs []error
	if s.Errors.Server5xx > 0 {
		errs = append(errs, fmt.Errorf("%d server errors (5xx)", s.Errors.Server5xx))
	}
	if s.DuplicateCodes > 0 {
		errs = append(errs, fmt.Errorf("%d codes accepted twice for one user and step", s.DuplicateCodes))
	}
	for _, c := range s.Server {
		if c.After.Goroutines > c.Before.Goroutines+slack {
			errs = append(errs, fmt.Errorf("instance %s: goroutines grew from %d to %d", c.Instance, c.Before.Goroutines, c.After.Goroutines))
		}
		// A leak is a descriptor that is neither a database connection
		// nor a client's: those pools are bounded, and may end a run
		// fuller than they began it.
		if c.After.OtherFDs() > c.Before.OtherFDs()+slack {
			errs = append(errs, fmt.Errorf("instance %s: file descriptors other than database and client connections grew from %d to %d (a leak)",
				c.Instance, c.Before.OtherFDs(), c.After.OtherFDs()))
		}
		if bound := c.FDBound(slack); c.After.OpenFDs > bound {
			errs = append(errs, fmt.Errorf("instance %s: %d open file descriptors, over the bound of %d (%d before, the database pool filled to its %d connections, %d client connections)",
				c.Instance, c.After.OpenFDs, bound, c.Before.OpenFDs, c.After.DBMaxConns, c.After.ClientConns))
		}
	}
	return errors.Join(errs...)
}

// Vars are the portal's runtime counters from /debug/vars. A portal that
// does not report its pools leaves their counts 0.
type Vars struct {
	Goroutines  int `json:"goroutines"`
	OpenFDs     int `json:"open_fds"`
	DBConns     int `json:"db_conns"`     // database connections open
	DBMaxConns  int `json:"db_max_conns"` // the pool's limit
	ClientConns int `json:"client_conns"` // client (HTTP) connections open
}

// OtherFDs is the open descriptors that belong to no bounded pool: the
// listeners, the runtime's, SQLite's files. A run must not change it.
func (v Vars) OtherFDs() int { return v.OpenFDs - v.DBConns - v.ClientConns }

// FDBound is how many descriptors the portal may hold after a run
// without a leak: what it held before, plus the database connections its
// pool may still open (one descriptor each: PostgreSQL's sockets; SQLite
// opens its whole pool at start), plus the client connections still
// open, plus slack.
func (c ServerCounters) FDBound(slack int) int {
	grow := max(c.After.DBMaxConns-c.Before.DBConns, 0)
	return c.Before.OpenFDs + grow + c.After.ClientConns + slack
}

// ReadVars reads the counters of the debug listener at debugURL.
func ReadVars(ctx context.Context, debugURL string) (Vars, error) {
	var v Vars
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, debugURL+"/debug/vars", nil)
	if err != nil {
		return v, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return v, fmt.Errorf("reading /debug/vars: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("reading /debug/vars: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return v, fmt.Errorf("reading /debug/vars: %w", err)
	}
	if v.Goroutines == 0 || v.OpenFDs == 0 {
		return v, errors.New("reading /debug/vars: no goroutines or open_fds counter")
	}
	return v, nil
}

// SettledVars reads the counters until they stop falling (connections of
// the run closing), for at most timeout, and returns the last reading.
// With limit set, it stops as soon as both are at or below it.
func SettledVars(ctx context.Context, debugURL string, limit *Vars, timeout time.Duration) (Vars, error) {
	deadline := time.Now().Add(timeout)
	prev, err := ReadVars(ctx, debugURL)
	if err != nil {
		return prev, err
	}
	stable := 0
	for time.Now().Before(deadline) {
		if limit != nil && prev.Goroutines <= limit.Goroutines && prev.OpenFDs <= limit.OpenFDs {
			return prev, nil
		}
		select {
		case <-ctx.Done():
			return prev, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		v, err := ReadVars(ctx, debugURL)
		if err != nil {
			return v, err
		}
		if v == prev {
			if stable++; stable >= 5 && limit == nil {
				return v, nil
			}
		} else {
			stable = 0
		}
		prev = v
	}
	return prev, nil
}
