package portal

import (
	"context"
	"io"
	"strconv"
	"time"

	"twofold.dev/shared/totp"
)

// BulkAccount is one account with its history, as the portal would have
// written it one Store call at a time: a user whose TOTPSecret is sealed
// for User.ID (from ReserveUserIDs), the hashes of its unused recovery
// codes, its sessions and its activity (Event.UserID is User.ID).
type BulkAccount struct {
	User     User
	Recovery [][]byte
	Sessions []Session
	Events   []Event
}

// BulkAttempt is an attempt counter with the time of its last attempt.
type BulkAttempt struct {
	Attempt
	LastAt time.Time
}

// BulkLoader writes many accounts at once, for loads that would take
// hours through Store one call at a time: the growth bench's million
// accounts (qa/seed), an import. It is not part of Store: serving never
// needs it. The caller computes every value (password hashes, sealed
// secrets, recovery code hashes) exactly as the Service does; the loader
// only writes the rows the adapter's own methods would write.
type BulkLoader interface {
	// ReserveUserIDs returns n user ids that no account has and that the
	// store will never give to another account.
	ReserveUserIDs(ctx context.Context, n int) ([]int64, error)
	// LoadBulk writes the accounts (with the ids they carry) and the
	// counters in one transaction: all of them or, on an error, none.
	LoadBulk(ctx context.Context, accounts []BulkAccount, attempts []BulkAttempt) error
}

// SealKey seals a TOTP key for user userID as an enrollment stores it,
// with its creation time: pending until a code verifies it, then the
// active secret as it stands (EnableTOTP moves it).
func (k *Keys) SealKey(rand io.Reader, userID int64, key *totp.Key, created time.Time) ([]byte, error) {
	plain := pendingPrefix + strconv.FormatInt(created.UnixNano(), 10) + "\n" + key.URI()
	return k.Seal(rand, userID, []byte(plain))
}

// NewRecoveryCodes returns n recovery codes as an enrollment makes them;
// store only their hashes (Keys.HashRecoveryCode).
func NewRecoveryCodes(rand io.Reader, n int) ([]string, error) { return newRecoveryCodes(rand, n) }
