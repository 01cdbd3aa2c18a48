package portal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The admin role and disabled accounts. The role is granted from the
// command line only, and only to an account with 2FA on; while it is held
// the account's 2FA cannot be turned off (the store refuses it), and the
// require-2FA gate applies to it whatever Config.Require2FA says.

// Events of the admin role and of disabled accounts.
const (
	EventAdminGranted     EventKind = "admin_granted"
	EventAdminRevoked     EventKind = "admin_revoked"
	EventAccountDisabled  EventKind = "account_disabled"
	EventAccountEnabled   EventKind = "account_enabled"
	EventDisabledSignIn   EventKind = "signin_refused_disabled"
	errAccountDisabledMsg           = "This account is disabled: contact support."
)

// errAdminTwoFactor refuses turning off an admin's 2FA.
var errAdminTwoFactor = Errorf(ECONFLICT, "Two-factor authentication cannot be turned off on an admin account: the admin role must be revoked first (twofold-portal user revoke-admin NAME).")

// disableTOTP turns 2FA off, or refuses it for an admin.
func (s *Service) disableTOTP(ctx context.Context, userID int64) error {
	err := s.store.DisableTOTP(ctx, userID)
	if errors.Is(err, ErrConflict) {
		return errAdminTwoFactor
	} else if err != nil {
		return fmt.Errorf("disabling two-factor: %w", err)
	}
	return nil
}

// GrantAdmin gives the account the admin role; refused unless its 2FA is on.
func (s *Service) GrantAdmin(ctx context.Context, name string) error {
	return s.setAdmin(ctx, name, true)
}

// RevokeAdmin takes the admin role away.
func (s *Service) RevokeAdmin(ctx context.Context, name string) error {
	return s.setAdmin(ctx, name, false)
}

func (s *Service) setAdmin(ctx context.Context, name string, admin bool) error {
	u, err := s.userByName(ctx, name)
	if err != nil {
		return err
	}
	if u.Admin == admin {
		if admin {
			return Errorf(ECONFLICT, "%s is an admin already.", u.Username)
		}
		return Errorf(ECONFLICT, "%s is not an admin.", u.Username)
	}
	kind := EventAdminRevoked
	if admin {
		kind = EventAdminGranted
	}
	return s.atomic(ctx, func(t *Service) error {
		err := t.store.SetAdmin(ctx, u.ID, admin)
		if errors.Is(err, ErrConflict) {
			return Errorf(ECONFLICT, "%s has two-factor authentication off: an admin must have it on (they set it up in Security Settings first).", u.Username)
		} else if err != nil {
			return fmt.Errorf("setting admin role: %w", err)
		}
		return t.event(ctx, u.ID, kind, "admin")
	})
}

// SetDisabled disables an account (it cannot sign in, and its sessions
// and remembered devices end) or enables it again; by says who did it,
// for the activity log ("admin" for the command line).
func (s *Service) SetDisabled(ctx context.Context, name string, disabled bool, by string) error {
	u, err := s.userByName(ctx, name)
	if err != nil {
		return err
	}
	if u.Disabled == disabled {
		if disabled {
			return Errorf(ECONFLICT, "%s is disabled already.", u.Username)
		}
		return Errorf(ECONFLICT, "%s is not disabled.", u.Username)
	}
	return s.atomic(ctx, func(t *Service) error { return t.setDisabled(ctx, u, disabled, by) })
}

func (s *Service) setDisabled(ctx context.Context, u *User, disabled bool, by string) error {
	if err := s.store.SetDisabled(ctx, u.ID, disabled); err != nil {
		return fmt.Errorf("disabling account: %w", err)
	}
	if !disabled {
		return s.event(ctx, u.ID, EventAccountEnabled, by)
	}
	if _, err := s.store.DeleteUserSessions(ctx, u.ID, nil); err != nil {
		return fmt.Errorf("ending sessions: %w", err)
	}
	if err := s.event(ctx, u.ID, EventAccountDisabled, by); err != nil {
		return err
	}
	_, err := s.forgetDevices(ctx, u.ID, by)
	return err
}

// The support console (/admin): a fully signed-in admin finds customers
// and acts on their accounts. Every page of it needs a recent password
// and a recent code from the app (AdminSudoWindow), entered together
// with ConfirmAdmin; each action is recorded in the customer's activity
// ("by support (admin NAME)"), in the admin audit log, and mailed to the
// customer when the portal sends mail.

