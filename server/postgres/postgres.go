// Package postgres implements portal.Store on PostgreSQL through pgx, for
// portals that run several instances on one database. Every decision that
// must hold across instances (a time step used once, a recovery code used
// once, an enrollment completed once, an attempt counted once) is one
// atomic statement or one transaction holding a row lock, so the database
// is the only truth.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"twofold.dev/server/portal"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultMaxConns is the pool size when the URL does not set
// pool_max_conns.
const DefaultMaxConns = 16

// migrationLock is the pg_advisory_xact_lock key that serialises
// migrations of instances starting at the same time ("twofold" in ASCII).
const migrationLock int64 = 0x74776f666f6c64

// DB is a portal.Store on a PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool
	q    querier // the pool, or the transaction inside Atomic
	tx   pgx.Tx  // non-nil inside Atomic
}

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Atomic runs fn in one transaction, committed when fn returns nil.
// Inside fn, Atomic runs fn in the same transaction.
func (d *DB) Atomic(ctx context.Context, fn func(portal.Store) error) error {
	if d.tx != nil {
		return fn(d)
	}
	var fnErr error
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		fnErr = fn(&DB{pool: d.pool, q: tx, tx: tx})
		return fnErr
	})
	if err != nil && fnErr == nil { // BEGIN or COMMIT failed
		return wrap("transaction", err)
	}
	return err
}

var _ portal.Store = (*DB)(nil)

// ErrNoPortal is OpenExisting's answer for a database without the
// portal's tables (a mistyped database name in the URL).
var ErrNoPortal = errors.New("the database holds no portal tables")

// Open connects to the database at rawURL (postgres://...) and applies the
// migrations not applied yet, each in its own transaction.
func Open(ctx context.Context, rawURL string) (*DB, error) { return open(ctx, rawURL, true, nil) }

// OpenExisting is Open for a database the portal has already set up: on
// one without the portal's tables it creates nothing and returns
// ErrNoPortal. Admin commands open the database this way.
func OpenExisting(ctx context.Context, rawURL string) (*DB, error) {
	return open(ctx, rawURL, false, nil)
}

// open connects; a non-nil tracer sees every statement (the tests'
// EXPLAIN of the statements the store runs).
func open(ctx context.Context, rawURL string, create bool, tracer pgx.QueryTracer) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, errors.New("parsing database URL: not a valid postgres:// URL")
	}
	if !strings.Contains(rawURL, "pool_max_conns") { // URL or key=value form
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	// Dead connections (after a database restart) are found by a ping
	// before use and dropped, so the pool recovers by itself.
	cfg.HealthCheckPeriod = 5 * time.Second
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	d := &DB{pool: pool, q: pool}
	if !create {
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
			pool.Close()
			return nil, wrap("opening database", err)
		}
		if !exists {
			pool.Close()
			return nil, ErrNoPortal
		}
	}
	if err := d.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return d, nil
}

// Conns says how many connections the pool holds now, and at most.
func (d *DB) Conns() (open, limit int) {
	st := d.pool.Stat()
	return int(st.TotalConns()), int(st.MaxConns())
}

// Close closes every connection.
func (d *DB) Close() error {
	d.pool.Close()
	return nil
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.pool.Ping(ctx); err != nil {
		return wrap("pinging database", err)
	}
	return nil
}

func (d *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("listing migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := d.migrateFile(ctx, name); err != nil {
			return wrap("migration "+name, err)
		}
	}
	return nil
}

// migrateFile applies one migration unless it is recorded. The advisory
// lock is taken first, so two instances starting at once apply it once.
func (d *DB) migrateFile(ctx context.Context, name string) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)`); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&done); err != nil || done {
			return err
		}
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return err
		}
		// The simple protocol runs a file of several statements.
		if _, err := tx.Exec(ctx, string(body), pgx.QueryExecModeSimpleProtocol); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, now())`, name)
		return err
	})
}

// Users.

