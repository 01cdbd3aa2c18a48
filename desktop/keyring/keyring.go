// Package keyring is the vault.Store that keeps each secret as one item in
// the OS keyring (Secret Service on Linux, Credential Manager on Windows,
// Keychain on macOS through github.com/zalando/go-keyring) and everything
// else in a non-secret JSON index of its own.
//
// The index (accounts.json in the directory given to Open, normally
// os.UserConfigDir()/twofold) holds labels, parameters, order and keyring
// item ids; it never holds a secret. The window, the command line and any
// number of command-line processes share it: every change takes a file
// lock (accounts.json.lock, github.com/gofrs/flock: flock(2) on Unix,
// LockFileEx on Windows), reads the index afresh, and writes it atomically.
//
// Each keyring item also carries its account's name and parameters as
// attributes and a readable label ("Twofold: GitHub (joe)"), so a lost or
// damaged index can be rebuilt from the keyring (Repair).
package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	gokeyring "github.com/zalando/go-keyring"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// Service is the keyring service name every item is stored under; the
// item's user name is the account id.
const Service = "twofold"

// LockFile is the name of the lock beside the index. It is never renamed
// or deleted, so every process locks the same file. AddingFile is held
// shared by every Add from before its keyring item is written until its
// index entry is (see Orphans).
const (
	LockFile   = IndexFile + ".lock"
	AddingFile = IndexFile + ".adding"
)

// Backend is the keyring a Store talks to. Get returns gokeyring.ErrNotFound
// for an item that does not exist. A Backend that is also an ItemBackend
// gets each item's label and attributes, and makes Repair possible.
type Backend interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

// Options configure a Store; only Dir is required.
type Options struct {
	Dir     string        // where the index lives
	Timeout time.Duration // per keyring call; 0 waits as long as ctx allows
	// LockWait is how long a change waits for another Twofold to release
	// the index before it gives up with vault.ErrBusy; by default 30 s or
	// three keyring calls' Timeout, whichever is longer (the holder may be
	// waiting for the keyring: a waiter must not give up first), and
	// never longer than ctx allows.
	LockWait time.Duration
	Service  string           // defaults to Service
	Backend  Backend          // defaults to the OS keyring
	Rand     io.Reader        // for account ids; defaults to crypto/rand
	Now      func() time.Time // names damaged indexes kept aside; time.Now
	// Catalog keeps the accounts in the keyring too, for a keyring that
	// cannot list its items (see catalog.go); Open sets it for the default
	// backend on macOS.
	Catalog bool
	// Crash, when set, is called at named steps of a change: after a new
	// item is in the keyring ("keyring-set"), and inside the lock while
	// the index is written ("index-half-written", "index-before-rename",
	// "index-renamed"); tests kill the process there.
	Crash func(stage string)
}

// DefaultLockWait is Options.LockWait's default: longer than a keyring
// call's usual timeout, since the holder may be waiting for the keyring.
const DefaultLockWait = 30 * time.Second

// Store is a vault.Store on the OS keyring, safe for concurrent use by
// goroutines and by processes sharing its directory.
type Store struct {
	opts  Options
	dir   string // opts.Dir made absolute, for the items' dir attribute
	index *index
	items ItemBackend // opts.Backend, when it keeps attributes; else nil

	// writing serializes this process's changes; the file lock then
	// serializes processes.
	writing sync.Mutex
	// noFileLock leaves the file lock out, for the benchmark that
	// measures what it costs; nothing else sets it.
	noFileLock bool

	mu      sync.Mutex
	secrets map[string][]byte // cache of secrets read this session
}

var _ vault.Store = (*Store)(nil)

// Open returns the store whose index is in dir. It touches neither the
// keyring nor the disk: a damaged index is reported by List, so a window
// can still open and offer Repair.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("opening account store: no config directory")
	}
	if opts.Service == "" {
		opts.Service = Service
	}
	if opts.Backend == nil {
		opts.Backend = defaultBackend()
		_, lists := opts.Backend.(ItemBackend)
		opts.Catalog = !lists
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LockWait <= 0 {
		opts.LockWait = max(DefaultLockWait, 3*opts.Timeout)
	}
	items, _ := opts.Backend.(ItemBackend)
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening account store: %w", err)
	}
	return &Store{
		opts:    opts,
		dir:     dir,
		index:   &index{dir: opts.Dir, crash: opts.Crash},
		items:   items,
		secrets: map[string][]byte{},
	}, nil
}

func (s *Store) crash(stage string) {
	if s.opts.Crash != nil {
		s.opts.Crash(stage)
	}
}

