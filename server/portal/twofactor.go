package portal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"twofold.dev/shared/totp"
)

// key opens a sealed otpauth URI.
func (s *Service) key(userID int64, sealed []byte) (*totp.Key, error) {
	k, _, err := s.openKey(userID, sealed)
	return k, err
}

// pendingPrefix starts a sealed pending key: "pending-v1 <unix ns>\n"
// then the URI, so the key's age travels with it (and, once enabled, the
// active key keeps the prefix, which openKey skips).
const pendingPrefix = "pending-v1 "

// openKey opens a sealed key and returns when it was created as a pending
// key (zero for a key sealed without its age).
func (s *Service) openKey(userID int64, sealed []byte) (*totp.Key, time.Time, error) {
	plain, err := s.keys.Open(userID, sealed)
	if err != nil {
		return nil, time.Time{}, err
	}
	uri, created := string(plain), time.Time{}
	if rest, ok := strings.CutPrefix(uri, pendingPrefix); ok {
		stamp, u, found := strings.Cut(rest, "\n")
		ns, perr := strconv.ParseInt(stamp, 10, 64)
		if !found || perr != nil {
			return nil, time.Time{}, fmt.Errorf("parsing stored key of user %d: bad pending header", userID)
		}
		uri, created = u, time.Unix(0, ns)
	}
	k, err := totp.ParseURI(uri)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("parsing stored key of user %d: %w", userID, err)
	}
	return k, created, nil
}

// PendingKeyTTL is how long an unfinished set-up keeps its key: after it,
// "Get Started" makes a new one.
const PendingKeyTTL = time.Hour

var errPendingExpired = Errorf(ENOTFOUND, "The set-up key expired after an hour. Start again from Security Settings: you will get a new key to scan.")

// pendingKey returns the user's pending key while it is fresh.
func (s *Service) pendingKey(u *User) (*totp.Key, error) {
	if u.TOTPPending == nil {
		return nil, errNoEnrollment
	}
	k, created, err := s.openKey(u.ID, u.TOTPPending)
	if err != nil {
		return nil, err
	}
	if s.now().Sub(created) > PendingKeyTTL {
		return nil, errPendingExpired
	}
	return k, nil
}

func codeKey(userID int64) string { return "2fa:user:" + strconv.FormatInt(userID, 10) }

// cleanCode drops spaces and checks the shape of a TOTP code.
func cleanCode(code string, digits int) (string, error) {
	code = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
	if len(code) != digits {
		return "", Errorf(EINVALID, "Enter the %d-digit code from your authenticator app.", digits)
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return "", Errorf(EINVALID, "Enter the %d-digit code from your authenticator app (digits only).", digits)
		}
	}
	return code, nil
}

var (
	errWrongCode     = Errorf(EUNAUTHORIZED, "That code is not right. Check that your phone's clock is correct and enter the newest code.")
	errReplayedCode  = Errorf(EUNAUTHORIZED, "That code was already used. Wait for the next code in your app.")
	errWrongRecovery = Errorf(EUNAUTHORIZED, "That recovery code is not right or was already used.")
	errUsedRecovery  = Errorf(EUNAUTHORIZED, "That recovery code was already used. Each recovery code works once.")
)

// checkCode verifies a TOTP code of an enabled account and consumes its
// step, within the code limit.
func (s *Service) checkCode(ctx context.Context, u *User, code, ip string) error {
	k, err := s.key(u.ID, u.TOTPSecret)
	if err != nil {
		return err
	}
	if code, err = cleanCode(code, k.Digits); err != nil {
		return err
	}
	now := s.now()
	a, err := s.take(ctx, codeKey(u.ID), now, s.cfg.CodeLimit)
	if err != nil {
		return err
	}
	step, ok := k.Verify(code, now, totp.DefaultSkew)
	if !ok {
		if err := s.failed(ctx, u.ID, EventCodeFailed, ip, a, now); err != nil {
			return err
		}
		return errWrongCode
	}
	if err := s.store.ConsumeTOTPStep(ctx, u.ID, step); errors.Is(err, ErrReplay) {
		// A right code already accepted (a double submit, a second tab):
		// refused as used, and not a failure that could lock the owner.
		if err := s.store.RefundAttempt(ctx, codeKey(u.ID)); err != nil {
			return fmt.Errorf("refunding attempt: %w", err)
		}
		if err := s.event(ctx, u.ID, EventCodeReplayed, ip); err != nil {
			return err
		}
		return errReplayedCode
	} else if err != nil {
		return fmt.Errorf("consuming step: %w", err)
	}
	return s.resetCode(ctx, u.ID)
}