const userColumns = `id, username, display_name, password_hash, totp_secret, totp_pending, totp_last_step, created_at, recovery_unseen, grace_from, email, email_pending, is_admin, disabled`

// userRow holds the scan targets of userColumns.
type userRow struct {
	u              portal.User
	step           int64
	grace          *time.Time
	email, pending *string
}

func (r *userRow) dest() []any {
	u := &r.u
	return []any{&u.ID, &u.Username, &u.DisplayName, &u.PasswordHash, &u.TOTPSecret, &u.TOTPPending, &r.step, &u.CreatedAt, &u.RecoveryUnseen, &r.grace, &r.email, &r.pending, &u.Admin, &u.Disabled}
}

func (r *userRow) user() *portal.User {
	u := r.u
	if r.email != nil {
		u.Email = *r.email
	}
	if r.pending != nil {
		u.EmailPending = *r.pending
	}
	u.TOTPLastStep = uint64(r.step)
	if r.grace != nil {
		u.GraceFrom = *r.grace
	}
	return &u
}

func scanUser(row pgx.Row) (*portal.User, error) {
	var r userRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.user(), nil
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (d *DB) CreateUser(ctx context.Context, u *portal.User) error {
	err := d.q.QueryRow(ctx,
		`INSERT INTO users (username, display_name, password_hash, totp_secret, totp_pending, totp_last_step, created_at, grace_from, email, email_pending)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		u.Username, u.DisplayName, u.PasswordHash, u.TOTPSecret, u.TOTPPending, int64(u.TOTPLastStep), u.CreatedAt, nullTime(u.GraceFrom),
		nullString(u.Email), nullString(u.EmailPending)).Scan(&u.ID)
	if isUnique(err) {
		return fmt.Errorf("creating user %q: %w", u.Username, portal.ErrConflict)
	} else if err != nil {
		return wrap("creating user", err)
	}
	return nil
}

func (d *DB) user(ctx context.Context, where string, arg any) (*portal.User, error) {
	u, err := scanUser(d.q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, portal.ErrNotFound
	} else if err != nil {
		return nil, wrap("reading user", err)
	}
	return u, nil
}

func (d *DB) UserByID(ctx context.Context, id int64) (*portal.User, error) {
	return d.user(ctx, "id = $1", id)
}

func (d *DB) UserByName(ctx context.Context, username string) (*portal.User, error) {
	return d.user(ctx, "username = $1", username)
}

func (d *DB) ListUsers(ctx context.Context) ([]*portal.User, error) {
	rows, err := d.q.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, wrap("listing users", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*portal.User, error) { return scanUser(r) })
	if err != nil {
		return nil, wrap("listing users", err)
	}
	return users, nil
}

func (d *DB) DeleteUser(ctx context.Context, id int64) error {
	tag, err := d.q.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return wrap("deleting user", err)
	}
	return oneRow(tag, portal.ErrNotFound)
}

// oneRow turns "not exactly one row changed" into otherwise.
func oneRow(tag pgconn.CommandTag, otherwise error) error {
	if tag.RowsAffected() != 1 {
		return otherwise
	}
	return nil
}

func (d *DB) StartGrace(ctx context.Context, userID int64, at time.Time) (time.Time, error) {
	var from time.Time
	err := d.q.QueryRow(ctx,
		`UPDATE users SET grace_from = coalesce(grace_from, $1) WHERE id = $2 RETURNING grace_from`, at, userID).Scan(&from)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, portal.ErrNotFound
	} else if err != nil {
		return time.Time{}, wrap("starting grace period", err)
	}
	return from, nil
}

// Two-factor.

func (d *DB) SetPassword(ctx context.Context, userID int64, hash string) error {
	tag, err := d.q.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
	if err != nil {
		return wrap("storing password", err)
	}
	return oneRow(tag, portal.ErrNotFound)
}

func (d *DB) SetUnseenRecovery(ctx context.Context, userID int64, sealed []byte) error {
	tag, err := d.q.Exec(ctx, `UPDATE users SET recovery_unseen = $1 WHERE id = $2`, sealed, userID)
	if err != nil {
		return wrap("storing unseen recovery codes", err)
	}
	return oneRow(tag, portal.ErrNotFound)
}

func (d *DB) SetPendingTOTP(ctx context.Context, userID int64, sealed []byte) error {
	tag, err := d.q.Exec(ctx, `UPDATE users SET totp_pending = $1 WHERE id = $2`, sealed, userID)
	if err != nil {
		return wrap("storing pending key", err)
	}
	return oneRow(tag, portal.ErrNotFound)
}

func (d *DB) EnableTOTP(ctx context.Context, userID int64, pending []byte, step uint64, hashes [][]byte) error {
	err := pgx.BeginFunc(ctx, d.q, func(tx pgx.Tx) error {
		// The row lock taken by this UPDATE is held to the commit: a
		// concurrent EnableTOTP waits, then finds totp_pending NULL.
		tag, err := tx.Exec(ctx,
			`UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1
			 WHERE id = $2 AND totp_pending = $3 AND totp_secret IS NULL`, int64(step), userID, pending)
		if err != nil {
			return err
		}
		if err := oneRow(tag, portal.ErrConflict); err != nil {
			return err
		}
		return replaceRecovery(ctx, tx, userID, hashes)
	})
	if errors.Is(err, portal.ErrConflict) {
		return err
	}
	return wrap("enabling two-factor", err)
}

func (d *DB) DisableTOTP(ctx context.Context, userID int64) error {
	err := pgx.BeginFunc(ctx, d.q, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET totp_secret = NULL, totp_pending = NULL WHERE id = $1 AND NOT is_admin`, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			var admin bool
			if err := tx.QueryRow(ctx, `SELECT is_admin FROM users WHERE id = $1`, userID).Scan(&admin); errors.Is(err, pgx.ErrNoRows) {
				return portal.ErrNotFound
			} else if err != nil {
				return err
			}
			return portal.ErrConflict
		}
		_, err = tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID)
		return err
	})
	if errors.Is(err, portal.ErrNotFound) {
		return err
	} else if errors.Is(err, portal.ErrConflict) {
		return fmt.Errorf("disabling two-factor of an admin: %w", err)
	}
	return wrap("disabling two-factor", err)
}

