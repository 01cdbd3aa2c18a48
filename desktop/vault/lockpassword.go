package vault

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
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

// Argon2Params are argon2id's costs.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// LockParams are the costs of new hashes: OWASP's recommended minimum for
// argon2id (19 MiB, 2 passes, 1 lane).
var LockParams = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// The bounds a stored hash's parameters must keep: a tampered item must
// not make an unlock take minutes or gigabytes, nor be trivially cheap.
const (
	minLockMemory  = 8 * 1024  // KiB
	maxLockMemory  = 64 * 1024 // KiB
	maxLockTime    = 10
	maxLockThreads = 4
	lockSaltLen    = 16
	lockHashLen    = 32
)

// MinLockPassword is the shortest lock password accepted, in characters.
const MinLockPassword = 6

// HashLockPassword hashes password with LockParams and a 16-byte salt read
// from random.
func HashLockPassword(password []byte, random io.Reader) (string, error) {
	salt := make([]byte, lockSaltLen)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", fmt.Errorf("reading the salt: %w", err)
	}
	p := LockParams
	hash := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, lockHashLen)
	return formatPHC(p, salt, hash), nil
}

// CheckLockPassword returns nil when password matches the stored hash,
// ErrWrongLockPassword when it does not, and ErrLockHashDamaged (wrapped)
// when the hash cannot be used. The comparison takes constant time.
func CheckLockPassword(stored string, password []byte) error {
	p, salt, hash, err := ParseLockHash(stored)
	if err != nil {
		return err
	}
	got := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, uint32(len(hash)))
	if subtle.ConstantTimeCompare(got, hash) != 1 {
		return ErrWrongLockPassword
	}
	return nil
}

func formatPHC(p Argon2Params, salt, hash []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(hash))
}

// ParseLockHash reads a hash written by HashLockPassword, strictly: the
// one layout, canonical numbers and base64, and parameters in bounds.
func ParseLockHash(s string) (Argon2Params, []byte, []byte, error) {
	damaged := func(why string) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, fmt.Errorf("%w: %s", ErrLockHashDamaged, why)
	}
	if len(s) > 256 {
		return damaged("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return damaged("not a PHC string of six fields")
	}
	if parts[1] != "argon2id" {
		return damaged("not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return damaged("not argon2 version 19")
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return damaged("parameters are not m, t and p")
	}
	var nums [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return damaged("parameters are not m, t and p, in that order")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || strconv.FormatUint(n, 10) != v {
			return damaged("parameter " + name + " is not a plain number")
		}
		nums[i] = n
	}
	p := Argon2Params{Memory: uint32(nums[0]), Time: uint32(nums[1])}
	switch {
	case nums[0] < minLockMemory || nums[0] > maxLockMemory:
		return damaged(fmt.Sprintf("memory %d KiB is outside %d–%d", nums[0], minLockMemory, maxLockMemory))
	case nums[1] < 1 || nums[1] > maxLockTime:
		return damaged(fmt.Sprintf("time %d is outside 1–%d", nums[1], maxLockTime))
	case nums[2] < 1 || nums[2] > maxLockThreads:
		return damaged(fmt.Sprintf("parallelism %d is outside 1–%d", nums[2], maxLockThreads))
	}
	p.Threads = uint8(nums[2])
	salt, err := strictBase64(parts[4])
	if err != nil || len(salt) < lockSaltLen || len(salt) > 64 {
		return damaged("bad salt")
	}
	hash, err := strictBase64(parts[5])
	if err != nil || len(hash) != lockHashLen {
		return damaged("bad hash")
	}
	return p, salt, hash, nil
}

// strictBase64 decodes unpadded standard base64 that re-encodes to itself.
func strictBase64(s string) ([]byte, error) {
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, errors.New("not canonical base64")
	}
	return b, nil
}
