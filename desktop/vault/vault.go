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
	"fmt"
	"strings"
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
	// Pinned accounts are listed before the others (see PinnedFirst),
	// keeping their place in the user's order among themselves.
	Pinned bool `json:"pinned,omitempty"`
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
	// label and secret as a stored one is refused with ErrDuplicate; a key
	// whose label (case aside) is another account's is refused with a
	// *LabelTakenError, so the caller can ask and call AddWith.
	Add(ctx context.Context, k *totp.Key) (Account, error)
	// AddWith is Add that, when the label is taken by an account with
	// another secret, does what taken says.
	AddWith(ctx context.Context, k *totp.Key, taken OnLabelTaken) (Account, error)
	// Rename changes an account's issuer and account name. A label that
	// another account has is refused with a *LabelTakenError.
	Rename(ctx context.Context, id, issuer, account string) error
	// Delete removes an account and its secret.
	Delete(ctx context.Context, id string) error
	// Move puts an account at position to (0-based, clamped to the list).
	Move(ctx context.Context, id string, to int) error
	// Pin pins an account (pinned true) or unpins it. Its position in the
	// list does not change: lists show pinned accounts first (PinnedFirst),
	// so an unpinned one goes back to where it was among the others.
	Pin(ctx context.Context, id string, pinned bool) error
	// Key returns the full key, secret included (for "show as QR").
	Key(ctx context.Context, id string) (*totp.Key, error)
	// Code is a TOTP account's code at now.
	Code(ctx context.Context, id string, now time.Time) (string, error)
	// NextHOTP returns an HOTP account's code for its stored counter,
	// after saving the counter advanced by one: a code is never shown
	// unless the store already moved past it.
	NextHOTP(ctx context.Context, id string) (string, error)
	// Orphans lists the accounts whose secrets are in the keyring but not
	// in the store's list (left by a crash, or a lost index); Repair adds
	// them back.
	Orphans(ctx context.Context) ([]Account, error)
	// Repair rebuilds the list from the keyring: a damaged list is kept
	// aside and replaced by what the keyring holds, orphans are added
	// back, and accounts whose secret is gone are marked Missing.
	Repair(ctx context.Context) (RepairReport, error)
}

// OnLabelTaken says what AddWith does when the new key's label is already
// another account's (with another secret).
type OnLabelTaken int

const (
	// RefuseTaken refuses with a *LabelTakenError, as Add does.
	RefuseTaken OnLabelTaken = iota
	// ReplaceTaken stores the new key, then deletes the accounts with its
	// label (a site's 2FA was reset and enrolled again).
	ReplaceTaken
	// KeepBoth stores the new key beside the existing account; the two are
	// told apart by their ids.
	KeepBoth
)

// LabelTakenError is the refusal of a label that an account already has.
// It matches ErrLabelTaken with errors.Is.
type LabelTakenError struct {
	Label    string
	Existing Account // the account that has the label
}

func (e *LabelTakenError) Error() string {
	return fmt.Sprintf("%q is already the label of account %s (with another secret)", e.Label, ShortID(e.Existing.ID))
}

func (e *LabelTakenError) Is(target error) bool { return target == ErrLabelTaken }

// RepairReport is what Repair did.
type RepairReport struct {
	// KeptAside is where the damaged list was moved, "" if it was sound.
	KeptAside string
	// Damage says what was wrong with the list kept aside.
	Damage string
	// Restored are the accounts added back from the keyring.
	Restored []Account
	// Guessed are restored accounts whose keyring item carried no name or
	// parameters (written by an older Twofold): they got a placeholder
	// name and TOTP SHA-1, 6 digits, 30 s, to be checked and renamed.
	Guessed []Account
	// Missing are listed accounts whose secret is gone from the keyring.
	Missing []Account
	// Described counts keyring items given their label and attributes.
	Described int
	// Kept is how many listed accounts were kept as they were.
	Kept int
}

// PinnedFirst returns list with the pinned accounts first, each group in
// the list's order: the order a window or `twofold list` shows.
func PinnedFirst(list []Account) []Account {
	out := make([]Account, 0, len(list))
	for _, a := range list {
		if a.Pinned {
			out = append(out, a)
		}
	}
	for _, a := range list {
		if !a.Pinned {
			out = append(out, a)
		}
	}
	return out
}

// ShortID is the short form of an account id that lists show and commands
// accept: its first 8 characters.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
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
	ErrLabelTaken         = errors.New("label already taken")
	ErrIndexDamaged       = errors.New("account list is damaged")
	ErrBusy               = errors.New("account list is busy")
	ErrCannotList         = errors.New("this keyring cannot list its items")
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
	case errors.Is(err, ErrIndexDamaged):
		// The sentinel's words repeat what the message already says.
		return strings.TrimSuffix(err.Error(), ": "+ErrIndexDamaged.Error()) + ". Repair rebuilds it from the keyring (twofold repair, or Repair in the window); the damaged file is kept aside, not overwritten."
	case errors.Is(err, ErrBusy):
		return err.Error() + ". Another Twofold (the window or a command) is holding it: wait for it, or close it, and try again."
	case errors.Is(err, ErrSecretMissing):
		return err.Error() + ". Delete the account and add it again from the service's QR code."
	}
	return err.Error()
}