func (d *DB) ConsumeTOTPStep(ctx context.Context, userID int64, step uint64) error {
	// Under READ COMMITTED a concurrent UPDATE of the row waits for the
	// first one to commit and re-checks the condition on the new row: one
	// winner per step, on any number of instances.
	tag, err := d.q.Exec(ctx,
		`UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, int64(step), userID)
	if err != nil {
		return wrap("consuming time step", err)
	}
	return oneRow(tag, portal.ErrReplay)
}

// Recovery codes.

func replaceRecovery(ctx context.Context, tx pgx.Tx, userID int64, hashes [][]byte) error {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("deleting recovery codes: %w", err)
	}
	if len(hashes) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])`, userID, hashes); err != nil {
		return fmt.Errorf("storing recovery codes: %w", err)
	}
	return nil
}

func (d *DB) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	err := pgx.BeginFunc(ctx, d.q, func(tx pgx.Tx) error { return replaceRecovery(ctx, tx, userID, hashes) })
	return wrap("replacing recovery codes", err)
}

func (d *DB) ConsumeRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) error {
	tag, err := d.q.Exec(ctx,
		`UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`, now, userID, hash)
	if err != nil {
		return wrap("consuming recovery code", err)
	}
	if err := oneRow(tag, portal.ErrNotFound); !errors.Is(err, portal.ErrNotFound) {
		return err
	}
	var n int
	if err := d.q.QueryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND code_hash = $2`, userID, hash).Scan(&n); err != nil {
		return wrap("consuming recovery code", err)
	}
	if n > 0 {
		return portal.ErrReplay
	}
	return portal.ErrNotFound
}

func (d *DB) CountRecoveryCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	err := d.q.QueryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, wrap("counting recovery codes", err)
	}
	return n, nil
}

// Sessions.

func (d *DB) CreateSession(ctx context.Context, s *portal.Session) error {
	_, err := d.q.Exec(ctx,
		`INSERT INTO sessions (id, user_id, stage, created_at, last_seen_at, auth_at, ip, user_agent, setup_skipped, code_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.ID, s.UserID, int16(s.Stage), s.CreatedAt, s.LastSeenAt, s.AuthAt, s.IP, s.UserAgent, s.SetupSkipped, nullTime(s.CodeAt))
	if isUnique(err) {
		return fmt.Errorf("creating session: %w", portal.ErrConflict)
	}
	return wrap("creating session", err)
}