// checkRecovery uses up a recovery code, within the code limit.
func (s *Service) checkRecovery(ctx context.Context, u *User, code, ip string) error {
	code = NormalizeRecoveryCode(code)
	if !validRecoveryCode(code) {
		return Errorf(EINVALID, "A recovery code looks like abcde-fghij: 10 letters and digits.")
	}
	now := s.now()
	a, err := s.take(ctx, codeKey(u.ID), now, s.cfg.CodeLimit)
	if err != nil {
		return err
	}
	err = s.store.ConsumeRecoveryCode(ctx, u.ID, s.keys.HashRecoveryCode(u.ID, code), now)
	if errors.Is(err, ErrReplay) {
		// A right code already used (a double submit): refused as used,
		// not counted as a failure.
		if err := s.store.RefundAttempt(ctx, codeKey(u.ID)); err != nil {
			return fmt.Errorf("refunding attempt: %w", err)
		}
		return errUsedRecovery
	}
	if errors.Is(err, ErrNotFound) {
		if err := s.failed(ctx, u.ID, EventRecoveryFailed, ip, a, now); err != nil {
			return err
		}
		return errWrongRecovery
	} else if err != nil {
		return fmt.Errorf("consuming recovery code: %w", err)
	}
	if err := s.event(ctx, u.ID, EventRecoveryUsed, ip); err != nil {
		return err
	}
	// A recovery code in use may be a stolen one: no browser skips the
	// code any more.
	if _, err := s.forgetDevices(ctx, u.ID, ip); err != nil {
		return err
	}
	return s.resetCode(ctx, u.ID)
}

// failed records a failed attempt, and the lockout when it caused one.
func (s *Service) failed(ctx context.Context, userID int64, kind EventKind, ip string, a Attempt, now time.Time) error {
	if err := s.event(ctx, userID, kind, ip); err != nil {
		return err
	}
	if a.LockedUntil.After(now) {
		return s.event(ctx, userID, EventLockout, ip)
	}
	return nil
}

func (s *Service) resetCode(ctx context.Context, userID int64) error {
	if err := s.store.ResetAttempts(ctx, codeKey(userID)); err != nil {
		return fmt.Errorf("resetting attempts: %w", err)
	}
	return nil
}

// pendingUser returns the user of a session that passed the password:
// u, the user Authenticate read with the session, when it is that
// session's user (the request need not read it twice), else the stored
// one.
func (s *Service) pendingUser(ctx context.Context, sess *Session, u *User) (*User, error) {
	if sess.Stage != StagePassword {
		return nil, errNoSession
	}
	u, err := s.sessionUser(ctx, sess, u)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, errNoSession
	}
	if !u.TwoFactor() {
		return nil, Errorf(ECONFLICT, "Two-factor authentication is off for this account. Please sign in again.")
	}
	return u, nil
}

// SignedIn is what the second step of sign-in gives the browser.
type SignedIn struct {
	Token   string   // cookie token of the new, fully signed-in session
	Session *Session // that session
	// Unseen holds the recovery codes of an enrollment whose answer never
	// arrived (nil almost always): show them.
	Unseen []string
	// Remembered is the cookie token of the remembered device, when the
	// user asked not to be asked again on this computer; "" otherwise.
	Remembered string
}

