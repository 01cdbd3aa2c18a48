package portal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Forgotten passwords: a single-use link by mail, valid ResetFor, the
// token stored as its SHA-256. The link sets a new password and ends
// every session; an account with 2FA must also give a code or a
// recovery code: the mailbox alone never removes the second factor.

// ResetFor is how long a password-reset link works.
const ResetFor = 30 * time.Minute

// ResetAnswer is what a reset request answers, whether or not the
// account exists, has a confirmed address, or was asked too often.
const ResetAnswer = "If that account has a confirmed e-mail address, a link to set a new password is on its way there. It works once, for 30 minutes. Nothing arrived? Check the spam folder, or ask the portal's support."

var errNoMailReset = Errorf(EINVALID, "This portal sends no e-mail, so it cannot send a password-reset link. Ask an administrator to set a new password for you.")

var errBadReset = Errorf(EINVALID, "This password-reset link is not valid: it was used already, it expired (links work for 30 minutes), or a newer one was sent. Ask for a new one.")

// ForgotPassword sends a reset link to the account's confirmed address.
// Its answer is the same (nil) whether or not the account exists; only
// the per-address limit, which does not depend on the account, refuses
// openly. Each account gets at most MailLimit links, silently.
func (s *Service) ForgotPassword(ctx context.Context, username, ip string) error {
	if !s.cfg.Mail.Enabled {
		return errNoMailReset
	}
	username = NormalizeUsername(username)
	if username == "" {
		return Errorf(EINVALID, "Enter your username.")
	}
	if len(username) > 64 || !utf8.ValidString(username) {
		return nil
	}
	now := s.now()
	if _, err := s.take(ctx, "reset:ip:"+clientKey(ip), now, s.cfg.MailLimit); err != nil {
		return err
	}
	// Counted by name, account or not: the limit behaves the same.
	if _, err := s.take(ctx, "reset:user:"+username, now, s.cfg.MailLimit); ErrorCode(err) == ETOOMANY {
		return nil
	} else if err != nil {
		return err
	}
	u, err := s.store.UserByName(ctx, username)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("finding user: %w", err)
	}
	if u.Email == "" {
		return nil
	}
	return s.atomic(ctx, func(t *Service) error { return t.sendResetLink(ctx, u, ip) })
}

// sendResetLink queues a reset link to u's confirmed address (which the
// caller checked is set), records it and makes it the only one that works.
func (s *Service) sendResetLink(ctx context.Context, u *User, ip string) error {
	now := s.now()
	token, err := randomToken(s.rand, 32)
	if err != nil {
		return err
	}
	// Only the newest link works.
	if err := s.store.DeleteMailTokens(ctx, u.ID, TokenResetPassword, now); err != nil {
		return err
	}
	if err := s.store.AddMailToken(ctx, &MailToken{Hash: HashToken(token), UserID: u.ID, Purpose: TokenResetPassword,
		Address: u.Email, CreatedAt: now, ExpiresAt: now.Add(ResetFor)}); err != nil {
		return fmt.Errorf("storing reset token: %w", err)
	}
	if err := s.event(ctx, u.ID, EventResetRequested, ip); err != nil {
		return err
	}
	return s.queue(ctx, u.Email, resetNotice(u, s.link("/password/reset", token), ip))
}

// ResetTarget says what a reset link's form must ask: whether the
// account has 2FA. errBadReset for a used, expired or unknown link.
func (s *Service) ResetTarget(ctx context.Context, token string) (twoFactor bool, err error) {
	u, err := s.resetUser(ctx, token)
	if err != nil {
		return false, err
	}
	return u.TwoFactor(), nil
}

func (s *Service) resetUser(ctx context.Context, token string) (*User, error) {
	if !s.cfg.Mail.Enabled {
		return nil, errNoMailReset
	}
	if token == "" || len(token) > 128 {
		return nil, errBadReset
	}
	tok, err := s.store.MailToken(ctx, HashToken(token), TokenResetPassword, s.now())
	if errors.Is(err, ErrNotFound) {
		return nil, errBadReset
	} else if err != nil {
		return nil, fmt.Errorf("reading reset token: %w", err)
	}
	u, err := s.store.UserByID(ctx, tok.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errBadReset
	} else if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	return u, nil
}

// ResetPassword follows a reset link: the new password must meet the
// rule; with 2FA on, a code or a recovery code is checked first, within
// the code limit (a wrong one keeps the link for another try). Then, in
// one transaction, the link is used up, the password replaced, every
// session ended, remembered devices forgotten, the password lockout of
// the account lifted and the owner told.
func (s *Service) ResetPassword(ctx context.Context, token, password, confirm, code, recovery, ip string) error {
	u, err := s.resetUser(ctx, token)
	if err != nil {
		return err
	}
	if password != confirm {
		return Errorf(EINVALID, "The two new passwords do not match.")
	}
	if err := s.checkNewPassword(password, u.Username, u.DisplayName); err != nil {
		return err
	}
	code, recovery = strings.TrimSpace(code), strings.TrimSpace(recovery)
	if u.TwoFactor() && code == "" && recovery == "" {
		return Errorf(EINVALID, "Your account has two-factor authentication: enter a code from your app or a recovery code.")
	}
	hash, err := s.hashPassword(ctx, NormalizePassword(password))
	if err != nil {
		return err
	}
	return s.atomic(ctx, func(t *Service) error {
		if u.TwoFactor() {
			var err error
			if code != "" {
				err = t.checkCode(ctx, u, code, ip)
			} else {
				err = t.checkRecovery(ctx, u, recovery, ip)
			}
			if err != nil {
				return err
			}
		}
		if _, err := t.store.TakeMailToken(ctx, HashToken(token), TokenResetPassword, t.now()); errors.Is(err, ErrNotFound) {
			return errBadReset // used meanwhile by another request
		} else if err != nil {
			return fmt.Errorf("taking reset token: %w", err)
		}
		if err := t.store.SetPassword(ctx, u.ID, hash); err != nil {
			return fmt.Errorf("storing password: %w", err)
		}
		if _, err := t.store.DeleteUserSessions(ctx, u.ID, nil); err != nil {
			return fmt.Errorf("ending sessions: %w", err)
		}
		if _, err := t.forgetDevices(ctx, u.ID, ip); err != nil {
			return err
		}
		if err := t.store.ResetAttempts(ctx, "pw:user:"+u.Username); err != nil {
			return fmt.Errorf("resetting attempts: %w", err)
		}
		return t.event(ctx, u.ID, EventPasswordReset, ip)
	})
}

func resetNotice(u *User, link, ip string) notice {
	who := "Someone, from the IP address " + ip + ", asked to set a new password for the account " + u.Username + "."
	if admin, ok := SupportAdmin(ip); ok {
		who = "The portal's support (admin " + admin + ") sent you a link to set a new password for the account " + u.Username + "."
	}
	return notice{Subject: "Set a new password", Name: u.DisplayName,
		Lines: []string{
			who,
			fmt.Sprintf("The link works once, for %d minutes. Setting a new password signs out every session.", int(ResetFor.Minutes())),
		},
		Link: link, LinkLabel: "Set a new password",
		NotYou: "If you did not ask for this, ignore this message: your password stays as it is. If it happens again, tell the portal's support."}
}
