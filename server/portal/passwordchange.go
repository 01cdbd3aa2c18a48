package portal

import (
	"context"
	"fmt"
)

// ChangePassword replaces the password of the signed-in user: the current
// password is checked (within the sign-in limits), the new one must meet
// the password rule. In one transaction it stores the new hash, ends every
// other session of the account, records the change and replaces this
// session, which stays signed in.
func (s *Service) ChangePassword(ctx context.Context, sess *Session, current, next, confirm, ip string) (string, *Session, error) {
	u, err := s.fullUser(ctx, sess)
	if err != nil {
		return "", nil, err
	}
	if current == "" {
		return "", nil, Errorf(EINVALID, "Enter your current password.")
	}
	if next != confirm {
		return "", nil, Errorf(EINVALID, "The two new passwords do not match.")
	}
	if err := s.checkNewPassword(next, u.Username, u.DisplayName); err != nil {
		return "", nil, err
	}
	if len(current) > 4*MaxPasswordLen {
		return "", nil, Errorf(EUNAUTHORIZED, "Your current password is not right.")
	}
	if err := s.checkSignedIn(ctx, u, current, ip); err != nil {
		if ErrorCode(err) == EUNAUTHORIZED {
			return "", nil, Errorf(EUNAUTHORIZED, "Your current password is not right.")
		}
		return "", nil, err
	}
	hash, err := s.hashPassword(ctx, NormalizePassword(next))
	if err != nil {
		return "", nil, err
	}
	var token string
	var ns *Session
	err = s.atomic(ctx, func(t *Service) error {
		if err := t.store.SetPassword(ctx, u.ID, hash); err != nil {
			return fmt.Errorf("storing password: %w", err)
		}
		if _, err := t.store.DeleteUserSessions(ctx, u.ID, sess.ID); err != nil {
			return fmt.Errorf("ending other sessions: %w", err)
		}
		if err := t.event(ctx, u.ID, EventPasswordChanged, ip); err != nil {
			return err
		}
		if _, err := t.forgetDevices(ctx, u.ID, ip); err != nil {
			return err
		}
		var err error
		token, ns, err = t.rotate(ctx, sess, StageFull, t.now())
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return token, ns, nil
}

// SetPassword is the administrator's reset: the new password must meet
// the rule, and every session of the user ends.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	u, err := s.userByName(ctx, name)
	if err != nil {
		return err
	}
	if err := s.checkNewPassword(password, u.Username, u.DisplayName); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, NormalizePassword(password))
	if err != nil {
		return err
	}
	return s.atomic(ctx, func(t *Service) error {
		if err := t.store.SetPassword(ctx, u.ID, hash); err != nil {
			return fmt.Errorf("storing password: %w", err)
		}
		if _, err := t.store.DeleteUserSessions(ctx, u.ID, nil); err != nil {
			return fmt.Errorf("ending sessions: %w", err)
		}
		if err := t.event(ctx, u.ID, EventPasswordChanged, "admin"); err != nil {
			return err
		}
		_, err := t.forgetDevices(ctx, u.ID, "admin")
		return err
	})
}