// LoginCode finishes sign-in with a TOTP code; the session is replaced.
// u is the session's user as Authenticate returned it (nil: read it).
// With remember, the browser becomes a remembered device (RememberFor).
// The attempt, the step, the activity, the device and the new session
// are written in one transaction.
func (s *Service) LoginCode(ctx context.Context, sess *Session, u *User, code, ip string, remember bool) (*SignedIn, error) {
	return s.loginSecond(ctx, sess, u, func(t *Service, u *User) error { return t.checkCode(ctx, u, code, ip) }, ip, remember)
}

// LoginRecovery finishes sign-in with a recovery code; the session is
// replaced, as in LoginCode. It forgets the remembered devices and
// remembers none.
func (s *Service) LoginRecovery(ctx context.Context, sess *Session, u *User, code, ip string) (*SignedIn, error) {
	return s.loginSecond(ctx, sess, u, func(t *Service, u *User) error { return t.checkRecovery(ctx, u, code, ip) }, ip, false)
}

// loginSecond runs check and, when it passes, records the sign-in and
// replaces the session, all in one transaction; a refused check commits
// what it recorded (the attempt, the failure).
func (s *Service) loginSecond(ctx context.Context, sess *Session, u *User, check func(t *Service, u *User) error, ip string, remember bool) (*SignedIn, error) {
	u, err := s.pendingUser(ctx, sess, u)
	if err != nil {
		return nil, err
	}
	out := &SignedIn{}
	err = s.atomic(ctx, func(t *Service) error {
		if err := check(t, u); err != nil {
			return err
		}
		if err := t.event(ctx, u.ID, EventSignIn, ip); err != nil {
			return err
		}
		var err error
		if out.Token, out.Session, err = t.rotate(ctx, sess, StageFull, sess.AuthAt); err != nil {
			return err
		}
		if remember {
			if out.Remembered, err = t.rememberDevice(ctx, u, sess.UserAgent, ip); err != nil {
				return err
			}
		}
		// Recovery codes whose answer was lost: shown on this sign-in,
		// and kept until this new session's first request.
		if out.Unseen, _ = t.openUnseen(u); out.Unseen != nil {
			return t.keepUnseen(ctx, u.ID, out.Session, out.Unseen)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fullUser returns the user of a signed-in session.
func (s *Service) fullUser(ctx context.Context, sess *Session) (*User, error) {
	if sess.Stage != StageFull {
		return nil, errNoSession
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	if u.Disabled {
		return nil, errNoSession
	}
	return u, nil
}

// ErrAlreadyOn refuses setting up an authenticator when one is on.
var ErrAlreadyOn = Errorf(ECONFLICT, "Two-factor authentication is already on.")

// CanEnroll tells whether the session's user may set up an authenticator
// now: nil, ErrAlreadyOn, or an error asking for the password again.
func (s *Service) CanEnroll(ctx context.Context, sess *Session) error {
	_, err := s.enrolling(ctx, sess)
	return err
}

// enrolling returns the signed-in user who may set up an authenticator:
// password entered recently, two-factor authentication still off.
func (s *Service) enrolling(ctx context.Context, sess *Session) (*User, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	if err := s.sudo(sess); err != nil {
		return nil, err
	}
	if u.TwoFactor() {
		return nil, ErrAlreadyOn
	}
	return u, nil
}

// StartEnrollment returns the pending key of the user, creating one if
// there is none: a user who comes back sees the same key and need not
// scan again.
func (s *Service) StartEnrollment(ctx context.Context, sess *Session) (*totp.Key, error) {
	u, err := s.enrolling(ctx, sess)
	if err != nil {
		return nil, err
	}
	if k, err := s.pendingKey(u); err == nil {
		return k, nil
	}
	k, err := totp.Generate(s.rand, s.cfg.Issuer, u.Username)
	if err != nil {
		return nil, err
	}
	sealed, err := s.keys.SealKey(s.rand, u.ID, k, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.store.SetPendingTOTP(ctx, u.ID, sealed); err != nil {
		return nil, fmt.Errorf("storing pending key: %w", err)
	}
	return k, nil
}

var errNoEnrollment = Errorf(ENOTFOUND, "There is no set-up in progress. Start again from Security Settings.")

// PendingEnrollment returns the key of the enrollment in progress.
func (s *Service) PendingEnrollment(ctx context.Context, sess *Session) (*totp.Key, error) {
	u, err := s.enrolling(ctx, sess)
	if err != nil {
		return nil, err
	}
	return s.pendingKey(u)
}

// CompleteEnrollment verifies the first code of the pending key, turns
// two-factor authentication on and returns the recovery codes (shown
// once) and the replaced session. A wrong code keeps the same key.
func (s *Service) CompleteEnrollment(ctx context.Context, sess *Session, code, ip string) ([]string, string, *Session, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, "", nil, err
	}
	if err := s.sudo(sess); err != nil {
		return nil, "", nil, err
	}
	if u.TwoFactor() {
		return nil, "", nil, ErrAlreadyOn
	}
	k, err := s.pendingKey(u)
	if err != nil {
		return nil, "", nil, err
	}
	if code, err = cleanCode(code, k.Digits); err != nil {
		return nil, "", nil, err
	}
	codes, hashes, err := s.newRecovery(u.ID)
	if err != nil {
		return nil, "", nil, err
	}
	// The attempt, the switch, the recovery codes, the counter reset, the
	// activity entry and the new session commit together or not at all.
	var token string
	var ns *Session
	err = s.atomic(ctx, func(t *Service) error {
		now := t.now()
		a, err := t.take(ctx, codeKey(u.ID), now, t.cfg.CodeLimit)
		if err != nil {
			return err
		}
		step, ok := k.Verify(code, now, totp.DefaultSkew)
		if !ok {
			if err := t.failed(ctx, u.ID, EventCodeFailed, ip, a, now); err != nil {
				return err
			}
			return Errorf(EUNAUTHORIZED, "That code is not right. Check that your phone's clock is correct and enter the newest code; the key stays the same, no need to scan again.")
		}
		if err := t.store.EnableTOTP(ctx, u.ID, u.TOTPPending, step, hashes); errors.Is(err, ErrConflict) {
			return Errorf(ECONFLICT, "Two-factor authentication was changed in the meantime. Reload Security Settings.")
		} else if err != nil {
			return fmt.Errorf("enabling two-factor: %w", err)
		}
		if err := t.resetCode(ctx, u.ID); err != nil {
			return err
		}
		if err := t.event(ctx, u.ID, EventTwoFactorOn, ip); err != nil {
			return err
		}
		if token, ns, err = t.rotate(ctx, sess, StageFull, sess.AuthAt); err != nil {
			return err
		}
		return t.keepUnseen(ctx, u.ID, ns, codes)
	})
	if err != nil {
		return nil, "", nil, err
	}
	return codes, token, ns, nil
}

// keepUnseen keeps codes, sealed, until the session they are sent to
// makes its next request.
func (s *Service) keepUnseen(ctx context.Context, userID int64, to *Session, codes []string) error {
	sealed, err := s.sealUnseen(userID, to.ID, codes)
	if err != nil {
		return err
	}
	if err := s.store.SetUnseenRecovery(ctx, userID, sealed); err != nil {
		return fmt.Errorf("keeping recovery codes until delivered: %w", err)
	}
	return nil
}

func (s *Service) newRecovery(userID int64) ([]string, [][]byte, error) {
	codes, err := newRecoveryCodes(s.rand, RecoveryCodeCount)
	if err != nil {
		return nil, nil, err
	}
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = s.keys.HashRecoveryCode(userID, c)
	}
	return codes, hashes, nil
}

// RegenerateRecoveryCodes replaces the recovery codes; it needs sudo mode
// and a current code.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, sess *Session, code, ip string) ([]string, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	if err := s.sudo(sess); err != nil {
		return nil, err
	}
	if !u.TwoFactor() {
		return nil, Errorf(ECONFLICT, "Two-factor authentication is off.")
	}
	if err := s.checkCode(ctx, u, code, ip); err != nil {
		return nil, err
	}
	codes, hashes, err := s.newRecovery(u.ID)
	if err != nil {
		return nil, err
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return nil, fmt.Errorf("replacing recovery codes: %w", err)
	}
	if err := s.store.SetUnseenRecovery(ctx, u.ID, nil); err != nil {
		return nil, fmt.Errorf("clearing undelivered recovery codes: %w", err)
	}
	if err := s.event(ctx, u.ID, EventRecoveryRegenerated, ip); err != nil {
		return nil, err
	}
	if _, err := s.forgetDevices(ctx, u.ID, ip); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTwoFactor turns two-factor authentication off; it needs the
// password and a current code or a recovery code, and it ends the user's
// other sessions.
func (s *Service) DisableTwoFactor(ctx context.Context, sess *Session, password, code, recovery, ip string) error {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return err
	}
	if !u.TwoFactor() {
		return Errorf(ECONFLICT, "Two-factor authentication is already off.")
	}
	if u.Admin {
		return errAdminTwoFactor
	}
	if password == "" {
		return Errorf(EINVALID, "Enter your password.")
	}
	if strings.TrimSpace(code) == "" && strings.TrimSpace(recovery) == "" {
		return Errorf(EINVALID, "Enter a code from your app or a recovery code.")
	}
	if len(password) > 4*MaxPasswordLen {
		return Errorf(EUNAUTHORIZED, "Wrong password.")
	}
	if err := s.checkSignedIn(ctx, u, password, ip); err != nil {
		if ErrorCode(err) == EUNAUTHORIZED {
			return Errorf(EUNAUTHORIZED, "Wrong password.")
		}
		return err
	}
	if strings.TrimSpace(code) != "" {
		err = s.checkCode(ctx, u, code, ip)
	} else {
		err = s.checkRecovery(ctx, u, recovery, ip)
	}
	if err != nil {
		return err
	}
	if err := s.disableTOTP(ctx, u.ID); err != nil {
		return err
	}
	if err := s.store.SetUnseenRecovery(ctx, u.ID, nil); err != nil {
		return fmt.Errorf("clearing undelivered recovery codes: %w", err)
	}
	if err := s.event(ctx, u.ID, EventTwoFactorOff, ip); err != nil {
		return err
	}
	if _, err := s.forgetDevices(ctx, u.ID, ip); err != nil {
		return err
	}
	if _, err := s.LogoutOthers(ctx, sess, ip); err != nil {
		return err
	}
	return nil
}

// Status is what Security Settings shows.
type Status struct {
	TwoFactor    bool
	Pending      bool
	RecoveryLeft int
	Events       []*Event
	SudoUntil    time.Time
	// Devices are the remembered devices, which skip the code.
	Devices []*RememberedDevice
	// Mail: the portal sends mail; Email is the confirmed address,
	// EmailPending one waiting for its link.
	Mail         bool
	Email        string
	EmailPending string
}

// SecurityStatus returns the two-factor state and the recent activity.
func (s *Service) SecurityStatus(ctx context.Context, sess *Session) (*Status, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return nil, err
	}
	st := &Status{TwoFactor: u.TwoFactor(), Pending: u.TOTPPending != nil, SudoUntil: sess.AuthAt.Add(s.cfg.SudoWindow),
		Mail: s.cfg.Mail.Enabled, Email: u.Email, EmailPending: u.EmailPending}
	if st.TwoFactor {
		if st.RecoveryLeft, err = s.store.CountRecoveryCodes(ctx, u.ID); err != nil {
			return nil, fmt.Errorf("counting recovery codes: %w", err)
		}
	}
	if st.Devices, err = s.liveDevices(ctx, u.ID); err != nil {
		return nil, err
	}
	if st.Events, err = s.store.Events(ctx, u.ID, 50); err != nil {
		return nil, fmt.Errorf("listing activity: %w", err)
	}
	return st, nil
}
