package portal

import (
	"context"
	"time"
)

// Store keeps all portal state: users, sessions, recovery codes, attempt
// counters and activity. Every method that decides something under
// concurrency (ConsumeTOTPStep, ConsumeRecoveryCode, EnableTOTP,
// TakeAttempt) must do it atomically in the database: the portal keeps no
// state in process memory, so several processes may share one store.
// Times are stored with at least microsecond precision.
//
// The reusable test suite in package storetest defines the contract.
type Store interface {
	// CreateUser inserts u and sets u.ID. ErrConflict if the name is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByID and UserByName return ErrNotFound when there is no such user.
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByName(ctx context.Context, username string) (*User, error)
	// ListUsers returns every user ordered by username.
	ListUsers(ctx context.Context) ([]*User, error)
	// DeleteUser removes the user and everything that belongs to it.
	DeleteUser(ctx context.Context, id int64) error

	// StartGrace sets the user's GraceFrom to at unless it is set already,
	// atomically, and returns the stored value; ErrNotFound if there is no
	// such user.
	StartGrace(ctx context.Context, userID int64, at time.Time) (time.Time, error)

	// SetPassword replaces the user's password hash; ErrNotFound if there
	// is no such user.
	SetPassword(ctx context.Context, userID int64, hash string) error

	// SetUnseenRecovery stores (nil: clears) the sealed recovery codes of
	// the last enrollment, read back as User.RecoveryUnseen.
	SetUnseenRecovery(ctx context.Context, userID int64, sealed []byte) error
	// SetPendingTOTP stores the sealed secret of an enrollment in progress.
	SetPendingTOTP(ctx context.Context, userID int64, sealed []byte) error
	// EnableTOTP makes the pending secret active in one transaction: only
	// if the pending secret still equals pending (else ErrConflict), it
	// becomes the active secret, the last step becomes step (so the code
	// that verified the enrollment cannot be used again) and the unused
	// recovery codes are replaced by hashes.
	EnableTOTP(ctx context.Context, userID int64, pending []byte, step uint64, hashes [][]byte) error
	// DisableTOTP clears the active and pending secret and deletes the
	// recovery codes. The last step is kept. ErrConflict, changing
	// nothing, if the user is an admin (revoke the role first).
	DisableTOTP(ctx context.Context, userID int64) error
	// ConsumeTOTPStep records step as used if and only if it is later than
	// the last accepted step, in one atomic statement; ErrReplay otherwise.
	ConsumeTOTPStep(ctx context.Context, userID int64, step uint64) error

	// ReplaceRecoveryCodes deletes the user's recovery codes and stores hashes.
	ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error
	// ConsumeRecoveryCode marks the unused code with this hash used,
	// atomically; ErrReplay if the code exists and was already used,
	// ErrNotFound if there is no such code.
	ConsumeRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) error
	// CountRecoveryCodes returns how many unused recovery codes are left.
	CountRecoveryCodes(ctx context.Context, userID int64) (int, error)

	// CreateSession inserts s (s.ID is the hash of the cookie token).
	CreateSession(ctx context.Context, s *Session) error
	// Session returns ErrNotFound when there is no such session.
	Session(ctx context.Context, id []byte) (*Session, error)
	// SessionUser returns the session and its user in one read (every
	// request with a cookie makes it); ErrNotFound when there is no such
	// session.
	SessionUser(ctx context.Context, id []byte) (*Session, *User, error)
	// TouchSession sets the last-seen time.
	TouchSession(ctx context.Context, id []byte, at time.Time) error
	// DeleteSession removes one session (no error if absent).
	DeleteSession(ctx context.Context, id []byte) error
	// DeleteUserSessions removes every session of the user except the one
	// with id except (nil: all) and returns how many it removed.
	DeleteUserSessions(ctx context.Context, userID int64, except []byte) (int, error)
	// SkipSetup sets the session's SetupSkipped (no error if absent).
	SkipSetup(ctx context.Context, id []byte) error

	// TakeAttempt counts one attempt on the counter key before the caller
	// checks the credential, atomically: if the counter is locked at now it
	// returns a *LockedError (wrapping ErrLocked) and counts nothing;
	// otherwise, when window > 0 and the last counted attempt is more than
	// window before now, the earlier failures are forgotten (they decay);
	// then it adds one to the failures, records now as the last attempt
	// and sets the lock to now + delay(failures); a zero delay stores no
	// lock (so a concurrent attempt with a slightly earlier clock read is
	// not refused). The returned Attempt has LockedUntil = now + delay.
	// The caller resets the counter on success.
	TakeAttempt(ctx context.Context, key string, now time.Time, window time.Duration, delay func(failures int) time.Duration) (Attempt, error)
	// ResetAttempts forgets the counter key.
	ResetAttempts(ctx context.Context, key string) error
	// RefundAttempt takes one attempt back (failures-1, not below 0) and
	// drops the lock: the caller found the credential right, and a right
	// credential never sets or keeps a lock for its client.
	RefundAttempt(ctx context.Context, key string) error
	// DeleteAttemptsWithPrefix forgets every counter whose key starts
	// with prefix (plain text, no wildcards): a deleted user's counters.
	DeleteAttemptsWithPrefix(ctx context.Context, prefix string) error
	// CountAttempts returns the number of counters stored.
	CountAttempts(ctx context.Context) (int, error)

	// AddRememberedDevice stores d (d.TokenHash unique) and sets d.ID.
	AddRememberedDevice(ctx context.Context, d *RememberedDevice) error
	// RememberedDevice returns the user's device with this token hash;
	// ErrNotFound when that user has none (another user's is not found).
	RememberedDevice(ctx context.Context, userID int64, tokenHash []byte) (*RememberedDevice, error)
	// TouchRememberedDevice records a use of the device: time and address.
	TouchRememberedDevice(ctx context.Context, id int64, at time.Time, ip string) error
	// RememberedDevices returns the user's devices, last used first.
	RememberedDevices(ctx context.Context, userID int64) ([]*RememberedDevice, error)
	// DeleteRememberedDevices deletes the user's device id, or all of the
	// user's devices when id is 0, and says how many it deleted.
	DeleteRememberedDevices(ctx context.Context, userID, id int64) (int, error)

	// SetAdmin grants (admin true) or revokes the admin role. Granting
	// happens only if 2FA is on, in the same statement; ErrConflict
	// otherwise. ErrNotFound if there is no such user.
	SetAdmin(ctx context.Context, userID int64, admin bool) error
	// SetDisabled disables or re-enables the account; ErrNotFound if
	// there is no such user.
	SetDisabled(ctx context.Context, userID int64, disabled bool) error

	// SearchUsers returns at most limit users whose username or e-mail
	// address (confirmed or pending, compared in lower case) starts with
	// prefix (plain text: % and _ match themselves), ordered by username.
	SearchUsers(ctx context.Context, prefix string, limit int) ([]*User, error)
	// CountSessions returns how many sessions the user has (any stage).
	CountSessions(ctx context.Context, userID int64) (int, error)
	// AddAudit appends to the admin audit log and sets e.ID.
	AddAudit(ctx context.Context, e *AuditEntry) error
	// AuditLog returns the latest limit entries, newest first.
	AuditLog(ctx context.Context, limit int) ([]*AuditEntry, error)

	// SetEmailPending stores the address awaiting confirmation ("": none).
	SetEmailPending(ctx context.Context, userID int64, address string) error
	// ConfirmEmail makes address the confirmed one if it is still the
	// pending one, atomically, and clears the pending one; ErrConflict
	// otherwise (the pending address was changed meanwhile).
	ConfirmEmail(ctx context.Context, userID int64, address string) error
	// AddMailToken stores t (t.Hash unique).
	AddMailToken(ctx context.Context, t *MailToken) error
	// TakeMailToken deletes and returns the token with this hash and
	// purpose if it has not expired at now, in one atomic statement, so a
	// link works once; ErrNotFound otherwise.
	TakeMailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*MailToken, error)
	// MailToken returns the token with this hash and purpose if it has not
	// expired at now, without using it up; ErrNotFound otherwise.
	MailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*MailToken, error)
	// DeleteMailTokens deletes the user's tokens of this purpose and
	// expired tokens of every user.
	DeleteMailTokens(ctx context.Context, userID int64, purpose string, now time.Time) error

	// EnqueueMail inserts m into the outbox and sets m.ID; ErrConflict
	// if its MessageID is there already.
	EnqueueMail(ctx context.Context, m *Mail) error
	// ClaimMail leases up to limit unsent messages due at now (next
	// attempt reached, no lease or an expired one) until now+lease and
	// counts an attempt on each, atomically: two senders, in one process
	// or several, never hold one message at once.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Mail, error)
	// MarkMailSent records the message delivered at at and empties its
	// bodies: a sent message's links (reset tokens) are kept nowhere.
	MarkMailSent(ctx context.Context, id int64, at time.Time) error
	// RetryMail drops the lease and schedules the next attempt.
	RetryMail(ctx context.Context, id int64, next time.Time, lastError string) error
	// OutboxMail returns the message id (for tests and the admin CLI).
	OutboxMail(ctx context.Context, id int64) (*Mail, error)

	// AddEvent appends to the activity log and sets e.ID.
	AddEvent(ctx context.Context, e *Event) error
	// Events returns the user's latest events, newest first.
	Events(ctx context.Context, userID int64, limit int) ([]*Event, error)

	// PruneBatch deletes at most limit rows of kind that are past their
	// retention (see the PruneKind constants for what before means for
	// each; a lock or lease in force at now keeps its row) in one short
	// statement, and says how many. Rows another transaction holds are
	// skipped, not waited for, and a row is deleted once: several
	// instances may prune at the same time. Each row is chosen through an
	// index. An unknown kind is an error.
	PruneBatch(ctx context.Context, kind PruneKind, before, now time.Time, limit int) (int, error)

	// Atomic runs fn in one transaction: everything fn does through the
	// Store it is given is committed together when fn returns nil, and
	// nothing of it when fn returns an error. Inside, TakeAttempt holds the
	// counter (a row lock, or the database's write lock) until the commit,
	// so Atomic calls that take the same counter run one after the other,
	// across processes. fn must use only the Store it is given. Atomic
	// inside fn runs in the same transaction.
	Atomic(ctx context.Context, fn func(Store) error) error

	// Ping reports whether the database can serve (for /healthz).
	Ping(ctx context.Context) error
}
