package portal

import (
	"fmt"
	"io"
	"strings"
)

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

const recoveryAlphabet = "abcdefghijkmnpqrstuvwxyz23456789" // 32 symbols, no l, o, 0, 1

// newRecoveryCodes returns n codes of the form "xxxxx-xxxxx" (50 bits each).
func newRecoveryCodes(rand io.Reader, n int) ([]string, error) {
	codes := make([]string, n)
	buf := make([]byte, 10)
	for i := range codes {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, fmt.Errorf("reading random bytes: %w", err)
		}
		var b strings.Builder
		for j, c := range buf {
			if j == 5 {
				b.WriteByte('-')
			}
			b.WriteByte(recoveryAlphabet[c&31])
		}
		codes[i] = b.String()
	}
	return codes, nil
}

// NormalizeRecoveryCode lower-cases a typed recovery code and drops spaces
// and dashes.
func NormalizeRecoveryCode(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// validRecoveryCode reports whether a normalised code has the right shape.
func validRecoveryCode(s string) bool {
	if len(s) != 10 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune(recoveryAlphabet, r) {
			return false
		}
	}
	return true
}
