package vaulttest

import (
	"context"
	"sync"

	"twofold.dev/desktop/vault"
)

// Passwords is a vault.PasswordKeeper in memory, for tests of automatic
// backups (the keyring one is tested through the command line against
// the real Secret Service).
type Passwords struct {
	mu sync.Mutex
	pw []byte
}

func (m *Passwords) Get(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pw == nil {
		return nil, vault.ErrNoBackupPassword
	}
	return m.pw, nil
}

func (m *Passwords) Set(_ context.Context, pw []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pw = append([]byte(nil), pw...)
	return nil
}

func (m *Passwords) Delete(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pw = nil
	return nil
}
