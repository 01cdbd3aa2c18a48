package vaulttest

import (
	"context"
	"sync"

	"twofold.dev/desktop/vault"
)

// LockPasswords is a vault.LockKeeper in memory, for tests of the app
// lock (the keyring one is tested against the real Secret Service). Err,
// when set, is returned by every call (a keyring that is locked or gone).
type LockPasswords struct {
	mu   sync.Mutex
	hash string
	Err  error
}

func (m *LockPasswords) Get(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return "", m.Err
	}
	if m.hash == "" {
		return "", vault.ErrNoLockPassword
	}
	return m.hash, nil
}

func (m *LockPasswords) Set(_ context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	m.hash = hash
	return nil
}

func (m *LockPasswords) Delete(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	m.hash = ""
	return nil
}

// SetErr makes every later call fail with err (nil: work again).
func (m *LockPasswords) SetErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Err = err
}