const sessionColumns = `id, user_id, stage, created_at, last_seen_at, auth_at, ip, user_agent, setup_skipped, code_at`

// sessionRow holds the scan targets of sessionColumns.
type sessionRow struct {
	s     portal.Session
	stage int16
	code  *time.Time
}

func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.UserID, &r.stage, &s.CreatedAt, &s.LastSeenAt, &s.AuthAt, &s.IP, &s.UserAgent, &s.SetupSkipped, &r.code}
}

func (r *sessionRow) session() *portal.Session {
	s := r.s
	s.Stage = portal.Stage(r.stage)
	if r.code != nil {
		s.CodeAt = *r.code
	}
	return &s
}

func (d *DB) Session(ctx context.Context, id []byte) (*portal.Session, error) {
	var r sessionRow
	err := d.q.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id).Scan(r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, portal.ErrNotFound
	} else if err != nil {
		return nil, wrap("reading session", err)
	}
	return r.session(), nil
}

// sessionUserQuery reads a session and its user in one statement: one
// round trip per request instead of two. Its columns are sessionColumns
// then userColumns, qualified (the store contract compares the result
// with Session and UserByID).
const sessionUserQuery = `SELECT s.id, s.user_id, s.stage, s.created_at, s.last_seen_at, s.auth_at, s.ip, s.user_agent, s.setup_skipped, s.code_at,
	u.id, u.username, u.display_name, u.password_hash, u.totp_secret, u.totp_pending, u.totp_last_step, u.created_at, u.recovery_unseen, u.grace_from, u.email, u.email_pending, u.is_admin, u.disabled
	FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`

func (d *DB) SessionUser(ctx context.Context, id []byte) (*portal.Session, *portal.User, error) {
	var sr sessionRow
	var ur userRow
	err := d.q.QueryRow(ctx, sessionUserQuery, id).Scan(append(sr.dest(), ur.dest()...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, portal.ErrNotFound
	} else if err != nil {
		return nil, nil, wrap("reading session and user", err)
	}
	return sr.session(), ur.user(), nil
}

func (d *DB) TouchSession(ctx context.Context, id []byte, at time.Time) error {
	_, err := d.q.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, at, id)
	return wrap("touching session", err)
}

func (d *DB) SkipSetup(ctx context.Context, id []byte) error {
	_, err := d.q.Exec(ctx, `UPDATE sessions SET setup_skipped = TRUE WHERE id = $1`, id)
	return wrap("skipping set-up", err)
}

func (d *DB) DeleteSession(ctx context.Context, id []byte) error {
	_, err := d.q.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return wrap("deleting session", err)
}

func (d *DB) DeleteUserSessions(ctx context.Context, userID int64, except []byte) (int, error) {
	if except == nil {
		except = []byte{}
	}
	tag, err := d.q.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, except)
	if err != nil {
		return 0, wrap("deleting sessions", err)
	}
	return int(tag.RowsAffected()), nil
}

// Attempts.

