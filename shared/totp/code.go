package totp

import (
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// HOTPCode is the code for one counter value (RFC 4226). For a TOTP key the
// counter is the time step.
func (k *Key) HOTPCode(counter uint64) (string, error) {
	if err := k.Validate(); err != nil {
		return "", err
	}
	return hotp.GenerateCodeCustom(k.SecretBase32(), counter, hotp.ValidateOpts{
		Digits:    otp.Digits(k.Digits),
		Algorithm: k.Algorithm.otp(),
	})
}

// Step is the TOTP time step that contains t.
func (k *Key) Step(t time.Time) uint64 {
	return Step(t, k.Period)
}

// Step is the number of whole periods between the Unix epoch and t.
func Step(t time.Time, period int) uint64 {
	if period <= 0 {
		period = DefaultPeriod
	}
	u := t.Unix()
	if u < 0 {
		return 0
	}
	return uint64(u) / uint64(period)
}

// Code is the TOTP code at time t (RFC 6238).
func (k *Key) Code(t time.Time) (string, error) {
	if k.Type != TOTP {
		return "", fmt.Errorf("code by time: key is %s, not totp", k.Type)
	}
	return k.HOTPCode(k.Step(t))
}

// Remaining is how long the step containing t still lasts, for countdowns.
func Remaining(t time.Time, period int) time.Duration {
	if period <= 0 {
		period = DefaultPeriod
	}
	p := time.Duration(period) * time.Second
	since := time.Duration(t.UnixNano()) % p
	if since < 0 {
		since += p
	}
	return p - since
}

// Remaining is how long the code at time t stays current.
func (k *Key) Remaining(t time.Time) time.Duration { return Remaining(t, k.Period) }

// DefaultSkew accepts the previous and next step too, for clocks that drift
// and users who type slowly (RFC 6238 section 5.2).
const DefaultSkew = 1

// Verify checks a TOTP code at time t, allowing skew steps either side, and
// returns the step that matched. The caller must refuse a step it has
// already accepted (replay); Verify cannot know. Spaces in code are ignored.
// The current step is tried first; every candidate is compared in constant
// time. Verify computes the codes from the raw secret with crypto/hmac
// (see hotpValue); they equal HOTPCode's.
func (k *Key) Verify(code string, t time.Time, skew int) (step uint64, ok bool) {
	if k.Type != TOTP || k.Validate() != nil || skew < 0 {
		return 0, false
	}
	// The code without spaces, on the stack: at most 8 digits.
	var buf [8]byte
	n := 0
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c == ' ':
		case c < '0' || c > '9' || n == len(buf):
			return 0, false
		default:
			buf[n] = c
			n++
		}
	}
	if n != k.Digits {
		return 0, false
	}
	digits := buf[:n]
	now := int64(k.Step(t))
	for i := 0; i <= 2*skew; i++ {
		// Offsets 0, -1, +1, -2, +2, ...
		s := now + int64((i+1)/2)
		if i%2 == 1 {
			s = now - int64((i+1)/2)
		}
		if s < 0 {
			continue
		}
		if matches(digits, hotpValue(k.Algorithm, k.Secret, uint64(s), k.Digits)) {
			return uint64(s), true
		}
	}
	return 0, false
}
