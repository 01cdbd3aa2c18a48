package portal

import (
	"fmt"
	"io"

	"twofold.dev/shared/argon2id"
)

// PasswordParams are the argon2id parameters for new hashes. A stored hash
// carries its own parameters, so changing these keeps old hashes valid.
type PasswordParams = argon2id.Params

// OWASPParams is the OWASP Password Storage Cheat Sheet minimum for
// argon2id: 19 MiB, 2 iterations, 1 thread.
var OWASPParams = argon2id.OWASP

// HashPassword returns a PHC-format argon2id hash of password.
func HashPassword(rand io.Reader, p PasswordParams, password string) (string, error) {
	return argon2id.New(rand, p, []byte(password))
}

// passwordBounds are what a stored hash may ask for: a hash outside them
// was not made by this portal, and checking it could cost any amount of
// memory or time.
var passwordBounds = argon2id.Bounds{
	MinMemory: 8, MaxMemory: 1 << 21, // KiB: 2 GiB
	MaxTime: 64, MaxThreads: 64,
	MinSalt: 8, MaxSalt: 64,
	MinKey: 16, MaxKey: 128,
}

// CheckPassword reports whether password matches the PHC hash.
func CheckPassword(hash, password string) (bool, error) {
	h, err := argon2id.Parse(hash, passwordBounds)
	if err != nil {
		return false, fmt.Errorf("stored password hash: %w", err)
	}
	return h.Matches([]byte(password)), nil
}
