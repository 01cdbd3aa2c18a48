// Package vault is the desktop authenticator's domain: the accounts it
// shows, the small Store interface the window and the command line use, the
// errors a store returns, and reading keys out of text and images.
//
// Stores keep secrets wherever they like (the keyring package uses the OS
// keyring); an Account carries no secret, so it can be listed, logged and
// written to an index freely.
package vault

import (
	"context"
	"errors"
	"time"

	"twofold.dev/shared/totp"
)

// Account is what a store lists: everything about a key except its secret.
type Account struct {
	ID        string         `json:"id"`
	Issuer    string         `json:"issuer,omitempty"`
	Account   string         `json:"account"`
	Type      totp.Type      `json:"type"`
	Algorithm totp.Algorithm `json:"algorithm"`
	Digits    int            `json:"digits"`
	Period    int            `json:"period,omitempty"`  // TOTP only
	Counter   uint64         `json:"counter,omitempty"` // next HOTP counter
	// Missing is set when the secret is gone from the keyring: the account
	// stays listed so the user sees it, but has no code.
	Missing bool `json:"missing,omitempty"`
}

// Label is "Issuer:account", or the account alone without an issuer.
func (a Account) Label() string {
	if a.Issuer == "" {
		return a.Account
	}
	return a.Issuer + ":" + a.Account
}

// Key joins the account's parameters and a secret into a key.
func (a Account) Key(secret []byte) *totp.Key {
	return &totp.Key{
		Type: a.Type, Issuer: a.Issuer, Account: a.Account, Secret: secret,
		Algorithm: a.Algorithm, Digits: a.Digits, Period: a.Period, Counter: a.Counter,
	}
}

// AccountOf is the non-secret part of k, with the given id.
func AccountOf(id string, k *totp.Key) Account {
	a := Account{
		ID: id, Issuer: k.Issuer, Account: k.Account, Type: k.Type,
		Algorithm: k.Algorithm, Digits: k.Digits, Period: k.Period, Counter: k.Counter,
	}
	if a.Type == totp.HOTP {
		a.Period = 0
	}
	return a
}

// Store keeps accounts and their secrets. Every method may block on the OS
// keyring (a locked keyring prompts for its password), so user interfaces
// call it off their UI thread; ctx bounds the wait.
type Store interface {
	// List returns every account in the user's order.
	List(ctx context.Context) ([]Account, error)
	// Add stores a new account at the end of the list. A key with the same
	// label and secret as a stored one is refused with ErrDuplicate.
	Add(ctx context.Context, k *totp.Key) (Account, error)
	// Rename changes an account's issuer and account name.
	Rename(ctx context.Context, id, issuer, account string) error
	// Delete removes an account and its secret.
	Delete(ctx context.Context, id string) error
	// Move puts an account at position to (0-based, clamped to the list).
	Move(ctx context.Context, id string, to int) error
	// Key returns the full key, secret included (for "show as QR").
	Key(ctx context.Context, id string) (*totp.Key, error)
	// Code is a TOTP account's code at now.
	Code(ctx context.Context, id string, now time.Time) (string, error)
	// NextHOTP returns an HOTP account's code for its stored counter,
	// after saving the counter advanced by one: a code is never shown
	// unless the store already moved past it.
	NextHOTP(ctx context.Context, id string) (string, error)
}

// The errors stores return, wrapped with context; test with errors.Is.
var (
	ErrNotFound           = errors.New("no such account")
	ErrDuplicate          = errors.New("account already added (same label and secret)")
	ErrSecretMissing      = errors.New("secret is missing from the keyring")
	ErrKeyringUnavailable = errors.New("no keyring service available")
	ErrKeyringLocked      = errors.New("keyring is locked")
	ErrKeyringTimeout     = errors.New("keyring did not answer in time")
	ErrWrongType          = errors.New("wrong kind of account")
)

// Message is the one sentence a user sees for err: what went wrong and,
// for keyring trouble, how to fix it.
func Message(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrKeyringUnavailable):
		return err.Error() + ". " + keyringUnavailableAdvice + "; nothing was saved elsewhere."
	case errors.Is(err, ErrKeyringLocked), errors.Is(err, ErrKeyringTimeout):
		return err.Error() + ". " + keyringLockedAdvice + " and try again."
	case errors.Is(err, ErrSecretMissing):
		return err.Error() + ". Delete the account and add it again from the service's QR code."
	}
	return err.Error()
}
