package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

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

// bulkRows is how many rows one INSERT of a bulk load writes: a
// statement per row costs more in the driver than in SQLite.
const bulkRows = 64

// inserter writes rows of one table bulkRows at a time, in a transaction.
type inserter struct {
	tx    *sql.Tx
	table string
	cols  int
	head  string // INSERT INTO table (cols) VALUES
	full  *sql.Stmt
	args  []any
}

func newInserter(ctx context.Context, tx *sql.Tx, table, cols string) (*inserter, error) {
	in := &inserter{tx: tx, table: table, cols: strings.Count(cols, ",") + 1, head: "INSERT INTO " + table + " (" + cols + ") VALUES "}
	st, err := tx.PrepareContext(ctx, in.query(bulkRows))
	if err != nil {
		return nil, wrap("loading "+table, err)
	}
	in.full = st
	return in, nil
}

func (in *inserter) query(rows int) string {
	row := "(?" + strings.Repeat(", ?", in.cols-1) + ")"
	return in.head + row + strings.Repeat(", "+row, rows-1)
}

// add queues one row and writes the queue when it is full. Background:
// with a cancellable context the driver watches it from a goroutine per
// statement; LoadBulk checks ctx between accounts instead.
func (in *inserter) add(args ...any) error {
	in.args = append(in.args, args...)
	if len(in.args) < bulkRows*in.cols {
		return nil
	}
	_, err := in.full.ExecContext(context.Background(), in.args...)
	in.args = in.args[:0]
	return wrap("loading "+in.table, err)
}

// flush writes the rows still queued and closes the statement.
func (in *inserter) flush() error {
	defer in.full.Close()
	if len(in.args) == 0 {
		return nil
	}
	_, err := in.tx.ExecContext(context.Background(), in.query(len(in.args)/in.cols), in.args...)
	in.args = in.args[:0]
	return wrap("loading "+in.table, err)
}

// LoadBulk writes the accounts and counters in one transaction, with the
// same columns and encodings as CreateUser, EnableTOTP, CreateSession,
// AddEvent and TakeAttempt.
func (d *DB) LoadBulk(ctx context.Context, accounts []portal.BulkAccount, attempts []portal.BulkAttempt) error {
	return d.inTx(ctx, "loading accounts", func(t *DB) error {
		// Rows are queued per table, so an account's events may be
		// written before its user row: foreign keys are checked at the
		// commit instead (SQLite turns this off again at the commit).
		if _, err := t.tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			return wrap("loading accounts", err)
		}
		var ins []*inserter
		defer func() {
			for _, in := range ins {
				in.full.Close()
			}
		}()
		for _, tc := range [][2]string{
			{"users", "id, username, display_name, password_hash, totp_secret, totp_pending, totp_last_step, created_at, grace_from, email, email_pending"},
			{"recovery_codes", "user_id, code_hash"},
			{"sessions", "id, user_id, stage, created_at, last_seen_at, auth_at, ip, user_agent, setup_skipped, code_at"},
			{"activity", "user_id, kind, ip, at"},
			{"attempts", "key, failures, locked_until, last_at"},
		} {
			in, err := newInserter(ctx, t.tx, tc[0], tc[1])
			if err != nil {
				return err
			}
			ins = append(ins, in)
		}
		users, codes, sessions, events, counters := ins[0], ins[1], ins[2], ins[3], ins[4]
		for i := range accounts {
			if err := ctx.Err(); err != nil {
				return err
			}
			a := &accounts[i]
			u := &a.User
			if err := users.add(u.ID, u.Username, u.DisplayName, u.PasswordHash, u.TOTPSecret, u.TOTPPending, int64(u.TOTPLastStep), unix(u.CreatedAt),
				nullTime(u.GraceFrom), nullString(u.Email), nullString(u.EmailPending)); err != nil {
				return fmt.Errorf("user %q: %w", u.Username, err)
			}
			for _, h := range a.Recovery {
				if err := codes.add(u.ID, h); err != nil {
					return err
				}
			}
			for _, s := range a.Sessions {
				if err := sessions.add(s.ID, u.ID, int(s.Stage), unix(s.CreatedAt), unix(s.LastSeenAt), unix(s.AuthAt), s.IP, s.UserAgent, s.SetupSkipped, nullTime(s.CodeAt)); err != nil {
					return err
				}
			}
			for _, e := range a.Events {
				if err := events.add(u.ID, string(e.Kind), e.IP, unix(e.At)); err != nil {
					return err
				}
			}
		}
		for _, a := range attempts {
			var locked int64 // no lock, as storedLock writes it
			if !a.LockedUntil.IsZero() {
				locked = unix(a.LockedUntil)
			}
			if err := counters.add(a.Key, a.Failures, locked, unix(a.LastAt)); err != nil {
				return err
			}
		}
		for _, in := range ins {
			if err := in.flush(); err != nil {
				return err
			}
		}
		return nil
	})
}