func (d *DB) TakeAttempt(ctx context.Context, key string, now time.Time, window time.Duration, delay func(int) time.Duration) (portal.Attempt, error) {
	// A key never counted before (every key of a spray of guesses over
	// many names or addresses) is one statement: its first failure.
	first := delay(1)
	tag, err := d.q.Exec(ctx,
		`INSERT INTO attempts (key, failures, locked_until, last_at) VALUES ($1, 1, $2, $3) ON CONFLICT (key) DO NOTHING`,
		key, storedLock(now, first), now)
	if err != nil {
		return portal.Attempt{Key: key}, wrap("counting attempt", err)
	}
	if tag.RowsAffected() == 1 {
		return portal.Attempt{Key: key, Failures: 1, LockedUntil: now.Add(first)}, nil
	}
	a := portal.Attempt{Key: key}
	take := func(tx querier) error {
		// Lock the existing row: the no-op update takes the row lock
		// (held to the commit), so the read, the check and the write below
		// are one step for every instance, and a concurrent reset cannot
		// slip in between. A reset may have deleted the row since the
		// insert above: then this inserts it.
		var last time.Time
		if err := tx.QueryRow(ctx,
			`INSERT INTO attempts (key, failures, locked_until, last_at) VALUES ($1, 0, 'epoch', 'epoch')
			 ON CONFLICT (key) DO UPDATE SET failures = attempts.failures
			 RETURNING failures, locked_until, last_at`, key).Scan(&a.Failures, &a.LockedUntil, &last); err != nil {
			return err
		}
		if a.LockedUntil.After(now) {
			return &portal.LockedError{Until: a.LockedUntil}
		}
		if window > 0 && now.Sub(last) > window {
			a.Failures = 0 // decayed: the earlier failures are too old to count
		}
		a.Failures++
		wait := delay(a.Failures)
		a.LockedUntil = now.Add(wait)
		_, err := tx.Exec(ctx, `UPDATE attempts SET failures = $1, locked_until = $2, last_at = GREATEST(last_at, $4) WHERE key = $3`,
			a.Failures, storedLock(now, wait), key, now)
		return err
	}
	if d.tx != nil {
		// Inside Atomic the row lock is held to its commit anyway; no
		// savepoint (two more round trips) is needed.
		err = take(d.q)
	} else {
		err = pgx.BeginFunc(ctx, d.q, func(tx pgx.Tx) error { return take(tx) })
	}
	if errors.Is(err, portal.ErrLocked) {
		return a, err
	}
	return a, wrap("counting attempt", err)
}

// storedLock is the locked_until stored for a wait from now. No delay
// stores no lock: "locked until now" would lock out a concurrent attempt
// whose clock read is a little earlier (another request, another
// instance).
func storedLock(now time.Time, wait time.Duration) time.Time {
	if wait <= 0 {
		return time.Unix(0, 0)
	}
	return now.Add(wait)
}

func (d *DB) ResetAttempts(ctx context.Context, key string) error {
	_, err := d.q.Exec(ctx, `DELETE FROM attempts WHERE key = $1`, key)
	return wrap("resetting attempts", err)
}

func (d *DB) RefundAttempt(ctx context.Context, key string) error {
	_, err := d.q.Exec(ctx, `UPDATE attempts SET failures = GREATEST(failures - 1, 0), locked_until = 'epoch' WHERE key = $1`, key)
	return wrap("refunding attempt", err)
}

func (d *DB) DeleteAttemptsWithPrefix(ctx context.Context, prefix string) error {
	_, err := d.q.Exec(ctx, `DELETE FROM attempts WHERE left(key, length($1)) = $1`, prefix)
	return wrap("deleting attempts", err)
}

func (d *DB) CountAttempts(ctx context.Context) (int, error) {
	var n int
	err := d.q.QueryRow(ctx, `SELECT COUNT(*) FROM attempts`).Scan(&n)
	return n, wrap("counting attempts", err)
}

// Activity.

func (d *DB) AddEvent(ctx context.Context, e *portal.Event) error {
	err := d.q.QueryRow(ctx, `INSERT INTO activity (user_id, kind, ip, at) VALUES ($1, $2, $3, $4) RETURNING id`,
		e.UserID, string(e.Kind), e.IP, e.At).Scan(&e.ID)
	return wrap("adding event", err)
}

