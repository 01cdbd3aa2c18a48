package sqlite

import (
	"context"
	"fmt"

	"twofold.dev/server/portal"
)

var _ portal.BulkLoader = (*DB)(nil)

// ReserveUserIDs moves the users table's AUTOINCREMENT counter past n new
// ids and returns them: SQLite never hands them out again, even when the
// rows are never written.
func (d *DB) ReserveUserIDs(ctx context.Context, n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	var last int64
	err := d.inTx(ctx, "reserving user ids", func(t *DB) error {
		// The counter's row appears with the first insert: make sure it
		// is there, at the largest id in use.
		if _, err := t.tx.ExecContext(ctx,
			`INSERT INTO sqlite_sequence (name, seq) SELECT 'users', COALESCE((SELECT MAX(id) FROM users), 0)
			 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users')`); err != nil {
			return wrap("reserving user ids", err)
		}
		return wrap("reserving user ids", t.tx.QueryRowContext(ctx,
			`UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'users' RETURNING seq`, n).Scan(&last))
	})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = last - int64(n) + 1 + int64(i)
	}
	return ids, nil
}

// LoadBulk writes the accounts and counters in one transaction, with the
// same columns and encodings as CreateUser, EnableTOTP, CreateSession,
// AddEvent and TakeAttempt. Its statements are prepared once per call,
// not cached: a load is rare.
func (d *DB) LoadBulk(ctx context.Context, accounts []portal.BulkAccount, attempts []portal.BulkAttempt) error {
	return d.inTx(ctx, "loading accounts", func(t *DB) error {
		tx := t.tx
		prep := func(query string) (func(args ...any) error, func(), error) {
			st, err := tx.PrepareContext(ctx, query)
			if err != nil {
				return nil, nil, wrap("loading accounts", err)
			}
			// Background: with a cancellable context the driver watches it
			// from a goroutine per statement, a tenth of the load's time;
			// the loop below checks ctx between accounts instead.
			return func(args ...any) error { _, err := st.ExecContext(context.Background(), args...); return err }, func() { st.Close() }, nil
		}
		user, c1, err := prep(`INSERT INTO users (id, username, display_name, password_hash, totp_secret, totp_pending, totp_last_step, created_at, grace_from, email, email_pending)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer c1()
		code, c2, err := prep(`INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer c2()
		session, c3, err := prep(`INSERT INTO sessions (id, user_id, stage, created_at, last_seen_at, auth_at, ip, user_agent, setup_skipped, code_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer c3()
		event, c4, err := prep(`INSERT INTO activity (user_id, kind, ip, at) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer c4()
		attempt, c5, err := prep(`INSERT INTO attempts (key, failures, locked_until, last_at) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer c5()
		for i := range accounts {
			if err := ctx.Err(); err != nil {
				return err
			}
			a := &accounts[i]
			u := &a.User
			if err := user(u.ID, u.Username, u.DisplayName, u.PasswordHash, u.TOTPSecret, u.TOTPPending, int64(u.TOTPLastStep), unix(u.CreatedAt),
				nullTime(u.GraceFrom), nullString(u.Email), nullString(u.EmailPending)); err != nil {
				return wrap(fmt.Sprintf("loading user %q", u.Username), err)
			}
			for _, h := range a.Recovery {
				if err := code(u.ID, h); err != nil {
					return wrap("loading recovery code", err)
				}
			}
			for _, s := range a.Sessions {
				if err := session(s.ID, u.ID, int(s.Stage), unix(s.CreatedAt), unix(s.LastSeenAt), unix(s.AuthAt), s.IP, s.UserAgent, s.SetupSkipped, nullTime(s.CodeAt)); err != nil {
					return wrap("loading session", err)
				}
			}
			for _, e := range a.Events {
				if err := event(u.ID, string(e.Kind), e.IP, unix(e.At)); err != nil {
					return wrap("loading event", err)
				}
			}
		}
		for _, a := range attempts {
			var locked int64
			if !a.LockedUntil.IsZero() {
				locked = unix(a.LockedUntil)
			}
			if err := attempt(a.Key, a.Failures, locked, unix(a.LastAt)); err != nil {
				return wrap("loading attempt counter", err)
			}
		}
		return nil
	})
}