// AdminSudoWindow is how long a password and code entered together open
// the support console.
const AdminSudoWindow = 10 * time.Minute

// supportPrefix marks, in an event's IP field, an action of the support
// console: "support:NAME".
const supportPrefix = "support:"

// SupportAdmin returns the admin's name when where (an Event's IP) says
// the support console did it.
func SupportAdmin(where string) (string, bool) {
	return strings.CutPrefix(where, supportPrefix)
}

// Where says where an event came from, in the user's words: an IP
// address, "by an administrator" or "by support (admin NAME)".
func (e *Event) Where() string {
	if admin, ok := SupportAdmin(e.IP); ok {
		return "by support (admin " + admin + ")"
	}
	if e.IP == "admin" {
		return "by an administrator"
	}
	return e.IP
}

// Events of the support console's own actions (the others reuse the
// kinds of the same change made elsewhere).
const (
	EventSupportSessionsEnded    EventKind = "sessions_ended_by_support"
	EventSupportDevicesForgotten EventKind = "devices_forgotten_by_support"
)

var errNotAdmin = Errorf(EFORBIDDEN, "This page is for the portal's support staff only.")

// errAdminSudo asks for the password and a code again.
var errAdminSudo = Errorf(EREAUTH, "Enter your password and a code from your authenticator app to use the support console.")

// Admin returns the user of sess when it is a fully signed-in admin;
// EFORBIDDEN for anyone else signed in.
func (s *Service) Admin(ctx context.Context, sess *Session) (*User, error) {
	if sess == nil {
		return nil, errNoSession
	}
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	if !u.Admin {
		return nil, errNotAdmin
	}
	return u, nil
}

// InAdminSudo reports whether the password and a code were both entered
// in this session within AdminSudoWindow.
func (s *Service) InAdminSudo(sess *Session) bool {
	now := s.now()
	return !sess.CodeAt.IsZero() && now.Sub(sess.AuthAt) <= AdminSudoWindow && now.Sub(sess.CodeAt) <= AdminSudoWindow
}

// adminSudo returns the admin of a session in admin sudo mode.
func (s *Service) adminSudo(ctx context.Context, sess *Session) (*User, error) {
	a, err := s.Admin(ctx, sess)
	if err != nil {
		return nil, err
	}
	if !s.InAdminSudo(sess) {
		return nil, errAdminSudo
	}
	return a, nil
}

// ConfirmAdmin checks the admin's password and a code from the app and
// opens the support console for AdminSudoWindow; the session is replaced.
func (s *Service) ConfirmAdmin(ctx context.Context, sess *Session, password, code, ip string) (string, *Session, error) {
	a, err := s.Admin(ctx, sess)
	if err != nil {
		return "", nil, err
	}
	if password == "" {
		return "", nil, Errorf(EINVALID, "Enter your password.")
	}
	if strings.TrimSpace(code) == "" {
		return "", nil, Errorf(EINVALID, "Enter a code from your authenticator app.")
	}
	if len(password) > 4*MaxPasswordLen {
		return "", nil, Errorf(EUNAUTHORIZED, "Wrong password.")
	}
	if err := s.checkSignedIn(ctx, a, password, ip); err != nil {
		if ErrorCode(err) == EUNAUTHORIZED {
			return "", nil, Errorf(EUNAUTHORIZED, "Wrong password.")
		}
		return "", nil, err
	}
	if err := s.checkCode(ctx, a, code, ip); err != nil {
		return "", nil, err
	}
	if err := s.event(ctx, a.ID, EventPasswordConfirmed, ip); err != nil {
		return "", nil, err
	}
	now := s.now()
	token, ns, err := s.newSession(ctx, &Session{UserID: sess.UserID, Stage: StageFull, CreatedAt: sess.CreatedAt,
		AuthAt: now, CodeAt: now, IP: sess.IP, UserAgent: sess.UserAgent, SetupSkipped: sess.SetupSkipped})
	if err != nil {
		return "", nil, err
	}
	if err := s.store.DeleteSession(ctx, sess.ID); err != nil {
		return "", nil, fmt.Errorf("deleting old session: %w", err)
	}
	return token, ns, nil
}

// MaxSearchResults bounds a customer search.
const MaxSearchResults = 20

