package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	stdhash "hash"
)

// Verification is the one place codes are computed without
// github.com/pquerna/otp: a server checks a code on every sign-in, and
// pquerna's GenerateCodeCustom takes the secret as base32 text, so each
// call encoded and decoded the secret. hotpValue computes the same RFC 4226
// value from the raw secret with the standard library's HMAC;
// TestHOTPMatchesPquerna holds it equal to pquerna's codes.

// hash is alg's hash constructor for crypto/hmac.
func hash(alg Algorithm) func() stdhash.Hash {
	switch alg {
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return sha1.New
}

// hotpValue is the RFC 4226 value of secret at counter: HMAC (RFC 2104),
// dynamic truncation, modulo 10^digits.
func hotpValue(alg Algorithm, secret []byte, counter uint64, digits int) uint32 {
	m := hmac.New(hash(alg), secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m.Write(msg[:])
	var buf [sha512.Size]byte
	sum := m.Sum(buf[:0])
	off := sum[len(sum)-1] & 0x0f
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
