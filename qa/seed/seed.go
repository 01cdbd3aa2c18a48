// Package seed fills a portal database with many accounts and a year of
// their history, for the growth bench (issue 16): half of the accounts
// with two-factor authentication on and ten recovery codes, sign-ins,
// failures and other activity over the year, expired sessions and stale
// attempt counters for the pruner. It writes through the adapters' bulk
// path (portal.BulkLoader: batched transactions on SQLite, COPY on
// PostgreSQL), with values made as the portal makes them: one real
// argon2id hash computed once and reused, TOTP secrets sealed with the
// portal's own Keys for each account's id, recovery codes hashed with
// them.
//
// Account i is Config.Username(i); its key (Config.Key) and recovery
// codes (Config.RecoveryCodes) follow from Config.Seed and i, so the
// bench can sign any of them in.
package seed

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/shared/totp"
)

// Config says what to write.
type Config struct {
	Accounts int
	Prefix   string // usernames are Prefix + number: a-z, 0-9
	Password string // every account's password
	Issuer   string // the portal's --issuer, in the keys' URIs
	Master   []byte // the portal's master key (its secret key file)
	// Now ends the history; it spans History before it (default a year),
	// and accounts were created up to a month before that, so some
	// activity is older than a year-long retention.
	Now     time.Time
	History time.Duration
	// Seed makes the keys, codes and history reproducible; Rand gives
	// the nonces of the sealed secrets and the session ids.
	Seed uint64
	Rand io.Reader
	// Batch is accounts per transaction (default 5000); Writers is how
	// many transactions run at once (default 1: SQLite has one writer;
	// PostgreSQL spreads a COPY per connection over the cores).
	Batch   int
	Writers int
	// Progress, if set, is called after each batch with the accounts
	// written so far.
	Progress func(done int)
}

// Stats counts what Seed wrote.
type Stats struct {
	Accounts, TwoFactor, RecoveryCodes, Sessions, Events, Attempts int
	Took                                                           time.Duration
}

// Rows is every row written.
func (s *Stats) Rows() int {
	return s.Accounts + s.RecoveryCodes + s.Sessions + s.Events + s.Attempts
}

// Username is account i's name.
func (c *Config) Username(i int) string { return c.Prefix + strconv.Itoa(i) }

// IP is the address account i signs in from.
func (c *Config) IP(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", 100+i/62500%100, i/250%250, i%250+1)
}

// TwoFactor reports whether account i has two-factor authentication on:
// every even one.
func (c *Config) TwoFactor(i int) bool { return i%2 == 0 }

// stream is a reproducible random source for one purpose of account i.
func (c *Config) stream(purpose string, i int) *rand.ChaCha8 {
	h := sha256.New()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], c.Seed)
	binary.BigEndian.PutUint64(b[8:], uint64(i))
	h.Write(b[:])
	h.Write([]byte(purpose))
	var seed [32]byte
	copy(seed[:], h.Sum(nil))
	return rand.NewChaCha8(seed)
}

// Key is account i's TOTP key (for a TwoFactor account), as the portal
// generates one.
func (c *Config) Key(i int) (*totp.Key, error) {
	return totp.Generate(c.stream("key", i), c.Issuer, c.Username(i))
}

// RecoveryCodes are account i's unused recovery codes.
func (c *Config) RecoveryCodes(i int) ([]string, error) {
	return portal.NewRecoveryCodes(c.stream("recovery", i), portal.RecoveryCodeCount)
}

func (c *Config) check() error {
	switch {
	case c.Accounts < 1:
		return errors.New("seed: want at least one account")
	case c.Prefix == "" || c.Password == "" || c.Issuer == "":
		return errors.New("seed: prefix, password and issuer are required")
	case c.Now.IsZero() || c.Rand == nil:
		return errors.New("seed: the clock (Now) and the random source (Rand) are parameters: set both")
	}
	return nil
}