// FindCustomers returns the accounts whose username or e-mail address
// starts with query (an exact match is a prefix of itself), at most
// MaxSearchResults, ordered by username; more says there are others.
func (s *Service) FindCustomers(ctx context.Context, sess *Session, query string) (users []*User, more bool, err error) {
	if _, err := s.adminSudo(ctx, sess); err != nil {
		return nil, false, err
	}
	query = strings.ToLower(strings.TrimSpace(query))
	if query == "" {
		return nil, false, Errorf(EINVALID, "Enter a username or an e-mail address, or their beginning.")
	}
	if len(query) > 254 || !utf8.ValidString(query) {
		return nil, false, Errorf(EINVALID, "That is longer than any username or e-mail address.")
	}
	users, err = s.store.SearchUsers(ctx, query, MaxSearchResults+1)
	if err != nil {
		return nil, false, fmt.Errorf("searching users: %w", err)
	}
	if len(users) > MaxSearchResults {
		return users[:MaxSearchResults], true, nil
	}
	return users, false, nil
}

// Customer is what the support console shows of an account.
type Customer struct {
	User     *User
	Devices  []*RememberedDevice
	Sessions int
	Events   []*Event
	Mail     bool // the portal sends mail (a reset link is possible)
}

// CustomerEvents is how much recent activity the console shows.
const CustomerEvents = 25

// Customer returns the account name for the support console.
func (s *Service) Customer(ctx context.Context, sess *Session, name string) (*Customer, error) {
	if _, err := s.adminSudo(ctx, sess); err != nil {
		return nil, err
	}
	u, err := s.userByName(ctx, name)
	if err != nil {
		return nil, err
	}
	c := &Customer{User: u, Mail: s.cfg.Mail.Enabled}
	if c.Devices, err = s.store.RememberedDevices(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("listing remembered devices: %w", err)
	}
	if c.Sessions, err = s.store.CountSessions(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("counting sessions: %w", err)
	}
	if c.Events, err = s.store.Events(ctx, u.ID, CustomerEvents); err != nil {
		return nil, fmt.Errorf("listing activity: %w", err)
	}
	return c, nil
}

// SupportAction names an action of the support console.
type SupportAction string

// The support console's actions.
const (
	ActionResetTwoFactor SupportAction = "reset-2fa"
	ActionEndSessions    SupportAction = "end-sessions"
	ActionForgetDevices  SupportAction = "forget-devices"
	ActionDisable        SupportAction = "disable"
	ActionEnable         SupportAction = "enable"
	ActionSendReset      SupportAction = "send-reset-link"
)

// SupportActions lists the actions in the order the console shows them.
var SupportActions = []SupportAction{ActionResetTwoFactor, ActionEndSessions, ActionForgetDevices, ActionSendReset, ActionDisable, ActionEnable}

// Label is the action's button text.
func (a SupportAction) Label() string {
	switch a {
	case ActionResetTwoFactor:
		return "Reset two-factor authentication"
	case ActionEndSessions:
		return "End all sessions"
	case ActionForgetDevices:
		return "Forget remembered devices"
	case ActionDisable:
		return "Disable the account"
	case ActionEnable:
		return "Enable the account again"
	case ActionSendReset:
		return "Send a password-reset link"
	}
	return string(a)
}

// Explain says what the action will do, for its confirmation page.
func (a SupportAction) Explain() string {
	switch a {
	case ActionResetTwoFactor:
		return "Two-factor authentication is turned off and the recovery codes deleted; every session ends and remembered devices are forgotten. The customer signs in with the password alone and should set 2FA up again."
	case ActionEndSessions:
		return "Every session of the account ends: each browser and script must sign in again."
	case ActionForgetDevices:
		return "Every remembered device is forgotten: each browser is asked for a code at its next sign-in."
	case ActionDisable:
		return "The account cannot sign in (it is told \"This account is disabled: contact support.\" after a right password); every session ends and remembered devices are forgotten."
	case ActionEnable:
		return "The account can sign in again as before."
	case ActionSendReset:
		return "A single-use link to set a new password (30 minutes) goes to the account's confirmed e-mail address; a 2FA account still needs a code."
	}
	return ""
}

// ParseSupportAction returns the action of a URL segment.
func ParseSupportAction(s string) (SupportAction, bool) {
	for _, a := range SupportActions {
		if string(a) == s {
			return a, true
		}
	}
	return "", false
}

