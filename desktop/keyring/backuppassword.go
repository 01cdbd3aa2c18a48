package keyring

import (
	"context"
	"errors"
	"fmt"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"twofold.dev/desktop/vault"
)

// BackupService is the keyring service of the automatic backups' password:
// an item of its own, apart from the accounts' secrets.
const BackupService = "twofold-backup"

// backupUser is the item's user name; there is one backup password.
const backupUser = "password"

// BackupPassword is a vault.PasswordKeeper on the OS keyring.
type BackupPassword struct {
	Timeout time.Duration // per call; 0 waits as long as ctx allows
	Service string        // defaults to BackupService
}

var _ vault.PasswordKeeper = (*BackupPassword)(nil)

func (p *BackupPassword) service() string {
	if p.Service == "" {
		return BackupService
	}
	return p.Service
}

// do runs one keyring call, bounded by ctx and Timeout.
func (p *BackupPassword) do(ctx context.Context, what string, fn func() error) error {
	return call(ctx, p.Timeout, what, vault.ErrNoBackupPassword, fn)
}

// call runs one keyring call of a password item, bounded by ctx and
// timeout (a locked keyring may be waiting for its own password; the call
// is then left to finish), and classifies its error: notFound for a
// missing item, else a locked or unavailable keyring.
func call(ctx context.Context, timeout time.Duration, what string, notFound error, fn func() error) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if errors.Is(err, gokeyring.ErrNotFound) {
			return notFound
		}
		return classify(what, err) // as the accounts' items are
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (it may be locked and waiting for its password)", what, vault.ErrKeyringTimeout)
	}
}

func (p *BackupPassword) Get(ctx context.Context) ([]byte, error) {
	var pw string
	err := p.do(ctx, "reading the backup password from the keyring", func() (err error) {
		pw, err = gokeyring.Get(p.service(), backupUser)
		return err
	})
	if err != nil {
		return nil, err
	}
	return []byte(pw), nil
}

func (p *BackupPassword) Set(ctx context.Context, password []byte) error {
	return p.do(ctx, "saving the backup password in the keyring", func() error {
		return gokeyring.Set(p.service(), backupUser, string(password))
	})
}

func (p *BackupPassword) Delete(ctx context.Context) error {
	return p.do(ctx, "removing the backup password from the keyring", func() error {
		return gokeyring.Delete(p.service(), backupUser)
	})
}
