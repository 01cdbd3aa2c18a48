package portal

import (
	"context"
	"errors"
	"fmt"
)

// ListUsers returns every user.
func (s *Service) ListUsers(ctx context.Context) ([]*User, error) { return s.store.ListUsers(ctx) }

func (s *Service) userByName(ctx context.Context, name string) (*User, error) {
	u, err := s.store.UserByName(ctx, NormalizeUsername(name))
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENOTFOUND, "No user %q.", NormalizeUsername(name))
	} else if err != nil {
		return nil, fmt.Errorf("finding user: %w", err)
	}
	return u, nil
}

// DeleteUser removes an account and all its data.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	u, err := s.userByName(ctx, name)
	if err != nil {
		return err
	}
	// The user's counters go with the user: a new account of the same
	// name, or a reused id, starts with none.
	return s.atomic(ctx, func(t *Service) error {
		if err := t.store.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		for _, key := range []string{codeKey(u.ID), "pw:user:" + u.Username, signedInKey(u.ID)} {
			if err := t.store.ResetAttempts(ctx, key); err != nil {
				return fmt.Errorf("deleting attempts: %w", err)
			}
		}
		if err := t.store.DeleteAttemptsWithPrefix(ctx, deviceKeyPrefix(u.ID)); err != nil {
			return fmt.Errorf("deleting attempts: %w", err)
		}
		return nil
	})
}

// ResetTwoFactor turns two-factor authentication off for a user who lost
// the authenticator, ends the user's sessions and clears the code limit.
func (s *Service) ResetTwoFactor(ctx context.Context, name string) error {
	u, err := s.userByName(ctx, name)
	if err != nil {
		return err
	}
	return s.resetTwoFactor(ctx, u, "admin")
}