// locked runs fn holding the index's file lock (shared when !exclusive),
// waiting at most LockWait and as long as ctx allows.
func (s *Store) locked(ctx context.Context, exclusive bool, fn func() error) error {
	s.writing.Lock()
	defer s.writing.Unlock()
	if s.noFileLock {
		return fn()
	}
	fl, err := s.lockFile(ctx, LockFile, exclusive, "the account list")
	if err != nil {
		return err
	}
	defer fl.Close()
	if exclusive {
		s.index.removeTemps()
	}
	return fn()
}

// lockFile takes the file lock name in the store's directory (shared when
// !exclusive), waiting at most LockWait and as long as ctx allows; what
// names it in errors. A waiter blocks in the kernel (flock(2), LockFileEx)
// rather than polling, so it takes the lock as soon as it is free and a
// busy window cannot starve commands. The blocking call cannot be
// interrupted: a wait given up on is left to finish in the background and
// then releases the lock at once. Each wait opens its own handle, since a
// flock.Flock is not for concurrent use. The caller closes the lock.
func (s *Store) lockFile(ctx context.Context, name string, exclusive bool, what string) (*flock.Flock, error) {
	if err := os.MkdirAll(s.opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening account store: %w", err)
	}
	fl := flock.New(filepath.Join(s.opts.Dir, name), flock.SetPermissions(0o600))
	try, block := fl.TryLock, fl.Lock
	if !exclusive {
		try, block = fl.TryRLock, fl.RLock
	}
	ok, err := try()
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", what, err)
	}
	if ok {
		return fl, nil
	}
	got := make(chan error, 1)
	go func() { got <- block() }()
	wait := time.NewTimer(s.opts.LockWait)
	defer wait.Stop()
	select {
	case err = <-got:
		if err != nil {
			return nil, fmt.Errorf("locking %s: %w", what, err)
		}
		return fl, nil
	case <-ctx.Done():
		go release(fl, got)
		return nil, fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	case <-wait.C:
		go release(fl, got)
		return nil, fmt.Errorf("waited %v for %s, which another Twofold kept locked: %w", s.opts.LockWait, what, vault.ErrBusy)
	}
}

// release lets go of a lock whose waiter gave up, once it is taken.
func release(fl *flock.Flock, got <-chan error) {
	if <-got == nil {
		fl.Close()
	}
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

// isLocked tells a locked keyring by go-keyring's words: it has no error
// value for it. On Linux a locked collection whose unlock prompt could not
// be shown or was dismissed gives "failed to unlock correct collection …"
// (TestLockedKeyringIsSaidLocked gets it from a real gnome-keyring).
func isLocked(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "locked") || strings.Contains(msg, "failed to unlock")
}

func classify(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gokeyring.ErrNotFound):
		return err
	case errors.Is(err, gokeyring.ErrSetDataTooBig):
		return fmt.Errorf("%s: %w", what, err)
	case isLocked(err):
		return fmt.Errorf("%s: %w: %v", what, vault.ErrKeyringLocked, err)
	}
	return fmt.Errorf("%s: %w: %s", what, vault.ErrKeyringUnavailable, cause(err))
}

// List reads the index without the lock: writers replace it atomically,
// so it is always a whole list.
func (s *Store) List(ctx context.Context) ([]vault.Account, error) {
	return s.index.load()
}

