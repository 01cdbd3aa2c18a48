package totp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
)

// Verification is the one place codes are computed without
// github.com/pquerna/otp: a server checks a code on every sign-in, and
// pquerna's GenerateCodeCustom takes the secret as base32 text, so each
// call encoded and decoded the secret and allocated hash states. hotpValue
// below computes the same RFC 4226 value from the raw secret on the
// stack; TestHOTPMatchesPquerna holds it equal to pquerna's codes.

// maxBlock is the largest hash block size (SHA-512); maxSum the largest
// digest.
const (
	maxBlock = 128
	maxSum   = 64
)

// digest hashes data with alg into out and returns the digest length.
// The Sum functions return arrays, so nothing escapes to the heap.
func digest(alg Algorithm, data []byte, out *[maxSum]byte) int {
	switch alg {
	case SHA256:
		s := sha256.Sum256(data)
		return copy(out[:], s[:])
	case SHA512:
		s := sha512.Sum512(data)
		return copy(out[:], s[:])
	}
	s := sha1.Sum(data)
	return copy(out[:], s[:])
}

func blockSize(alg Algorithm) int {
	if alg == SHA512 {
		return sha512.BlockSize
	}
	return sha1.BlockSize // also SHA-256's
}

// hotpValue is the RFC 4226 value of secret at counter: HMAC (RFC 2104),
// dynamic truncation, modulo 10^digits.
func hotpValue(alg Algorithm, secret []byte, counter uint64, digits int) uint32 {
	bs := blockSize(alg)
	var hashedKey [maxSum]byte
	key := secret
	if len(key) > bs {
		key = hashedKey[:digest(alg, key, &hashedKey)]
	}
	var buf [maxBlock + maxSum]byte
	// Inner: H((K ^ ipad) || counter).
	copy(buf[:bs], key)
	for i := range bs {
		buf[i] ^= 0x36
	}
	binary.BigEndian.PutUint64(buf[bs:], counter)
	var inner [maxSum]byte
	n := digest(alg, buf[:bs+8], &inner)
	// Outer: H((K ^ opad) || inner).
	clear(buf[:bs])
	copy(buf[:bs], key)
	for i := range bs {
		buf[i] ^= 0x5c
	}
	copy(buf[bs:], inner[:n])
	var sum [maxSum]byte
	n = digest(alg, buf[:bs+n], &sum)
	off := sum[n-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return v % pow10[digits]
}

var pow10 = [...]uint32{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// matches compares code, checked to be digits, with v
// written with leading zeros, in time independent of where they differ.
func matches(code []byte, v uint32) bool {
	var diff byte
	for i := len(code) - 1; i >= 0; i-- {
		diff |= code[i] ^ byte('0'+v%10)
		v /= 10
	}
	return diff == 0
}
