package portal

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// HashToken returns the session id stored for a cookie token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// BeginSession starts a session for u, who has just given a password (at
// sign-in or sign-up), and returns its cookie token. The session starts
// half signed in when u has a second factor to give, fully otherwise:
// also when the browser sent the token of a live remembered device of u
// (remembered, "" for none), whose use is recorded. The browser's old
// session, if any, ends first: a sign-in never keeps a session id the
// browser had before (session fixation).
func (s *Service) BeginSession(ctx context.Context, old *Session, u *User, ip, userAgent, remembered string) (string, *Session, error) {
	var token string
	var ns *Session
	err := s.atomic(ctx, func(t *Service) error {
		if old != nil {
			if err := t.Logout(ctx, old, ip); err != nil {
				return err
			}
		}
		now := t.now()
		stage := StageFull
		if u.TwoFactor() {
			stage = StagePassword
			d, err := t.rememberedDevice(ctx, u, remembered)
			if err != nil {
				return err
			}
			if d != nil {
				if err := t.store.TouchRememberedDevice(ctx, d.ID, now, ip); err != nil {
					return fmt.Errorf("recording use of remembered device: %w", err)
				}
				if err := t.event(ctx, u.ID, EventRememberedSignIn, ip); err != nil {
					return err
				}
				stage = StageFull
			}
		}
		var err error
		token, ns, err = t.newSession(ctx, &Session{UserID: u.ID, Stage: stage, CreatedAt: now, AuthAt: now, IP: ip, UserAgent: userAgent})
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return token, ns, nil
}

func (s *Service) newSession(ctx context.Context, sess *Session) (string, *Session, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", nil, fmt.Errorf("reading random bytes: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	sess.ID = HashToken(token)
	sess.LastSeenAt = s.now()
	if len(sess.UserAgent) > 256 {
		sess.UserAgent = strings.ToValidUTF8(sess.UserAgent[:256], "")
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", nil, fmt.Errorf("creating session: %w", err)
	}
	return token, sess, nil
}

// rotate replaces a session by a new one with a new token (at each step
// of sign-in and after a factor change).
func (s *Service) rotate(ctx context.Context, old *Session, stage Stage, authAt time.Time) (string, *Session, error) {
	token, ns, err := s.newSession(ctx, &Session{UserID: old.UserID, Stage: stage, CreatedAt: old.CreatedAt,
		AuthAt: authAt, IP: old.IP, UserAgent: old.UserAgent, SetupSkipped: old.SetupSkipped})
	if err != nil {
		return "", nil, err
	}
	if err := s.store.DeleteSession(ctx, old.ID); err != nil {
		return "", nil, fmt.Errorf("deleting old session: %w", err)
	}
	return token, ns, nil
}

var errNoSession = Errorf(EUNAUTHORIZED, "Please sign in.")

// Authenticate returns the live session of a cookie token and its user,
// ending it if it is idle or too old.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, *User, error) {
	if token == "" || len(token) > 128 {
		return nil, nil, errNoSession
	}
	// One read for both: this runs on every request with a cookie.
	sess, u, err := s.store.SessionUser(ctx, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errNoSession
	} else if err != nil {
		return nil, nil, fmt.Errorf("finding session: %w", err)
	}
	now := s.now()
	absolute := s.cfg.AbsoluteTimeout
	if sess.Stage != StageFull {
		absolute = s.cfg.PendingTimeout
	}
	if now.Sub(sess.LastSeenAt) > s.cfg.IdleTimeout || now.Sub(sess.CreatedAt) > absolute {
		if err := s.store.DeleteSession(ctx, sess.ID); err != nil {
			return nil, nil, fmt.Errorf("ending expired session: %w", err)
		}
		return nil, nil, Errorf(EUNAUTHORIZED, "Your session has expired. Please sign in again.")
	}
	if u.Disabled {
		// Disabling ends the sessions; one begun in the meantime ends here.
		if err := s.store.DeleteSession(ctx, sess.ID); err != nil {
			return nil, nil, fmt.Errorf("ending session of a disabled account: %w", err)
		}
		return nil, nil, errNoSession
	}
	if s.needsTouch(sess, now) {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, nil, fmt.Errorf("touching session: %w", err)
		}
		sess.LastSeenAt = now
	}
	if err := s.delivered(ctx, sess, u); err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// touchEvery is how stale the stored last-seen time may get: a session
// used again sooner is not written (its idle timeout is this much early
// at most).
const touchEvery = 5 * time.Second

// needsTouch reports whether the last-seen time of sess must be stored.
// A session that has only passed the password ends at PendingTimeout
// after its creation, before it could be idle for IdleTimeout, so its
// last-seen time is never read.
func (s *Service) needsTouch(sess *Session, now time.Time) bool {
	if sess.Stage != StageFull && s.cfg.PendingTimeout <= s.cfg.IdleTimeout {
		return false
	}
	return now.Sub(sess.LastSeenAt) >= touchEvery
}

// Logout ends the session.
func (s *Service) Logout(ctx context.Context, sess *Session, ip string) error {
	if err := s.store.DeleteSession(ctx, sess.ID); err != nil {
		return fmt.Errorf("ending session: %w", err)
	}
	if sess.Stage == StageFull {
		if err := s.event(ctx, sess.UserID, EventSignOut, ip); err != nil {
			return err
		}
	}
	return nil
}

// LogoutOthers ends every other session of the user. It needs a recent
// password, like the other security changes: a stolen session must not
// sign its owner out.
func (s *Service) LogoutOthers(ctx context.Context, sess *Session, ip string) (int, error) {
	if err := s.sudo(sess); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteUserSessions(ctx, sess.UserID, sess.ID)
	if err != nil {
		return 0, fmt.Errorf("ending other sessions: %w", err)
	}
	if err := s.event(ctx, sess.UserID, EventOtherSessionsEnded, ip); err != nil {
		return 0, err
	}
	return n, nil
}

// InSudo reports whether the password was entered recently enough in
// this session to change a factor.
func (s *Service) InSudo(sess *Session) bool {
	return s.now().Sub(sess.AuthAt) <= s.cfg.SudoWindow
}

func (s *Service) sudo(sess *Session) error {
	if sess.Stage != StageFull {
		return errNoSession
	}
	if !s.InSudo(sess) {
		return Errorf(EREAUTH, "Please enter your password again to continue.")
	}
	return nil
}

// ConfirmPassword re-checks the password in a signed-in session, starting
// sudo mode; the session is replaced.
func (s *Service) ConfirmPassword(ctx context.Context, sess *Session, password, ip string) (string, *Session, error) {
	if sess.Stage != StageFull {
		return "", nil, errNoSession
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return "", nil, fmt.Errorf("finding user: %w", err)
	}
	if password == "" {
		return "", nil, Errorf(EINVALID, "Enter your password.")
	}
	if len(password) > 4*MaxPasswordLen {
		return "", nil, Errorf(EUNAUTHORIZED, "Wrong password.")
	}
	if err := s.checkSignedIn(ctx, u, password, ip); err != nil {
		if ErrorCode(err) == EUNAUTHORIZED {
			return "", nil, Errorf(EUNAUTHORIZED, "Wrong password.")
		}
		return "", nil, err
	}
	if err := s.event(ctx, u.ID, EventPasswordConfirmed, ip); err != nil {
		return "", nil, err
	}
	return s.rotate(ctx, sess, StageFull, s.now())
}

// DeleteExpiredSessions removes sessions past their idle or absolute
// timeout (they are refused anyway; this keeps the table small), the
// expired remembered devices and the counters that no longer count.
func (s *Service) DeleteExpiredSessions(ctx context.Context) error {
	_, err := s.prune(ctx, PruneSessionsIdle, PruneSessionsAbsolute, PruneRememberedDevices, PruneAttempts)
	return err
}

// PruneAttempts deletes the attempt counters that no longer count: last
// attempt older than the longest window, and not locked. The table holds
// at most the counters of one window's worth of attempts.
func (s *Service) PruneAttempts(ctx context.Context) (int, error) {
	n, err := s.prune(ctx, PruneAttempts)
	return n[PruneAttempts], err
}