func (s *Store) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.opts.Rand, b); err != nil {
		return "", fmt.Errorf("making account id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// secret returns an account's secret from the cache or the keyring.
func (s *Store) secret(ctx context.Context, a vault.Account) ([]byte, error) {
	s.mu.Lock()
	b, ok := s.secrets[a.ID]
	s.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := s.fetch(ctx, a)
	if err != nil {
		return nil, err
	}
	s.remember(a.ID, b)
	return b, nil
}

func (s *Store) remember(id string, secret []byte) {
	s.mu.Lock()
	s.secrets[id] = bytes.Clone(secret)
	s.mu.Unlock()
}

func (s *Store) forget(id string) {
	s.mu.Lock()
	delete(s.secrets, id)
	s.mu.Unlock()
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

// store writes a new item: with its label and attributes when the backend
// keeps them, so an item whose index entry is lost (a crash between the
// two writes) is found and restored by Repair.
func (s *Store) store(ctx context.Context, a vault.Account, secret string) error {
	return s.call(ctx, "saving "+a.Label()+" in the keyring", func() error {
		if s.items != nil {
			return s.items.SetItem(s.opts.Service, a.ID, secret, ItemLabel(a), ItemAttrs(s.opts.Service, s.dir, a))
		}
		return s.opts.Backend.Set(s.opts.Service, a.ID, secret)
	})
}

// describe writes a's label and attributes onto its item; nothing to do
// for a backend without attributes.
func (s *Store) describe(ctx context.Context, a vault.Account) error {
	if s.items == nil {
		return nil
	}
	return s.call(ctx, "describing "+a.Label()+" in the keyring", func() error {
		return s.items.Describe(s.opts.Service, a.ID, ItemLabel(a), ItemAttrs(s.opts.Service, s.dir, a))
	})
}

func (s *Store) remove(ctx context.Context, a vault.Account) error {
	err := s.call(ctx, "removing "+a.Label()+" from the keyring", func() error {
		return s.opts.Backend.Delete(s.opts.Service, a.ID)
	})
	if errors.Is(err, gokeyring.ErrNotFound) {
		err = nil
	}
	s.forget(a.ID)
	return err
}

func (s *Store) Add(ctx context.Context, k *totp.Key) (vault.Account, error) {
	return s.AddWith(ctx, k, vault.RefuseTaken)
}

// AddWith stores k. The keyring item, with the account's name and
// parameters, is written first, outside the lock (a keyring that is
// unavailable fails before the index is touched, and a slow one holds no
// other Twofold up); then, inside the lock, the index is read afresh, the
// label checked and the index written. A refused or failed add deletes
// its item again; a process that dies in between leaves an item that
// Orphans reports and Repair restores, never a lost secret.
func (s *Store) AddWith(ctx context.Context, k *totp.Key, taken vault.OnLabelTaken) (vault.Account, error) {
	if err := k.Validate(); err != nil {
		return vault.Account{}, fmt.Errorf("adding %s: %w", k.Label(), err)
	}
	if err := vault.CheckName(k.Account); err != nil {
		return vault.Account{}, fmt.Errorf("adding %s: %w", k.Label(), err)
	}
	id, err := s.newID()
	if err != nil {
		return vault.Account{}, err
	}
	a := vault.AccountOf(id, k)
	// Until the index lists it (or the add gives up and deletes it), the
	// new item is in the keyring alone: Orphans must not call it lost.
	if !s.noFileLock {
		adding, err := s.lockFile(ctx, AddingFile, false, "the account list")
		if err != nil {
			return vault.Account{}, err
		}
		defer adding.Close()
	}
	if err := s.store(ctx, a, k.SecretBase32()); err != nil {
		return vault.Account{}, err
	}
	s.crash("keyring-set")
	var replaced []vault.Account
	err = s.locked(ctx, true, func() error {
		list, err := s.index.fresh()
		if err != nil {
			return err
		}
		if indexOf(list, id) >= 0 {
			return nil // a repair in between restored it already
		}
		same := vault.SameLabel(list, k.Label(), "")
		for _, o := range same {
			b, err := s.secret(ctx, o)
			if errors.Is(err, vault.ErrSecretMissing) {
				continue
			}
			if err != nil {
				return fmt.Errorf("adding %s: %w", k.Label(), err)
			}
			if bytes.Equal(b, k.Secret) {
				return fmt.Errorf("adding %s: %w", k.Label(), vault.ErrDuplicate)
			}
		}
		if len(same) > 0 && taken == vault.RefuseTaken {
			return fmt.Errorf("adding %s: %w", k.Label(), &vault.LabelTakenError{Label: k.Label(), Existing: same[0]})
		}
		list = append(list, a)
		if taken == vault.ReplaceTaken {
			for _, o := range same {
				list = without(list, o.ID)
			}
			replaced = same
		}
		return s.save(ctx, list)
	})
	if err != nil {
		// Leave no orphan secret behind.
		_ = s.remove(context.WithoutCancel(ctx), a)
		return vault.Account{}, err
	}
	s.remember(id, k.Secret)
	// The replaced items go after the index no longer lists them: one that
	// cannot be deleted now is an orphan, offered back, never a loss.
	for _, o := range replaced {
		if err := s.remove(ctx, o); err != nil {
			return a, fmt.Errorf("added %s, but the replaced account's keyring item stays (twofold repair offers it back): %w", a.Label(), err)
		}
	}
	return a, nil
}

func without(list []vault.Account, id string) []vault.Account {
	if i := indexOf(list, id); i >= 0 {
		return append(list[:i], list[i+1:]...)
	}
	return list
}

// change runs fn on the index, read afresh under the lock, with the
// position of account id, and saves the list fn returns.
func (s *Store) change(ctx context.Context, id string, fn func(list []vault.Account, i int) ([]vault.Account, error)) error {
	return s.locked(ctx, true, func() error {
		list, err := s.index.fresh()
		if err != nil {
			return err
		}
		i := indexOf(list, id)
		if i < 0 {
			return fmt.Errorf("account %s: %w", vault.ShortID(id), vault.ErrNotFound)
		}
		list, err = fn(list, i)
		if err != nil {
			return err
		}
		return s.save(ctx, list)
	})
}

func indexOf(list []vault.Account, id string) int {
	for i, a := range list {
		if a.ID == id {
			return i
		}
	}
	return -1
}

// Rename writes the new name onto the keyring item first, then the index:
// if the keyring refuses, nothing changed.
func (s *Store) Rename(ctx context.Context, id, issuer, account string) error {
	issuer, account = strings.TrimSpace(issuer), strings.TrimSpace(account)
	if err := vault.CheckName(account); err != nil {
		return fmt.Errorf("renaming: %w", err)
	}
	return s.change(ctx, id, func(list []vault.Account, i int) ([]vault.Account, error) {
		a := list[i]
		a.Issuer, a.Account = issuer, account
		if same := vault.SameLabel(list, a.Label(), id); len(same) > 0 {
			return nil, fmt.Errorf("renaming: %w", &vault.LabelTakenError{Label: a.Label(), Existing: same[0]})
		}
		if err := s.describe(ctx, a); err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
			return nil, err
		}
		list[i] = a
		return list, nil
	})
}

func (s *Store) Delete(ctx context.Context, id string) error {
	return s.change(ctx, id, func(list []vault.Account, i int) ([]vault.Account, error) {
		if err := s.remove(ctx, list[i]); err != nil {
			return nil, err
		}
		return append(list[:i], list[i+1:]...), nil
	})
}

func (s *Store) Move(ctx context.Context, id string, to int) error {
	return s.change(ctx, id, func(list []vault.Account, i int) ([]vault.Account, error) {
		return vault.MoveAccount(list, i, to), nil
	})
}

// Pin sets an account's pinned mark in the index, read afresh under the
// lock; the keyring item is not touched (the mark is no secret, and not
// needed to rebuild a lost index).
func (s *Store) Pin(ctx context.Context, id string, pinned bool) error {
	return s.change(ctx, id, func(list []vault.Account, i int) ([]vault.Account, error) {
		a := list[i]
		a.Pinned = pinned
		// The item says so too: a list rebuilt by Repair keeps the pin.
		if err := s.describe(ctx, a); err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
			return nil, err
		}
		list[i] = a
		return list, nil
	})
}

// Key returns an account's key. A secret not yet cached is read from the
// keyring without any lock, so many Key calls at once (a window starting
// with many accounts) wait for the keyring in parallel. Only when the
// keyring's answer changes the account's missing mark is the lock taken.
func (s *Store) Key(ctx context.Context, id string) (*totp.Key, error) {
	a, ok, err := s.index.account(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("account %s: %w", vault.ShortID(id), vault.ErrNotFound)
	}
	secret, err := s.secret(ctx, a)
	missing := errors.Is(err, vault.ErrSecretMissing)
	if err != nil && !missing {
		return nil, err
	}
	if missing != a.Missing {
		if err := s.change(ctx, id, func(list []vault.Account, i int) ([]vault.Account, error) {
			list[i].Missing = missing
			return list, nil
		}); err != nil && !errors.Is(err, vault.ErrNotFound) {
			return nil, err
		}
	}
	if missing {
		return nil, err
	}
	a.Missing = false
	return a.Key(bytes.Clone(secret)), nil
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

// NextHOTP reads the counter under the lock, writes counter+1 to the
// keyring item's attributes and then to the index, and only then returns
// the code: no two callers, in any process, get the same counter.
func (s *Store) NextHOTP(ctx context.Context, id string) (string, error) {
	var code string
	err := s.change(ctx, id, func(list []vault.Account, i int) ([]vault.Account, error) {
		a := list[i]
		if a.Type != totp.HOTP {
			return nil, fmt.Errorf("%s: %w: not an HOTP account", a.Label(), vault.ErrWrongType)
		}
		secret, err := s.secret(ctx, a)
		if errors.Is(err, vault.ErrSecretMissing) {
			list[i].Missing = true
			if serr := s.save(ctx, list); serr != nil {
				return nil, serr
			}
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		code, err = a.Key(bytes.Clone(secret)).HOTPCode(a.Counter)
		if err != nil {
			return nil, err
		}
		a.Counter++
		a.Missing = false
		if err := s.describe(ctx, a); err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
			return nil, fmt.Errorf("saving the HOTP counter of %s: %w", a.Label(), err)
		}
		list[i] = a
		return list, nil
	})
	if err != nil {
		return "", err
	}
	return code, nil
}
