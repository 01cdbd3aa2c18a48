package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"twofold.dev/server/portal"
)

var _ portal.BulkLoader = (*DB)(nil)

// ReserveUserIDs takes n values from the users table's identity sequence:
// the database never hands them out again.
func (d *DB) ReserveUserIDs(ctx context.Context, n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := d.q.Query(ctx, `SELECT nextval(pg_get_serial_sequence('users', 'id')) FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, wrap("reserving user ids", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, wrap("reserving user ids", err)
}

// LoadBulk writes the accounts and counters in one transaction with COPY,
// with the same columns and values as CreateUser, EnableTOTP,
// CreateSession, AddEvent and TakeAttempt. COPY writes the reserved user
// ids into the identity column as given (it does not apply GENERATED
// ALWAYS, unlike INSERT).
func (d *DB) LoadBulk(ctx context.Context, accounts []portal.BulkAccount, attempts []portal.BulkAttempt) error {
	var users, codes, sessions, events [][]any
	for i := range accounts {
		a := &accounts[i]
		u := &a.User
		users = append(users, []any{u.ID, u.Username, u.DisplayName, u.PasswordHash, u.TOTPSecret, u.TOTPPending, int64(u.TOTPLastStep), u.CreatedAt,
			nullTime(u.GraceFrom), nullString(u.Email), nullString(u.EmailPending)})
		for _, h := range a.Recovery {
			codes = append(codes, []any{u.ID, h})
		}
		for _, s := range a.Sessions {
			sessions = append(sessions, []any{s.ID, u.ID, int16(s.Stage), s.CreatedAt, s.LastSeenAt, s.AuthAt, s.IP, s.UserAgent, s.SetupSkipped, nullTime(s.CodeAt)})
		}
		for _, e := range a.Events {
			events = append(events, []any{u.ID, string(e.Kind), e.IP, e.At})
		}
	}
	counters := make([][]any, len(attempts))
	for i, a := range attempts {
		locked := a.LockedUntil
		if locked.IsZero() {
			locked = time.Unix(0, 0) // no lock, as storedLock writes it
		}
		counters[i] = []any{a.Key, int32(a.Failures), locked, a.LastAt}
	}
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"users", []string{"id", "username", "display_name", "password_hash", "totp_secret", "totp_pending", "totp_last_step", "created_at", "grace_from", "email", "email_pending"}, users},
		{"recovery_codes", []string{"user_id", "code_hash"}, codes},
		{"sessions", []string{"id", "user_id", "stage", "created_at", "last_seen_at", "auth_at", "ip", "user_agent", "setup_skipped", "code_at"}, sessions},
		{"activity", []string{"user_id", "kind", "ip", "at"}, events},
		{"attempts", []string{"key", "failures", "locked_until", "last_at"}, counters},
	}
	return d.Atomic(ctx, func(s portal.Store) error {
		tx := s.(*DB).tx
		for _, c := range copies {
			if len(c.rows) == 0 {
				continue
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return wrap("loading "+c.table, err)
			}
		}
		return nil
	})
}
