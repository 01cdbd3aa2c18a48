package keyring

import (
	"context"
	"fmt"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"twofold.dev/desktop/vault"
)

// LockService is the keyring service of the app lock's password hash: an
// item of its own, apart from the accounts' secrets and the backups'
// password. It holds an argon2id hash (vault.HashLockPassword), never the
// password.
const LockService = "twofold-lock"

// lockUser is the item's user name; there is one lock password.
const lockUser = "password"

// LockPassword is a vault.LockKeeper on the OS keyring.
type LockPassword struct {
	Timeout time.Duration // per call; 0 waits as long as ctx allows
	Service string        // defaults to LockService
}

var _ vault.LockKeeper = (*LockPassword)(nil)

func (p *LockPassword) service() string {
	if p.Service == "" {
		return LockService
	}
	return p.Service
}

func (p *LockPassword) Get(ctx context.Context) (string, error) {
	var hash string
	err := call(ctx, p.Timeout, "reading the lock password from the keyring", vault.ErrNoLockPassword, func() (err error) {
		hash, err = gokeyring.Get(p.service(), lockUser)
		return err
	})
	return hash, err
}

// Set stores hash, which must be one vault.HashLockPassword wrote: a
// password given by mistake is refused, not stored.
func (p *LockPassword) Set(ctx context.Context, hash string) error {
	if _, err := vault.ParseLockHash(hash); err != nil {
		return fmt.Errorf("refusing to store the lock password: %w", err)
	}
	return call(ctx, p.Timeout, "saving the lock password in the keyring", vault.ErrNoLockPassword, func() error {
		return gokeyring.Set(p.service(), lockUser, hash)
	})
}

func (p *LockPassword) Delete(ctx context.Context) error {
	return call(ctx, p.Timeout, "removing the lock password from the keyring", vault.ErrNoLockPassword, func() error {
		return gokeyring.Delete(p.service(), lockUser)
	})
}