func (d *DB) Events(ctx context.Context, userID int64, limit int) ([]*portal.Event, error) {
	rows, err := d.q.Query(ctx,
		`SELECT id, user_id, kind, ip, at FROM activity WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, wrap("listing events", err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*portal.Event, error) {
		var e portal.Event
		var kind string
		if err := r.Scan(&e.ID, &e.UserID, &kind, &e.IP, &e.At); err != nil {
			return nil, err
		}
		e.Kind = portal.EventKind(kind)
		return &e, nil
	})
	if err != nil {
		return nil, wrap("listing events", err)
	}
	return events, nil
}

// Remembered devices.

const deviceColumns = `id, user_id, token_hash, browser, created_at, last_used_at, ip`

func scanDevice(row pgx.Row) (*portal.RememberedDevice, error) {
	var dev portal.RememberedDevice
	if err := row.Scan(&dev.ID, &dev.UserID, &dev.TokenHash, &dev.Browser, &dev.CreatedAt, &dev.LastUsedAt, &dev.IP); err != nil {
		return nil, err
	}
	return &dev, nil
}

func (d *DB) AddRememberedDevice(ctx context.Context, dev *portal.RememberedDevice) error {
	err := d.q.QueryRow(ctx,
		`INSERT INTO remembered_devices (user_id, token_hash, browser, created_at, last_used_at, ip) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		dev.UserID, dev.TokenHash, dev.Browser, dev.CreatedAt, dev.LastUsedAt, dev.IP).Scan(&dev.ID)
	if isUnique(err) {
		return fmt.Errorf("remembering device: %w", portal.ErrConflict)
	}
	return wrap("remembering device", err)
}

func (d *DB) RememberedDevice(ctx context.Context, userID int64, tokenHash []byte) (*portal.RememberedDevice, error) {
	dev, err := scanDevice(d.q.QueryRow(ctx,
		`SELECT `+deviceColumns+` FROM remembered_devices WHERE user_id = $1 AND token_hash = $2`, userID, tokenHash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, portal.ErrNotFound
	} else if err != nil {
		return nil, wrap("reading remembered device", err)
	}
	return dev, nil
}

func (d *DB) TouchRememberedDevice(ctx context.Context, id int64, at time.Time, ip string) error {
	_, err := d.q.Exec(ctx, `UPDATE remembered_devices SET last_used_at = $1, ip = $2 WHERE id = $3`, at, ip, id)
	return wrap("touching remembered device", err)
}

func (d *DB) RememberedDevices(ctx context.Context, userID int64) ([]*portal.RememberedDevice, error) {
	rows, err := d.q.Query(ctx,
		`SELECT `+deviceColumns+` FROM remembered_devices WHERE user_id = $1 ORDER BY last_used_at DESC, id DESC`, userID)
	if err != nil {
		return nil, wrap("listing remembered devices", err)
	}
	devs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*portal.RememberedDevice, error) { return scanDevice(r) })
	if err != nil {
		return nil, wrap("listing remembered devices", err)
	}
	return devs, nil
}

func (d *DB) DeleteRememberedDevices(ctx context.Context, userID, id int64) (int, error) {
	tag, err := d.q.Exec(ctx, `DELETE FROM remembered_devices WHERE user_id = $1 AND ($2 = 0 OR id = $2)`, userID, id)
	if err != nil {
		return 0, wrap("forgetting remembered devices", err)
	}
	return int(tag.RowsAffected()), nil
}

// nullString stores "" as NULL.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// E-mail.

// The admin role and disabled accounts.

func (d *DB) SetAdmin(ctx context.Context, userID int64, admin bool) error {
	if !admin {
		tag, err := d.q.Exec(ctx, `UPDATE users SET is_admin = false WHERE id = $1`, userID)
		if err != nil {
			return wrap("revoking admin role", err)
		}
		return oneRow(tag, portal.ErrNotFound)
	}
	tag, err := d.q.Exec(ctx, `UPDATE users SET is_admin = true WHERE id = $1 AND totp_secret IS NOT NULL`, userID)
	if err != nil {
		return wrap("granting admin role", err)
	}
	if err := oneRow(tag, portal.ErrConflict); err != nil {
		if _, err := d.UserByID(ctx, userID); err != nil {
			return err
		}
		return fmt.Errorf("granting admin role: two-factor authentication is off: %w", portal.ErrConflict)
	}
	return nil
}

