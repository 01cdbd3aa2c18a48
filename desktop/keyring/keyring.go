// Package keyring is the vault.Store that keeps each secret as one item in
// the OS keyring (github.com/zalando/go-keyring: Secret Service on Linux,
// Keychain on macOS, Credential Manager on Windows) and everything else in a
// non-secret JSON index of its own, since a keyring cannot list its items.
//
// The index (accounts.json in the directory given to Open, normally
// os.UserConfigDir()/twofold) holds labels, parameters, order and keyring
// item ids; it is rewritten atomically and never holds a secret.
package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// Service is the keyring service name every item is stored under; the
// item's user name is the account id.
const Service = "twofold"

// Backend is the keyring a Store talks to; go-keyring's package functions
// unless a test gives another. Get returns gokeyring.ErrNotFound for an
// item that does not exist.
type Backend interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

type osKeyring struct{}

func (osKeyring) Get(s, u string) (string, error) { return gokeyring.Get(s, u) }
func (osKeyring) Set(s, u, p string) error        { return gokeyring.Set(s, u, p) }
func (osKeyring) Delete(s, u string) error        { return gokeyring.Delete(s, u) }

// Options configure a Store; only Dir is required.
type Options struct {
	Dir     string        // where the index lives
	Timeout time.Duration // per keyring call; 0 waits as long as ctx allows
	Service string        // defaults to Service
	Backend Backend       // defaults to the OS keyring
	Rand    io.Reader     // for account ids; defaults to crypto/rand
}

// Store is a vault.Store on the OS keyring. It is safe for concurrent use
// within one process; the index is re-read before every change, so a
// command-line change shows up in a running window at its next reload.
type Store struct {
	opts    Options
	index   *index
	mu      sync.Mutex
	secrets map[string][]byte // cache of secrets read this session
}

var _ vault.Store = (*Store)(nil)

// Open returns the store whose index is in dir. It does not touch the
// keyring, so listing works even when the keyring is unavailable.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("opening account store: no config directory")
	}
	if opts.Service == "" {
		opts.Service = Service
	}
	if opts.Backend == nil {
		opts.Backend = osKeyring{}
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	s := &Store{opts: opts, index: &index{dir: opts.Dir}, secrets: map[string][]byte{}}
	if _, err := s.index.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// call runs one keyring operation with the store's timeout. The operation
// itself cannot be interrupted (a Secret Service prompt may be open), so on
// timeout it is left to finish in the background and its result dropped.
func (s *Store) call(ctx context.Context, what string, fn func() error) error {
	if s.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return classify(what, err)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (it may be locked and waiting for its password)", what, ErrTimeout)
	}
}

// ErrTimeout is vault.ErrKeyringTimeout; named here for callers' convenience.
var ErrTimeout = vault.ErrKeyringTimeout

func classify(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gokeyring.ErrNotFound):
		return err
	case errors.Is(err, gokeyring.ErrSetDataTooBig):
		return fmt.Errorf("%s: %w", what, err)
	case strings.Contains(strings.ToLower(err.Error()), "locked"):
		return fmt.Errorf("%s: %w: %v", what, vault.ErrKeyringLocked, err)
	}
	return fmt.Errorf("%s: %w: %v", what, vault.ErrKeyringUnavailable, err)
}

func (s *Store) List(ctx context.Context) ([]vault.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index.load()
}

