package portal

import (
	"context"
	"fmt"
	"time"
)

// Security notifications: the events below mail the account's confirmed
// address (nothing when it has none, or the portal sends no mail). They
// say what happened, when and from which address; never a secret, a code
// or a token.

// EventNewDevice: a full sign-in from a browser without a valid device
// cookie for the account (recorded only when the portal sends mail).
const EventNewDevice EventKind = "signin_new_device"

// Password reset by mail: asked for, and done.
const (
	EventResetRequested EventKind = "password_reset_requested"
	EventPasswordReset  EventKind = "password_reset"
)

func notifies(k EventKind) bool {
	switch k {
	case EventTwoFactorOn, EventTwoFactorOff, EventRecoveryRegenerated, EventRecoveryUsed,
		EventPasswordChanged, EventLockout, EventDeviceRemembered, EventNewDevice, EventPasswordReset,
		EventAccountDisabled, EventAccountEnabled, EventAdminGranted, EventAdminRevoked,
		EventSupportSessionsEnded, EventSupportDevicesForgotten:
		return true
	}
	return false
}

// whence says when and from where, in the user's words.
func whence(e *Event) string {
	when := e.At.UTC().Format("2006-01-02 15:04") + " UTC"
	switch e.IP {
	case "admin":
		return "On " + when + ", by an administrator of the portal."
	case "":
		return "On " + when + "."
	}
	if admin, ok := SupportAdmin(e.IP); ok {
		return "On " + when + ", by the portal's support (admin " + admin + ")."
	}
	return "On " + when + ", from the IP address " + e.IP + "."
}

// notify queues the notice of e to the user's confirmed address.
func (s *Service) notify(ctx context.Context, e *Event, detail string) error {
	u, err := s.store.UserByID(ctx, e.UserID)
	if err != nil {
		return fmt.Errorf("finding user: %w", err)
	}
	if u.Email == "" {
		return nil
	}
	n := notice{Name: u.DisplayName, NotYou: notYou}
	acct := "your account " + u.Username
	switch e.Kind {
	case EventTwoFactorOn:
		n.Subject = "Two-factor authentication is on"
		n.Lines = []string{"Two-factor authentication was turned on for " + acct + ": signing in now takes a code from your authenticator app. Keep your recovery codes somewhere safe."}
	case EventTwoFactorOff:
		n.Subject = "Two-factor authentication was turned off"
		n.Lines = []string{"Two-factor authentication was turned off for " + acct + ": signing in now takes only your password, and every session was signed out."}
	case EventRecoveryRegenerated:
		n.Subject = "New recovery codes were created"
		n.Lines = []string{"New recovery codes were created for " + acct + ". The earlier ones no longer work."}
	case EventRecoveryUsed:
		left, err := s.store.CountRecoveryCodes(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("counting recovery codes: %w", err)
		}
		n.Subject = "A recovery code was used"
		n.Lines = []string{fmt.Sprintf("A recovery code was used to sign in to %s. It no longer works; %d unused recovery code(s) are left.", acct, left),
			"If you lost your phone, turn two-factor authentication off and on again with a new one, or create new recovery codes, in Security Settings."}
	case EventPasswordChanged:
		n.Subject = "Your password was changed"
		n.Lines = []string{"The password of " + acct + " was changed, and every other session was signed out."}
	case EventPasswordReset:
		n.Subject = "Your password was reset"
		n.Lines = []string{"A new password was set for " + acct + " with a link sent to this address. Every session was signed out and remembered browsers were forgotten."}
	case EventLockout:
		n.Subject = "Sign-in to your account is paused"
		n.Lines = []string{"There were several wrong attempts to sign in to " + acct + ", so further attempts from unknown browsers wait for a while. Browsers you signed in with before keep their own allowance."}
		n.NotYou = "If these attempts were not yours, someone may be guessing your password: choose a long, unique one and turn on two-factor authentication."
	case EventDeviceRemembered:
		n.Subject = "A browser was remembered"
		n.Lines = []string{fmt.Sprintf("A browser that signed in to %s will not be asked for a code for %d days.", acct, int(RememberFor/(24*time.Hour))),
			"You can forget it in Security Settings, under Remembered devices."}
	case EventNewDevice:
		n.Subject = "New sign-in to your account"
		n.Lines = []string{"Someone signed in to " + acct + " from a browser not used for it before: " + detail + "."}
	case EventAccountDisabled:
		n.Subject = "Your account was disabled"
		n.Lines = []string{"Support disabled " + acct + ": it cannot be signed in to, and every session was signed out. Contact support if you do not know why."}
		n.NotYou = ""
	case EventAccountEnabled:
		n.Subject = "Your account was enabled again"
		n.Lines = []string{"Support enabled " + acct + " again: you can sign in as before."}
	case EventSupportSessionsEnded:
		n.Subject = "You were signed out everywhere"
		n.Lines = []string{"Every session of " + acct + " was ended: each browser and script must sign in again."}
	case EventSupportDevicesForgotten:
		n.Subject = "Your remembered browsers were forgotten"
		n.Lines = []string{"Every browser remembered for " + acct + " was forgotten: each asks for a code at its next sign-in."}
	case EventAdminGranted:
		n.Subject = "Your account is now an administrator"
		n.Lines = []string{"Your account " + u.Username + " was given the admin role: it can use the support console of the portal. Its two-factor authentication cannot be turned off while it is an admin."}
	case EventAdminRevoked:
		n.Subject = "Your account is no longer an administrator"
		n.Lines = []string{"The admin role of " + acct + " was taken away."}
	default:
		return nil
	}
	n.Lines = append(n.Lines, whence(e))
	return s.queue(ctx, u.Email, n)
}

// NewDeviceSignIn records, when the portal sends mail, a full sign-in
// from a browser whose device cookie (device) is not a valid one of the
// account, and tells the owner.
func (s *Service) NewDeviceSignIn(ctx context.Context, sess *Session, u *User, device, ip, userAgent string) error {
	if !s.cfg.Mail.Enabled || sess == nil || sess.Stage != StageFull {
		return nil
	}
	u, err := s.sessionUser(ctx, sess, u)
	if err != nil {
		return err
	}
	if device != "" && s.deviceNonce(device, u) != "" {
		return nil
	}
	return s.eventDetail(ctx, u.ID, EventNewDevice, ip, Browser(userAgent))
}
