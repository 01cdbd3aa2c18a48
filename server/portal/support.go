package portal

import (
	"context"
	"errors"
	"fmt"
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
	return s.atomic(ctx, func(t *Service) error {
		if err := t.store.SetDisabled(ctx, u.ID, disabled); err != nil {
			return fmt.Errorf("disabling account: %w", err)
		}
		if !disabled {
			return t.event(ctx, u.ID, EventAccountEnabled, by)
		}
		if _, err := t.store.DeleteUserSessions(ctx, u.ID, nil); err != nil {
			return fmt.Errorf("ending sessions: %w", err)
		}
		if err := t.event(ctx, u.ID, EventAccountDisabled, by); err != nil {
			return err
		}
		_, err := t.forgetDevices(ctx, u.ID, by)
		return err
	})
}
