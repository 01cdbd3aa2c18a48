package totp

import (
	"fmt"
	"io"
)

// SecretSize is 160 bits, the HMAC-SHA1 block-friendly size RFC 4226
// recommends and Google Authenticator expects.
const SecretSize = 20

// Generate makes a new TOTP key with Google Authenticator's defaults (SHA1,
// 6 digits, 30 s) and a 160-bit secret read from rand. The secret comes
// straight from rand, never back through a URI, so no issuer or account
// text can change it.
func Generate(rand io.Reader, issuer, account string) (*Key, error) {
	secret := make([]byte, SecretSize)
	if _, err := io.ReadFull(rand, secret); err != nil {
		return nil, fmt.Errorf("generating key: reading secret: %w", err)
	}
	return &Key{
		Type:      TOTP,
		Issuer:    issuer,
		Account:   account,
		Secret:    secret,
		Algorithm: SHA1,
		Digits:    DefaultDigits,
		Period:    DefaultPeriod,
	}, nil
}