// Seed writes cfg.Accounts accounts through loader and reports what it
// wrote. Batches are built on one goroutine while Writers others write
// them: the database is the bottleneck.
func Seed(ctx context.Context, loader portal.BulkLoader, cfg Config) (*Stats, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.History <= 0 {
		cfg.History = 365 * 24 * time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 5000
	}
	keys, err := portal.NewKeys(cfg.Master)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	start := time.Now()
	// The one real hash, of the password as the portal normalises it.
	hash, err := portal.HashPassword(cfg.Rand, portal.OWASPParams, portal.NormalizePassword(cfg.Password))
	if err != nil {
		return nil, fmt.Errorf("seed: hashing the password: %w", err)
	}
	type batch struct {
		accounts []portal.BulkAccount
		attempts []portal.BulkAttempt
		err      error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, max(cfg.Writers, 1))
	go func() {
		defer close(batches)
		for first := 0; first < cfg.Accounts; first += cfg.Batch {
			n := min(cfg.Batch, cfg.Accounts-first)
			ids, err := loader.ReserveUserIDs(ctx, n)
			var b batch
			if err == nil {
				b.accounts, b.attempts, err = cfg.build(keys, hash, first, ids)
			}
			b.err = err
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	st := &Stats{}
	var mu sync.Mutex
	errs := make([]error, max(cfg.Writers, 1))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for b := range batches {
				err := b.err
				if err == nil {
					err = loader.LoadBulk(ctx, b.accounts, b.attempts)
				}
				if err != nil {
					errs[w] = err
					cancel() // the producer and the other writers stop
					return
				}
				mu.Lock()
				st.add(b.accounts, b.attempts)
				if cfg.Progress != nil {
					cfg.Progress(st.Accounts)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st.Took = time.Since(start)
	return st, nil
}

func (st *Stats) add(accounts []portal.BulkAccount, attempts []portal.BulkAttempt) {
	for i := range accounts {
		a := &accounts[i]
		st.Accounts++
		if a.User.TwoFactor() {
			st.TwoFactor++
		}
		st.RecoveryCodes += len(a.Recovery)
		st.Sessions += len(a.Sessions)
		st.Events += len(a.Events)
	}
	st.Attempts += len(attempts)
}

var browsers = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
}

// build makes the rows of accounts first.. with the reserved ids.
func (c *Config) build(keys *portal.Keys, hash string, first int, ids []int64) ([]portal.BulkAccount, []portal.BulkAttempt, error) {
	accounts := make([]portal.BulkAccount, len(ids))
	var attempts []portal.BulkAttempt
	rng := rand.New(c.stream("history", first))
	span := c.History + 30*24*time.Hour
	for j, id := range ids {
		i := first + j
		name := c.Username(i)
		ip := c.IP(i)
		created := c.Now.Add(-time.Duration(rng.Int64N(int64(span - 3*24*time.Hour)))).Add(-3 * 24 * time.Hour)
		a := &accounts[j]
		a.User = portal.User{ID: id, Username: name, DisplayName: "Customer " + strconv.Itoa(i), PasswordHash: hash, CreatedAt: created}
		a.Events = append(a.Events, portal.Event{Kind: portal.EventSignUp, IP: ip, At: created})
		at := func() time.Time { return created.Add(time.Duration(rng.Int64N(int64(c.Now.Sub(created) - time.Hour)))) }
		// Sessions and counters from before the last two days: expired,
		// stale (past every limit's window), the pruner's work.
		old := func() time.Time {
			return created.Add(time.Duration(rng.Int64N(int64(c.Now.Sub(created) - 2*24*time.Hour))))
		}
		twoFactor := c.TwoFactor(i)
		var k *totp.Key
		if twoFactor {
			on := created.Add(time.Duration(1+rng.IntN(600)) * time.Second)
			var err error
			if k, err = c.Key(i); err != nil {
				return nil, nil, err
			}
			if a.User.TOTPSecret, err = keys.SealKey(c.Rand, id, k, on.Add(-time.Minute)); err != nil {
				return nil, nil, err
			}
			a.User.TOTPLastStep = k.Step(on)
			codes, err := c.RecoveryCodes(i)
			if err != nil {
				return nil, nil, err
			}
			for _, code := range codes {
				a.Recovery = append(a.Recovery, keys.HashRecoveryCode(id, code))
			}
			a.Events = append(a.Events, portal.Event{Kind: portal.EventTwoFactorOn, IP: ip, At: on})
		}
		// Sign-ins over the account's life, some after a wrong password
		// or a wrong code; the last one set the last accepted step.
		var last time.Time
		for range 1 + rng.IntN(8) {
			t := at()
			if rng.IntN(7) == 0 {
				a.Events = append(a.Events, portal.Event{Kind: portal.EventSignInFailed, IP: ip, At: t.Add(-time.Minute)})
			}
			if twoFactor && rng.IntN(10) == 0 {
				a.Events = append(a.Events, portal.Event{Kind: portal.EventCodeFailed, IP: ip, At: t.Add(-30 * time.Second)})
			}
			a.Events = append(a.Events, portal.Event{Kind: portal.EventSignIn, IP: ip, At: t})
			if t.After(last) {
				last = t
			}
		}
		if twoFactor {
			a.User.TOTPLastStep = max(a.User.TOTPLastStep, k.Step(last))
		}
		// Sessions nobody ended: expired long ago, for the pruner.
		for range rng.IntN(3) {
			t := old()
			id := make([]byte, sha256.Size)
			if _, err := io.ReadFull(c.Rand, id); err != nil {
				return nil, nil, err
			}
			a.Sessions = append(a.Sessions, portal.Session{ID: id, UserID: a.User.ID, Stage: portal.StageFull, CreatedAt: t, LastSeenAt: t.Add(time.Duration(rng.IntN(1800)) * time.Second),
				AuthAt: t, IP: ip, UserAgent: browsers[rng.IntN(len(browsers))]})
		}
		// Counters of failures long past: stale, for the pruner.
		if rng.IntN(3) == 0 {
			attempts = append(attempts, portal.BulkAttempt{Attempt: portal.Attempt{Key: "pw:user:" + name, Failures: 1 + rng.IntN(3)}, LastAt: old()})
		}
		if twoFactor && rng.IntN(5) == 0 {
			attempts = append(attempts, portal.BulkAttempt{Attempt: portal.Attempt{Key: "2fa:user:" + strconv.FormatInt(id, 10), Failures: 1 + rng.IntN(3)}, LastAt: old()})
		}
		if rng.IntN(4) == 0 {
			attempts = append(attempts, portal.BulkAttempt{Attempt: portal.Attempt{Key: "pw:ip:" + ip, Failures: 1 + rng.IntN(5)}, LastAt: old()})
		}
	}
	return accounts, attempts, nil
}
