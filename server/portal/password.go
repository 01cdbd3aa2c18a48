package portal

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the argon2id parameters for new hashes. A stored hash
// carries its own parameters, so changing these keeps old hashes valid.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// OWASPParams is the OWASP Password Storage Cheat Sheet minimum for
// argon2id: 19 MiB, 2 iterations, 1 thread.
var OWASPParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

var b64 = base64.RawStdEncoding

// HashPassword returns a PHC-format argon2id hash of password.
func HashPassword(rand io.Reader, p PasswordParams, password string) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("malformed password hash")

// Bounds on a stored hash's parameters: a hash outside them was not made
// by this portal, and checking it could cost any amount of memory or time.
const (
	maxMemory  = 1 << 21 // KiB: 2 GiB
	maxTime    = 64
	maxThreads = 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 128
)

// CheckPassword reports whether password matches the PHC hash.
func CheckPassword(hash, password string) (bool, error) {
	h, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

type parsedHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parseHash reads "$argon2id$v=19$m=M,t=T,p=P$salt$key" strictly: every
// field present once, in order, plain decimal digits, within bounds.
func parseHash(hash string) (parsedHash, error) {
	var h parsedHash
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errBadHash
	}
	if v, ok := strings.CutPrefix(parts[2], "v="); !ok || v != strconv.Itoa(argon2.Version) {
		return h, errBadHash
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return h, errBadHash
	}
	m, okm := param(params[0], "m=", maxMemory)
	t, okt := param(params[1], "t=", maxTime)
	p, okp := param(params[2], "p=", maxThreads)
	if !okm || !okt || !okp || m < 8*p {
		return h, errBadHash // argon2 needs at least 8 KiB per thread
	}
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return h, errBadHash
	}
	key, err := b64.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return h, errBadHash
	}
	return parsedHash{memory: m, time: t, threads: uint8(p), salt: salt, key: key}, nil
}

// param reads "name=N" with N plain decimal digits, 1 to max.
func param(s, name string, max uint64) (uint32, bool) {
	digits, ok := strings.CutPrefix(s, name)
	if !ok || digits == "" || len(digits) > 10 || strings.TrimLeft(digits, "0123456789") != "" || digits[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n == 0 || n > max {
		return 0, false
	}
	return uint32(n), true
}
