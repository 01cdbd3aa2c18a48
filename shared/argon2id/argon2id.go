// Package argon2id hashes passwords with argon2id and reads the hashes back
// from PHC strings ("$argon2id$v=19$m=19456,t=2,p=1$salt$key"). The portal's
// account passwords and the desktop's app lock use it; each reads stored
// hashes within bounds of its own, so a tampered or foreign hash cannot make
// a check take minutes or gigabytes.
package argon2id

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

// Params are argon2id's costs and sizes for a new hash.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen int    // bytes
	KeyLen  uint32 // bytes
}

// OWASP is the OWASP Password Storage Cheat Sheet's minimum for argon2id:
// 19 MiB, 2 passes, 1 lane, with a 16-byte salt and a 32-byte key.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds are what Parse accepts of a stored hash.
type Bounds struct {
	MinMemory, MaxMemory uint32 // KiB
	MaxTime              uint32
	MaxThreads           uint8
	MinSalt, MaxSalt     int // bytes
	MinKey, MaxKey       int // bytes
}

// ErrMalformed is wrapped by Parse's errors, which say what is wrong.
var ErrMalformed = errors.New("malformed argon2id hash")

// Hash is a parsed hash: its parameters, salt and key.
type Hash struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	Salt    []byte
	Key     []byte
}

var b64 = base64.RawStdEncoding

// New hashes password with p and a salt read from random.
func New(random io.Reader, p Params, password []byte) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", fmt.Errorf("reading the salt: %w", err)
	}
	h := Hash{Memory: p.Memory, Time: p.Time, Threads: p.Threads, Salt: salt}
	h.Key = h.derive(password, p.KeyLen)
	return h.String(), nil
}

// String is the hash as a PHC string.
func (h Hash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.Memory, h.Time, h.Threads,
		b64.EncodeToString(h.Salt), b64.EncodeToString(h.Key))
}

// Matches reports whether password gives h's key, in constant time.
func (h Hash) Matches(password []byte) bool {
	return subtle.ConstantTimeCompare(h.derive(password, uint32(len(h.Key))), h.Key) == 1
}

func (h Hash) derive(password []byte, keyLen uint32) []byte {
	return argon2.IDKey(password, h.Salt, h.Time, h.Memory, h.Threads, keyLen)
}

// Parse reads a PHC string strictly: the one layout, every field once and in
// order, plain decimal numbers, canonical unpadded base64, and everything
// within b. Its errors wrap ErrMalformed and name the field at fault.
func Parse(s string, b Bounds) (Hash, error) {
	bad := func(why string) (Hash, error) { return Hash{}, fmt.Errorf("%w: %s", ErrMalformed, why) }
	if len(s) > 512 {
		return bad("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("not a PHC string of six fields")
	}
	if parts[1] != "argon2id" {
		return bad("not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("not argon2 version 19")
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("parameters are not m, t and p")
	}
	var n [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return bad("parameters are not m, t and p, in that order")
		}
		x, err := strconv.ParseUint(v, 10, 32)
		if err != nil || strconv.FormatUint(x, 10) != v {
			return bad("parameter " + name + " is not a plain number")
		}
		n[i] = x
	}
	switch {
	case n[0] < uint64(b.MinMemory) || n[0] > uint64(b.MaxMemory):
		return bad(fmt.Sprintf("memory %d KiB is outside %d–%d", n[0], b.MinMemory, b.MaxMemory))
	case n[1] < 1 || n[1] > uint64(b.MaxTime):
		return bad(fmt.Sprintf("time %d is outside 1–%d", n[1], b.MaxTime))
	case n[2] < 1 || n[2] > uint64(b.MaxThreads):
		return bad(fmt.Sprintf("parallelism %d is outside 1–%d", n[2], b.MaxThreads))
	case n[0] < 8*n[2]:
		return bad("memory is under 8 KiB a lane") // argon2's own minimum
	}
	salt, err := strictBase64(parts[4])
	if err != nil || len(salt) < b.MinSalt || len(salt) > b.MaxSalt {
		return bad("bad salt")
	}
	key, err := strictBase64(parts[5])
	if err != nil || len(key) < b.MinKey || len(key) > b.MaxKey {
		return bad("bad key")
	}
	return Hash{Memory: uint32(n[0]), Time: uint32(n[1]), Threads: uint8(n[2]), Salt: salt, Key: key}, nil
}

// strictBase64 decodes unpadded standard base64 that re-encodes to itself.
func strictBase64(s string) ([]byte, error) {
	d, err := b64.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b64.EncodeToString(d) != s {
		return nil, errors.New("not canonical base64")
	}
	return d, nil
}
