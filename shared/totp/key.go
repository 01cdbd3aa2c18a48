// Package totp holds one-time-password keys and the codes they give:
// otpauth:// key URIs, TOTP (RFC 6238) and HOTP (RFC 4226) codes, and
// verification that reports the matched time step so callers can refuse
// replays. Codes are computed by github.com/pquerna/otp.
//
// Nothing here reads the clock or a random source of its own: time and
// randomness are always parameters.
package totp

import (
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/pquerna/otp"
)

// Type is the kind of one-time password a key produces.
type Type int

const (
	TOTP Type = iota // time-based, RFC 6238
	HOTP             // counter-based, RFC 4226
)

func (t Type) String() string {
	if t == HOTP {
		return "hotp"
	}
	return "totp"
}

// Algorithm is the HMAC hash a key uses.
type Algorithm int

const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

func (a Algorithm) String() string {
	switch a {
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return "SHA1"
}

// ParseAlgorithm reads "SHA1", "sha256", "SHA-512" and the like.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "")) {
	case "SHA1":
		return SHA1, nil
	case "SHA256":
		return SHA256, nil
	case "SHA512":
		return SHA512, nil
	}
	return SHA1, fmt.Errorf("unknown algorithm %q (want SHA1, SHA256 or SHA512)", s)
}

func (a Algorithm) otp() otp.Algorithm {
	switch a {
	case SHA256:
		return otp.AlgorithmSHA256
	case SHA512:
		return otp.AlgorithmSHA512
	}
	return otp.AlgorithmSHA1
}

// Google Authenticator's defaults, which most services use.
const (
	DefaultDigits = 6
	DefaultPeriod = 30
)

// Key is everything needed to compute a one-time password. The algorithm
// parameters live here and nowhere else: every code is computed from the key.
type Key struct {
	Type      Type
	Issuer    string
	Account   string
	Secret    []byte
	Algorithm Algorithm
	Digits    int
	Period    int    // seconds per step, TOTP only
	Counter   uint64 // next counter value, HOTP only
}

// Label is the display form "Issuer:account", or just the account when
// there is no issuer.
func (k *Key) Label() string {
	if k.Issuer == "" {
		return k.Account
	}
	return k.Issuer + ":" + k.Account
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// SecretBase32 is the secret as authenticator apps show it: upper-case
// base32 without padding.
func (k *Key) SecretBase32() string { return b32.EncodeToString(k.Secret) }

// DecodeSecret reads a base32 secret the way people and exporters write it:
// any case, with spaces, dashes or '=' padding.
func DecodeSecret(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '-', '=':
			return -1
		}
		return r
	}, strings.ToUpper(s))
	if clean == "" {
		return nil, fmt.Errorf("secret is empty")
	}
	b, err := b32.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("not valid base32 (letters A-Z and digits 2-7)")
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("secret is empty")
	}
	return b, nil
}

// FieldError names the part of a key that is wrong and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate reports the first parameter that no authenticator could use.
func (k *Key) Validate() error {
	switch {
	case k.Type != TOTP && k.Type != HOTP:
		return &FieldError{"type", "must be totp or hotp"}
	case len(k.Secret) == 0:
		return &FieldError{"secret", "missing"}
	case k.Algorithm < SHA1 || k.Algorithm > SHA512:
		return &FieldError{"algorithm", "must be SHA1, SHA256 or SHA512"}
	case k.Digits < 6 || k.Digits > 8:
		return &FieldError{"digits", fmt.Sprintf("must be 6, 7 or 8, got %d", k.Digits)}
	case k.Type == TOTP && k.Period <= 0:
		return &FieldError{"period", fmt.Sprintf("must be a positive number of seconds, got %d", k.Period)}
	}
	return nil
}

// FormatCode groups a code for reading: "123 456", "1234 567", "1234 5678".
func FormatCode(code string) string {
	if len(code) < 6 {
		return code
	}
	half := (len(code) + 1) / 2
	return code[:half] + " " + code[half:]
}