func (d *DB) SetDisabled(ctx context.Context, userID int64, disabled bool) error {
	tag, err := d.q.Exec(ctx, `UPDATE users SET disabled = $1 WHERE id = $2`, disabled, userID)
	if err != nil {
		return wrap("disabling account", err)
	}
	return oneRow(tag, portal.ErrNotFound)
}

// likePrefix is a LIKE pattern matching the strings that start with p.
func likePrefix(p string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
}

func (d *DB) SearchUsers(ctx context.Context, prefix string, limit int) ([]*portal.User, error) {
	rows, err := d.q.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE username LIKE $1 ESCAPE '\' OR lower(email) LIKE $1 ESCAPE '\' OR lower(email_pending) LIKE $1 ESCAPE '\'
		ORDER BY username LIMIT $2`, likePrefix(strings.ToLower(prefix)), limit)
	if err != nil {
		return nil, wrap("searching users", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*portal.User, error) { return scanUser(r) })
	return users, wrap("searching users", err)
}

func (d *DB) CountSessions(ctx context.Context, userID int64) (int, error) {
	var n int
	err := d.q.QueryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, userID).Scan(&n)
	return n, wrap("counting sessions", err)
}

func (d *DB) AddAudit(ctx context.Context, e *portal.AuditEntry) error {
	err := d.q.QueryRow(ctx, `INSERT INTO admin_audit (admin, action, target, ip, at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		e.Admin, e.Action, e.Target, e.IP, e.At).Scan(&e.ID)
	return wrap("adding audit entry", err)
}

func (d *DB) AuditLog(ctx context.Context, limit int) ([]*portal.AuditEntry, error) {
	rows, err := d.q.Query(ctx, `SELECT id, admin, action, target, ip, at FROM admin_audit ORDER BY at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, wrap("reading audit log", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*portal.AuditEntry, error) {
		var e portal.AuditEntry
		err := r.Scan(&e.ID, &e.Admin, &e.Action, &e.Target, &e.IP, &e.At)
		return &e, err
	})
	return out, wrap("reading audit log", err)
}

func (d *DB) SetEmailPending(ctx context.Context, userID int64, address string) error {
	tag, err := d.q.Exec(ctx, `UPDATE users SET email_pending = $1 WHERE id = $2`, nullString(address), userID)
	if err != nil {
		return wrap("storing pending e-mail address", err)
	}
	return oneRow(tag, portal.ErrNotFound)
}

func (d *DB) ConfirmEmail(ctx context.Context, userID int64, address string) error {
	tag, err := d.q.Exec(ctx,
		`UPDATE users SET email = email_pending, email_pending = NULL WHERE id = $1 AND email_pending = $2`, userID, address)
	if err != nil {
		return wrap("confirming e-mail address", err)
	}
	return oneRow(tag, portal.ErrConflict)
}

func (d *DB) AddMailToken(ctx context.Context, t *portal.MailToken) error {
	_, err := d.q.Exec(ctx,
		`INSERT INTO mail_tokens (token_hash, user_id, purpose, address, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.Hash, t.UserID, t.Purpose, t.Address, t.CreatedAt, t.ExpiresAt)
	if isUnique(err) {
		return fmt.Errorf("storing mail token: %w", portal.ErrConflict)
	}
	return wrap("storing mail token", err)
}

func (d *DB) TakeMailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*portal.MailToken, error) {
	t := portal.MailToken{Hash: hash, Purpose: purpose}
	err := d.q.QueryRow(ctx,
		`DELETE FROM mail_tokens WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 RETURNING user_id, address, created_at, expires_at`,
		hash, purpose, now).Scan(&t.UserID, &t.Address, &t.CreatedAt, &t.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, portal.ErrNotFound
	} else if err != nil {
		return nil, wrap("taking mail token", err)
	}
	return &t, nil
}

