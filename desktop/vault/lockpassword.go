package vault

import (
	"context"
	"errors"
	"fmt"
	"io"

	"twofold.dev/shared/argon2id"
)

// The app lock's password: kept only as an argon2id hash, in a PHC-style
// string ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash") that a LockKeeper
// stores (the OS keyring, as an item of its own).

// ErrNoLockPassword is returned by a LockKeeper that holds no hash.
var ErrNoLockPassword = errors.New("no app lock password is stored")

// ErrWrongLockPassword is returned by CheckLockPassword for a password
// that does not match.
var ErrWrongLockPassword = errors.New("wrong password")

// ErrLockHashDamaged is returned by CheckLockPassword for a stored hash
// it refuses to use: malformed, or with parameters out of bounds.
var ErrLockHashDamaged = errors.New("the stored app lock password is damaged")

// LockKeeper keeps the app lock's password hash (never the password).
type LockKeeper interface {
	Get(ctx context.Context) (string, error) // ErrNoLockPassword if none
	Set(ctx context.Context, hash string) error
	Delete(ctx context.Context) error
}

// LockParams are the costs of new hashes: OWASP's recommended minimum for
// argon2id (19 MiB, 2 passes, 1 lane, 16-byte salt, 32-byte key).
var LockParams = argon2id.OWASP

// lockBounds are what a stored hash must keep: a tampered item must not
// make an unlock take minutes or gigabytes, nor be trivially cheap.
var lockBounds = argon2id.Bounds{
	MinMemory: 8 * 1024, MaxMemory: 64 * 1024, // KiB
	MaxTime: 10, MaxThreads: 4,
	MinSalt: 16, MaxSalt: 64,
	MinKey: 32, MaxKey: 32,
}

// MinLockPassword is the shortest lock password accepted, in characters.
const MinLockPassword = 6

// HashLockPassword hashes password with LockParams and a salt read from
// random.
func HashLockPassword(password []byte, random io.Reader) (string, error) {
	return argon2id.New(random, LockParams, password)
}

// CheckLockPassword returns nil when password matches the stored hash,
// ErrWrongLockPassword when it does not, and ErrLockHashDamaged (wrapped)
// when the hash cannot be used. The comparison takes constant time.
func CheckLockPassword(stored string, password []byte) error {
	h, err := ParseLockHash(stored)
	if err != nil {
		return err
	}
	if !h.Matches(password) {
		return ErrWrongLockPassword
	}
	return nil
}

// ParseLockHash reads a hash written by HashLockPassword, strictly: the
// one layout, canonical numbers and base64, and parameters in bounds.
func ParseLockHash(s string) (argon2id.Hash, error) {
	h, err := argon2id.Parse(s, lockBounds)
	if err != nil {
		return argon2id.Hash{}, fmt.Errorf("%w: %w", ErrLockHashDamaged, err)
	}
	return h, nil
}
