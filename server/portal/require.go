package portal

import (
	"context"
	"fmt"
	"time"
)

// Requiring two-factor authentication (Config.Require2FA): a signed-in
// customer without it is walked into the set-up and reaches nothing else
// until it is done; during a grace period (Config.Require2FAGrace,
// counted per account from its first sign-in after the setting, or its
// creation) each session may skip it.

// SetupRequirement says that the session's user must set up 2FA now.
type SetupRequirement struct {
	GraceUntil time.Time // end of the grace period; zero when there is none
	CanSkip    bool      // still inside the grace period
	DaysLeft   int       // whole days left to skip, rounded up
}

// Err is the refusal of a route other than the set-up's.
func (r *SetupRequirement) Err() error {
	msg := "This portal requires two-factor authentication: set it up to continue (JSON API: POST /api/v1/2fa/totp, then POST /api/v1/2fa/totp/verify)."
	if r.CanSkip {
		msg += fmt.Sprintf(" You may skip it for %s (POST /api/v1/2fa/skip).", days(r.DaysLeft))
	}
	return &Error{Code: ESETUP, Message: msg}
}

func days(n int) string {
	if n == 1 {
		return "1 more day"
	}
	return fmt.Sprintf("%d more days", n)
}

// SetupRequired returns what the signed-in user u of sess must do before
// anything else, nil when nothing: 2FA not required, already on, or the
// set-up skipped in this session during the grace period. The first time
// it sees u without 2FA under the setting, it starts u's grace period.
func (s *Service) SetupRequired(ctx context.Context, sess *Session, u *User) (*SetupRequirement, error) {
	if sess == nil || sess.Stage != StageFull || u == nil || u.TwoFactor() || !(s.cfg.Require2FA || u.Admin) {
		return nil, nil
	}
	if u.Admin {
		// Staff always need 2FA, with no grace period: an admin without
		// it (never normally: the role is granted with 2FA on, which
		// then cannot be turned off) reaches nothing else.
		return &SetupRequirement{}, nil
	}
	now := s.now()
	from := u.GraceFrom
	if from.IsZero() {
		var err error
		if from, err = s.store.StartGrace(ctx, u.ID, now); err != nil {
			return nil, fmt.Errorf("starting grace period: %w", err)
		}
	}
	r := &SetupRequirement{}
	if s.cfg.Require2FAGrace > 0 {
		r.GraceUntil = from.Add(s.cfg.Require2FAGrace)
		if left := r.GraceUntil.Sub(now); left > 0 {
			r.CanSkip = true
			r.DaysLeft = int((left + 24*time.Hour - 1) / (24 * time.Hour))
		}
	}
	if r.CanSkip && sess.SetupSkipped {
		return nil, nil
	}
	return r, nil
}

// SkipSetup postpones the required set-up for this session, during the
// grace period only.
func (s *Service) SkipSetup(ctx context.Context, sess *Session, ip string) error {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return err
	}
	r, err := s.SetupRequired(ctx, sess, u)
	if err != nil || r == nil {
		return err
	}
	if !r.CanSkip {
		return Errorf(EFORBIDDEN, "The time to set up two-factor authentication is over: set it up to continue.")
	}
	if err := s.store.SkipSetup(ctx, sess.ID); err != nil {
		return fmt.Errorf("skipping set-up: %w", err)
	}
	sess.SetupSkipped = true
	return s.event(ctx, u.ID, EventSetupSkipped, ip)
}