func (d *DB) MailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*portal.MailToken, error) {
	t := portal.MailToken{Hash: hash, Purpose: purpose}
	err := d.q.QueryRow(ctx,
		`SELECT user_id, address, created_at, expires_at FROM mail_tokens WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3`,
		hash, purpose, now).Scan(&t.UserID, &t.Address, &t.CreatedAt, &t.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, portal.ErrNotFound
	} else if err != nil {
		return nil, wrap("reading mail token", err)
	}
	return &t, nil
}

func (d *DB) DeleteMailTokens(ctx context.Context, userID int64, purpose string, now time.Time) error {
	_, err := d.q.Exec(ctx,
		`DELETE FROM mail_tokens WHERE (user_id = $1 AND purpose = $2) OR expires_at <= $3`, userID, purpose, now)
	return wrap("deleting mail tokens", err)
}

// Outbox.

const mailColumns = `id, message_id, recipient, subject, text_body, html_body, created_at, attempts, next_attempt_at, lease_until, last_error, sent_at`

func scanMail(row pgx.Row) (*portal.Mail, error) {
	var m portal.Mail
	var lease, sent *time.Time
	if err := row.Scan(&m.ID, &m.MessageID, &m.To, &m.Subject, &m.Text, &m.HTML, &m.CreatedAt, &m.Attempts, &m.NextAttemptAt, &lease, &m.LastError, &sent); err != nil {
		return nil, err
	}
	if lease != nil {
		m.LeaseUntil = *lease
	}
	if sent != nil {
		m.SentAt = *sent
	}
	return &m, nil
}

func (d *DB) EnqueueMail(ctx context.Context, m *portal.Mail) error {
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	err := d.q.QueryRow(ctx,
		`INSERT INTO outbox (message_id, recipient, subject, text_body, html_body, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		m.MessageID, m.To, m.Subject, m.Text, m.HTML, m.CreatedAt, m.NextAttemptAt).Scan(&m.ID)
	if isUnique(err) {
		return fmt.Errorf("queueing mail: %w", portal.ErrConflict)
	}
	return wrap("queueing mail", err)
}

// ClaimMail leases the due rows in one statement; FOR UPDATE SKIP LOCKED
// makes a concurrent claim pass over rows another instance is leasing
// instead of waiting for them and leasing them again.
func (d *DB) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*portal.Mail, error) {
	rows, err := d.q.Query(ctx,
		`UPDATE outbox SET lease_until = $1, attempts = attempts + 1
		 WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
		              ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		 RETURNING `+mailColumns,
		now.Add(lease), now, limit)
	if err != nil {
		return nil, wrap("claiming mail", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*portal.Mail, error) { return scanMail(r) })
	return out, wrap("claiming mail", err)
}

func (d *DB) MarkMailSent(ctx context.Context, id int64, at time.Time) error {
	_, err := d.q.Exec(ctx, `UPDATE outbox SET sent_at = $1, lease_until = NULL, last_error = '', text_body = '', html_body = '' WHERE id = $2`, at, id)
	return wrap("recording mail sent", err)
}

func (d *DB) RetryMail(ctx context.Context, id int64, next time.Time, lastError string) error {
	_, err := d.q.Exec(ctx, `UPDATE outbox SET lease_until = NULL, next_attempt_at = $1, last_error = $2 WHERE id = $3 AND sent_at IS NULL`,
		next, lastError, id)
	return wrap("scheduling mail retry", err)
}

func (d *DB) OutboxMail(ctx context.Context, id int64) (*portal.Mail, error) {
	m, err := scanMail(d.q.QueryRow(ctx, `SELECT `+mailColumns+` FROM outbox WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, portal.ErrNotFound
	}
	return m, wrap("reading mail", err)
}
