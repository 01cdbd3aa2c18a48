package totp

import (
	"fmt"
	"io"

	"github.com/pquerna/otp"
	ptotp "github.com/pquerna/otp/totp"
)

// SecretSize is 160 bits, the HMAC-SHA1 block-friendly size RFC 4226
// recommends and Google Authenticator expects.
const SecretSize = 20

// Generate makes a new TOTP key with Google Authenticator's defaults (SHA1,
// 6 digits, 30 s) and a 160-bit secret read from rand.
func Generate(rand io.Reader, issuer, account string) (*Key, error) {
	pk, err := ptotp.Generate(ptotp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      DefaultPeriod,
		SecretSize:  SecretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
		Rand:        rand,
	})
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	secret, err := DecodeSecret(pk.Secret())
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
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