func (s *Store) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.opts.Rand, b); err != nil {
		return "", fmt.Errorf("making account id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// secret returns an account's secret from the cache or the keyring. The
// caller holds s.mu.
func (s *Store) secret(ctx context.Context, a vault.Account) ([]byte, error) {
	if b, ok := s.secrets[a.ID]; ok {
		return b, nil
	}
	b, err := s.fetch(ctx, a)
	if err != nil {
		return nil, err
	}
	s.secrets[a.ID] = b
	return b, nil
}

// fetch reads an account's secret from the keyring. It needs no lock, so
// a window reading many accounts at start reads them in parallel.
func (s *Store) fetch(ctx context.Context, a vault.Account) ([]byte, error) {
	var enc string
	err := s.call(ctx, "reading "+a.Label()+" from the keyring", func() (err error) {
		enc, err = s.opts.Backend.Get(s.opts.Service, a.ID)
		return err
	})
	if errors.Is(err, gokeyring.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", a.Label(), vault.ErrSecretMissing)
	}
	if err != nil {
		return nil, err
	}
	b, err := totp.DecodeSecret(enc)
	if err != nil {
		return nil, fmt.Errorf("%s: keyring item is damaged (%v): %w", a.Label(), err, vault.ErrSecretMissing)
	}
	return b, nil
}

func (s *Store) Add(ctx context.Context, k *totp.Key) (vault.Account, error) {
	if err := k.Validate(); err != nil {
		return vault.Account{}, fmt.Errorf("adding %s: %w", k.Label(), err)
	}
	if err := vault.CheckName(k.Account); err != nil {
		return vault.Account{}, fmt.Errorf("adding %s: %w", k.Label(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list, err := s.index.load()
	if err != nil {
		return vault.Account{}, err
	}
	for _, a := range list {
		if a.Label() != k.Label() {
			continue
		}
		b, err := s.secret(ctx, a)
		if errors.Is(err, vault.ErrSecretMissing) {
			continue
		}
		if err != nil {
			return vault.Account{}, fmt.Errorf("adding %s: %w", k.Label(), err)
		}
		if bytes.Equal(b, k.Secret) {
			return vault.Account{}, fmt.Errorf("adding %s: %w", k.Label(), vault.ErrDuplicate)
		}
	}
	id, err := s.newID()
	if err != nil {
		return vault.Account{}, err
	}
	if err := s.call(ctx, "saving "+k.Label()+" in the keyring", func() error {
		return s.opts.Backend.Set(s.opts.Service, id, k.SecretBase32())
	}); err != nil {
		return vault.Account{}, err
	}
	a := vault.AccountOf(id, k)
	if err := s.index.save(append(list, a)); err != nil {
		// Leave no orphan secret behind.
		_ = s.call(context.WithoutCancel(ctx), "removing "+k.Label()+" from the keyring", func() error {
			return s.opts.Backend.Delete(s.opts.Service, id)
		})
		return vault.Account{}, err
	}
	s.secrets[id] = bytes.Clone(k.Secret)
	return a, nil
}

// change loads the index, lets fn edit account id in place (or the list),
// and saves. The caller holds s.mu.
func (s *Store) change(id string, fn func(list []vault.Account, i int) ([]vault.Account, error)) error {
	list, err := s.index.load()
	if err != nil {
		return err
	}
	i := indexOf(list, id)
	if i < 0 {
		return fmt.Errorf("account %s: %w", id, vault.ErrNotFound)
	}
	list, err = fn(list, i)
	if err != nil {
		return err
	}
	return s.index.save(list)
}

func indexOf(list []vault.Account, id string) int {
	for i, a := range list {
		if a.ID == id {
			return i
		}
	}
	return -1
}

func (s *Store) Rename(ctx context.Context, id, issuer, account string) error {
	issuer, account = strings.TrimSpace(issuer), strings.TrimSpace(account)
	if err := vault.CheckName(account); err != nil {
		return fmt.Errorf("renaming: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.change(id, func(list []vault.Account, i int) ([]vault.Account, error) {
		list[i].Issuer, list[i].Account = issuer, account
		return list, nil
	})
}

func (s *Store) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.change(id, func(list []vault.Account, i int) ([]vault.Account, error) {
		err := s.call(ctx, "removing "+list[i].Label()+" from the keyring", func() error {
			return s.opts.Backend.Delete(s.opts.Service, id)
		})
		if err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
			return nil, err
		}
		delete(s.secrets, id)
		return append(list[:i], list[i+1:]...), nil
	})
}

func (s *Store) Move(ctx context.Context, id string, to int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.change(id, func(list []vault.Account, i int) ([]vault.Account, error) {
		return vault.MoveAccount(list, i, to), nil
	})
}

// key returns account id with its secret, marking the account missing (or
// no longer missing) in the index as the keyring answers. The caller holds
// s.mu.
func (s *Store) key(ctx context.Context, id string) (*totp.Key, error) {
	return s.keyWith(ctx, id, nil)
}

// fetched is a keyring read done before the lock was taken.
type fetched struct {
	secret []byte
	err    error
}

// keyWith builds an account's key; pre, when not nil, is the keyring's
// answer already read for it. The caller holds s.mu.
func (s *Store) keyWith(ctx context.Context, id string, pre *fetched) (*totp.Key, error) {
	list, err := s.index.load()
	if err != nil {
		return nil, err
	}
	i := indexOf(list, id)
	if i < 0 {
		return nil, fmt.Errorf("account %s: %w", id, vault.ErrNotFound)
	}
	a := list[i]
	var secret []byte
	if cached, ok := s.secrets[id]; ok {
		secret = cached
	} else if pre != nil {
		secret, err = pre.secret, pre.err
		if err == nil {
			s.secrets[id] = secret
		}
	} else {
		secret, err = s.secret(ctx, a)
	}
	missing := errors.Is(err, vault.ErrSecretMissing)
	if err != nil && !missing {
		return nil, err
	}
	if missing != a.Missing {
		list[i].Missing = missing
		if err := s.index.save(list); err != nil {
			return nil, err
		}
	}
	if missing {
		return nil, err
	}
	a.Missing = false
	return a.Key(bytes.Clone(secret)), nil
}

// Key returns an account's key. A secret not yet cached is read from the
// keyring without holding the store's lock, so many Key calls at once (a
// window starting with many accounts) wait for the keyring in parallel.
func (s *Store) Key(ctx context.Context, id string) (*totp.Key, error) {
	s.mu.Lock()
	_, cached := s.secrets[id]
	list, err := s.index.load()
	s.mu.Unlock()
	var pre *fetched
	if i := indexOf(list, id); err == nil && !cached && i >= 0 {
		b, err := s.fetch(ctx, list[i])
		pre = &fetched{secret: b, err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyWith(ctx, id, pre)
}

func (s *Store) Code(ctx context.Context, id string, now time.Time) (string, error) {
	k, err := s.Key(ctx, id)
	if err != nil {
		return "", err
	}
	if k.Type != totp.TOTP {
		return "", fmt.Errorf("%s: %w: an HOTP account has no code by time", k.Label(), vault.ErrWrongType)
	}
	return k.Code(now)
}

func (s *Store) NextHOTP(ctx context.Context, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.key(ctx, id)
	if err != nil {
		return "", err
	}
	if k.Type != totp.HOTP {
		return "", fmt.Errorf("%s: %w: not an HOTP account", k.Label(), vault.ErrWrongType)
	}
	code, err := k.HOTPCode(k.Counter)
	if err != nil {
		return "", err
	}
	// The counter moves on before anyone sees the code.
	if err := s.change(id, func(list []vault.Account, i int) ([]vault.Account, error) {
		list[i].Counter = k.Counter + 1
		return list, nil
	}); err != nil {
		return "", fmt.Errorf("saving the HOTP counter of %s: %w", k.Label(), err)
	}
	return code, nil
}
