// Package portal holds the domain of the Twofold web portal: users,
// sessions, two-factor enrollment, recovery codes, attempt limits and the
// security activity log, with the Store interface the adapters implement.
package portal

import (
	"time"
)

// User is a portal account.
type User struct {
	ID           int64
	Username     string // lower-case, unique
	DisplayName  string
	PasswordHash string // argon2id, PHC string format
	// TOTPSecret is the sealed (AES-256-GCM) secret of the active
	// authenticator, nil when two-factor authentication is off.
	TOTPSecret []byte
	// TOTPPending is the sealed secret of an enrollment that no code has
	// verified yet. It never takes part in login.
	TOTPPending []byte
	// TOTPLastStep is the last time step accepted for this user; only a
	// later step is accepted again.
	TOTPLastStep uint64
	CreatedAt    time.Time
	// RecoveryUnseen holds, sealed, the recovery codes of the last
	// enrollment and the session that finished it, so that an answer lost
	// to a crash or the network can be shown again to that session for a
	// few minutes. Cleared at the next sign-in with a code.
	RecoveryUnseen []byte
	// GraceFrom starts the account's grace period for setting up 2FA when
	// the portal requires it (Config.Require2FA): the first sign-in after
	// the setting, or the creation under it. Zero: not started.
	GraceFrom time.Time
	// Email is the confirmed address ("" when none): the only one mail
	// goes to. EmailPending waits for its confirmation link.
	Email        string
	EmailPending string
	// Admin: the account may use the support console (/admin). Granted
	// only with 2FA on, and 2FA cannot be turned off while it is held.
	Admin bool
	// Disabled: support turned the account off; it cannot sign in.
	Disabled bool
}

// TwoFactor reports whether two-factor authentication is on.
func (u *User) TwoFactor() bool { return len(u.TOTPSecret) > 0 }

// Stage says how far a session got through sign-in.
type Stage int

const (
	// StagePassword: the password was right, a code is still needed. Such a
	// session reaches only the code pages and logout.
	StagePassword Stage = 1
	// StageFull: signed in.
	StageFull Stage = 2
)

// Session is a server-side session. The cookie holds a random token; the
// store keeps only its SHA-256 hash, as ID.
type Session struct {
	ID         []byte
	UserID     int64
	Stage      Stage
	CreatedAt  time.Time
	LastSeenAt time.Time
	// AuthAt is when the password was last entered in this session, for
	// "sudo mode".
	AuthAt time.Time
	// CodeAt is when a code from the app was last entered in this
	// session (zero: never), for the support console's sudo step.
	CodeAt    time.Time
	IP        string
	UserAgent string
	// SetupSkipped: the user postponed the required 2FA set-up in this
	// session, during the grace period.
	SetupSkipped bool
}

// EventKind names an entry of the security activity log.
type EventKind string

const (
	EventSignUp              EventKind = "signup"
	EventSignIn              EventKind = "signin"
	EventSignInFailed        EventKind = "signin_failed"
	EventCodeFailed          EventKind = "code_failed"
	EventCodeReplayed        EventKind = "code_replayed"
	EventRecoveryFailed      EventKind = "recovery_code_failed"
	EventRecoveryUsed        EventKind = "recovery_code_used"
	EventLockout             EventKind = "lockout"
	EventTwoFactorOn         EventKind = "2fa_enabled"
	EventTwoFactorOff        EventKind = "2fa_disabled"
	EventRecoveryRegenerated EventKind = "recovery_codes_regenerated"
	EventPasswordConfirmed   EventKind = "password_confirmed"
	EventSignOut             EventKind = "signout"
	EventOtherSessionsEnded  EventKind = "other_sessions_ended"
	EventPasswordChanged     EventKind = "password_changed"
	EventRememberedSignIn    EventKind = "signin_remembered_device"
	EventDeviceRemembered    EventKind = "device_remembered"
	EventDeviceForgotten     EventKind = "device_forgotten"
	EventSetupSkipped        EventKind = "2fa_setup_skipped"
	EventEmailConfirmed      EventKind = "email_confirmed"
	EventEmailChangeAsked    EventKind = "email_change_requested"
	EventEmailChanged        EventKind = "email_changed"
)

// Label is the human wording of an event kind.
func (k EventKind) Label() string {
	switch k {
	case EventSignUp:
		return "Account created"
	case EventSignIn:
		return "Signed in"
	case EventSignInFailed:
		return "Failed sign-in (wrong password)"
	case EventCodeFailed:
		return "Wrong two-factor code"
	case EventCodeReplayed:
		return "Reused two-factor code refused"
	case EventRecoveryFailed:
		return "Wrong recovery code"
	case EventRecoveryUsed:
		return "Recovery code used"
	case EventLockout:
		return "Too many attempts: locked for a while"
	case EventTwoFactorOn:
		return "Two-factor authentication turned on"
	case EventTwoFactorOff:
		return "Two-factor authentication turned off"
	case EventRecoveryRegenerated:
		return "New recovery codes created"
	case EventPasswordConfirmed:
		return "Password confirmed"
	case EventSignOut:
		return "Signed out"
	case EventOtherSessionsEnded:
		return "Other sessions signed out"
	case EventPasswordChanged:
		return "Password changed (other sessions signed out)"
	case EventRememberedSignIn:
		return "Signed in from a remembered device"
	case EventDeviceRemembered:
		return "Device remembered (no code asked there for 30 days)"
	case EventDeviceForgotten:
		return "Remembered device forgotten"
	case EventSetupSkipped:
		return "Two-factor set-up postponed"
	case EventResetRequested:
		return "Password-reset link sent by e-mail"
	case EventPasswordReset:
		return "Password reset with a link sent by e-mail (every session signed out)"
	case EventNewDevice:
		return "Signed in from a new browser"
	case EventEmailConfirmed:
		return "E-mail address confirmed"
	case EventEmailChangeAsked:
		return "New e-mail address entered (waiting for its confirmation)"
	case EventEmailChanged:
		return "E-mail address changed (the old address was told)"
	case EventAdminGranted:
		return "Admin role granted"
	case EventAdminRevoked:
		return "Admin role revoked"
	case EventAccountDisabled:
		return "Account disabled (every session signed out)"
	case EventAccountEnabled:
		return "Account enabled again"
	case EventDisabledSignIn:
		return "Sign-in refused: the account is disabled"
	case EventSupportSessionsEnded:
		return "Every session signed out"
	case EventSupportDevicesForgotten:
		return "Every remembered device forgotten"
	}
	return string(k)
}

// AuditEntry is one row of the admin audit log: an action of the
// support console.
type AuditEntry struct {
	ID     int64
	Admin  string // the admin's username
	Action string
	Target string // the customer's username
	IP     string
	At     time.Time
}

// Event is one entry of the security activity log.
type Event struct {
	ID     int64
	UserID int64
	Kind   EventKind
	IP     string
	At     time.Time
}

// Attempt is the state of one attempt counter.
type Attempt struct {
	Key         string
	Failures    int
	LockedUntil time.Time
}