// Available reports whether a applies to the account now, and why not.
func (a SupportAction) Available(c *Customer) error {
	u := c.User
	switch a {
	case ActionResetTwoFactor:
		if !u.TwoFactor() {
			return Errorf(ECONFLICT, "Two-factor authentication is off for %s already.", u.Username)
		}
		if u.Admin {
			return Errorf(ECONFLICT, "%s is an admin: revoke the role first (twofold-portal user revoke-admin %s).", u.Username, u.Username)
		}
	case ActionDisable:
		if u.Disabled {
			return Errorf(ECONFLICT, "%s is disabled already.", u.Username)
		}
		if u.Admin {
			return Errorf(ECONFLICT, "%s is an admin: revoke the role first (twofold-portal user revoke-admin %s).", u.Username, u.Username)
		}
	case ActionEnable:
		if !u.Disabled {
			return Errorf(ECONFLICT, "%s is not disabled.", u.Username)
		}
	case ActionSendReset:
		if !c.Mail {
			return Errorf(ECONFLICT, "This portal sends no e-mail, so it cannot send a reset link: set a password with twofold-portal user set-password.")
		}
		if u.Email == "" {
			return Errorf(ECONFLICT, "%s has no confirmed e-mail address.", u.Username)
		}
	}
	return nil
}

// DoSupportAction runs action on the account name for the admin of sess,
// in one transaction with its activity entry, its audit row and its mail.
func (s *Service) DoSupportAction(ctx context.Context, sess *Session, name string, action SupportAction, ip string) error {
	a, err := s.adminSudo(ctx, sess)
	if err != nil {
		return err
	}
	if _, ok := ParseSupportAction(string(action)); !ok {
		return Errorf(ENOTFOUND, "There is no such action.")
	}
	u, err := s.userByName(ctx, name)
	if err != nil {
		return err
	}
	if err := action.Available(&Customer{User: u, Mail: s.cfg.Mail.Enabled}); err != nil {
		return err
	}
	by := supportPrefix + a.Username
	return s.atomic(ctx, func(t *Service) error {
		var err error
		switch action {
		case ActionResetTwoFactor:
			err = t.resetTwoFactor(ctx, u, by)
		case ActionEndSessions:
			if _, err = t.store.DeleteUserSessions(ctx, u.ID, nil); err == nil {
				err = t.event(ctx, u.ID, EventSupportSessionsEnded, by)
			}
		case ActionForgetDevices:
			if _, err = t.store.DeleteRememberedDevices(ctx, u.ID, 0); err == nil {
				err = t.event(ctx, u.ID, EventSupportDevicesForgotten, by)
			}
		case ActionDisable, ActionEnable:
			err = t.setDisabled(ctx, u, action == ActionDisable, by)
		case ActionSendReset:
			err = t.sendResetLink(ctx, u, by)
		}
		if err != nil {
			return err
		}
		if err := t.store.AddAudit(ctx, &AuditEntry{Admin: a.Username, Action: string(action), Target: u.Username, IP: ip, At: t.now()}); err != nil {
			return fmt.Errorf("recording audit entry: %w", err)
		}
		return nil
	})
}

// resetTwoFactor turns u's two-factor authentication off for good (the
// admin CLI's reset-2fa and the support console's): no undelivered
// recovery codes, no session, no code limit, no remembered browser; by
// is who did it, for the activity.
func (s *Service) resetTwoFactor(ctx context.Context, u *User, by string) error {
	if err := s.disableTOTP(ctx, u.ID); err != nil {
		return err
	}
	if err := s.store.SetUnseenRecovery(ctx, u.ID, nil); err != nil {
		return fmt.Errorf("clearing undelivered recovery codes: %w", err)
	}
	if _, err := s.store.DeleteUserSessions(ctx, u.ID, nil); err != nil {
		return fmt.Errorf("ending sessions: %w", err)
	}
	if err := s.resetCode(ctx, u.ID); err != nil {
		return err
	}
	if err := s.event(ctx, u.ID, EventTwoFactorOff, by); err != nil {
		return err
	}
	_, err := s.forgetDevices(ctx, u.ID, by)
	return err
}

// AuditLogSize is how many audit entries /admin shows.
const AuditLogSize = 50

// AuditLog returns the latest entries of the admin audit log.
func (s *Service) AuditLog(ctx context.Context, sess *Session) ([]*AuditEntry, error) {
	if _, err := s.adminSudo(ctx, sess); err != nil {
		return nil, err
	}
	log, err := s.store.AuditLog(ctx, AuditLogSize)
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	return log, nil
}
