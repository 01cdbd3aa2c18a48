// Package sqlite implements portal.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"twofold.dev/server/portal"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a portal.Store on one SQLite file. Writes go through one
// connection (w), so writers of this process queue in Go instead of
// sleeping in SQLite's busy handler; reads go through a pool of read-only
// connections (r), which WAL lets run beside the writer. Inside Atomic,
// both are the transaction.
type DB struct {
	w, r   *sql.DB
	wp, rp *prepared
	wq, rq querier
	tx     *sql.Tx // non-nil inside Atomic
}

// querier runs statements on a pool or in a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// prepared is a pool whose statements are prepared once per connection
// and kept: parsing the SQL again costs more than running it.
type prepared struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newPrepared(db *sql.DB) *prepared { return &prepared{db: db, stmts: map[string]*sql.Stmt{}} }

func (p *prepared) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	p.mu.Lock()
	st, ok := p.stmts[query]
	p.mu.Unlock()
	if ok {
		return st, nil
	}
	// Not under the lock: preparing waits for a connection, which a
	// transaction may hold while it looks up its own statements.
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if had, ok := p.stmts[query]; ok {
		st.Close()
		return had, nil
	}
	p.stmts[query] = st
	return st, nil
}

func (p *prepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (p *prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (p *prepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return p.db.QueryRowContext(ctx, query, args...) // carries the error
	}
	return st.QueryRowContext(ctx, args...)
}

// preparedTx runs the pool's prepared statements in a transaction (on
// the transaction's connection, where they are already prepared). A
// statement not prepared yet runs unprepared and is prepared after the
// commit: the transaction holds the pool's only writing connection, so
// preparing it now would wait for itself.
type preparedTx struct {
	tx     *sql.Tx
	p      *prepared
	missed *[]string
}

func (t preparedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	t.p.mu.Lock()
	st, ok := t.p.stmts[query]
	t.p.mu.Unlock()
	if !ok {
		*t.missed = append(*t.missed, query)
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

func (t preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// Open opens (creating if needed) the database file at path and applies
// the migrations not applied yet, each in its own transaction.
func Open(ctx context.Context, path string) (*DB, error) {
	// The database holds sealed secrets and password hashes: readable by
	// its owner only. SQLite gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	// One writer: SQLite allows one at a time anyway, and a second
	// connection waiting for the lock would poll with growing sleeps.
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	d := &DB{w: w, wq: w} // unprepared until the migrations are applied
	if err := d.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	q = url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	// Open every reader now: the pool then holds a fixed set of files for
	// the process's life instead of growing under the first load.
	if err := openAll(ctx, r, readers); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	d.wp, d.rp = newPrepared(w), newPrepared(r)
	d.r, d.wq, d.rq = r, d.wp, d.rp
	return d, nil
}

// openAll opens n connections of db at once and returns them to its pool.
func openAll(ctx context.Context, db *sql.DB, n int) error {
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		if err := c.PingContext(ctx); err != nil {
			c.Close()
			return err
		}
		conns = append(conns, c)
	}
	return nil
}

// Conns says how many connections the writer and reader pools hold now,
// and at most (Open opens all of them).
func (d *DB) Conns() (open, limit int) {
	w, r := d.w.Stats(), d.r.Stats()
	return w.OpenConnections + r.OpenConnections, w.MaxOpenConnections + r.MaxOpenConnections
}

// Close closes the database.
func (d *DB) Close() error { return errors.Join(d.r.Close(), d.w.Close()) }

// Atomic runs fn in one transaction (BEGIN IMMEDIATE: it holds the write
// lock from the start, so it is serialised with every other writer, in
// this process and others) and commits when fn returns nil. Inside fn,
// Atomic runs fn in the same transaction.
func (d *DB) Atomic(ctx context.Context, fn func(portal.Store) error) error {
	return d.inTx(ctx, "transaction", func(t *DB) error { return fn(t) })
}

// inTx runs fn on a DB bound to a transaction: the current one inside
// Atomic, else a new one committed when fn returns nil.
func (d *DB) inTx(ctx context.Context, op string, fn func(t *DB) error) error {
	if d.tx != nil {
		return fn(d)
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap(op, err)
	}
	defer tx.Rollback()
	var missed []string
	q := preparedTx{tx: tx, p: d.wp, missed: &missed}
	if err := fn(&DB{w: d.w, r: d.r, wp: d.wp, rp: d.rp, wq: q, rq: q, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return wrap(op+": committing", err)
	}
	for _, query := range missed {
		// Only a cache: a statement that fails to prepare runs unprepared.
		if _, err := d.wp.stmt(ctx, query); err != nil {
			break
		}
	}
	return nil
}

func (d *DB) migrate(ctx context.Context) error {
	if _, err := d.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return wrap("creating migrations table", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return wrap("listing migrations", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := d.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// foreignKeysOff marks a migration that rebuilds a table other tables
// refer to: it runs with foreign keys off, on one connection, and the
// keys are checked before the commit.
const foreignKeysOff = "-- twofold: foreign_keys off"

func (d *DB) migrateFile(ctx context.Context, name string) error {
	body, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	conn, err := d.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	fkOff := strings.HasPrefix(string(body), foreignKeysOff)
	if fkOff {
		// Only outside a transaction does this pragma take effect.
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if fkOff {
		rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			return err
		}
		bad := rows.Next()
		rows.Close()
		if bad {
			return errors.New("foreign key check failed after the migration")
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().UnixNano()); err != nil {
		return err
	}
	return wrap("committing", tx.Commit())
}

func unix(t time.Time) int64 { return t.UnixNano() }

func fromUnix(n int64) time.Time { return time.Unix(0, n) }

// wrap adds context to a database error, and portal.ErrUnavailable to
// the chain when the database cannot serve now: disk full, read-only,
// I/O error, locked for longer than the busy timeout. nil stays nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PERM:
			return fmt.Errorf("%s: %w: %w", op, portal.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	return wrap("pinging database", errors.Join(d.w.PingContext(ctx), d.r.PingContext(ctx)))
}

func isUnique(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Users.

const userColumns = `id, username, display_name, password_hash, totp_secret, totp_pending, totp_last_step, created_at, recovery_unseen, grace_from, email, email_pending, is_admin, disabled`

// userRow holds the scan targets of userColumns.
type userRow struct {
	u              portal.User
	step, created  int64
	grace          sql.NullInt64
	email, pending sql.NullString
}

func (r *userRow) dest() []any {
	u := &r.u
	return []any{&u.ID, &u.Username, &u.DisplayName, &u.PasswordHash, &u.TOTPSecret, &u.TOTPPending, &r.step, &r.created, &u.RecoveryUnseen, &r.grace, &r.email, &r.pending, &u.Admin, &u.Disabled}
}

func (r *userRow) user() *portal.User {
	u := r.u
	u.Email, u.EmailPending = r.email.String, r.pending.String
	u.TOTPLastStep, u.CreatedAt = uint64(r.step), fromUnix(r.created)
	if r.grace.Valid {
		u.GraceFrom = fromUnix(r.grace.Int64)
	}
	return &u
}

func scanUser(row interface{ Scan(...any) error }) (*portal.User, error) {
	var r userRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.user(), nil
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: unix(t), Valid: true}
}

func (d *DB) CreateUser(ctx context.Context, u *portal.User) error {
	err := d.wq.QueryRowContext(ctx,
		`INSERT INTO users (username, display_name, password_hash, totp_secret, totp_pending, totp_last_step, created_at, grace_from, email, email_pending)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Username, u.DisplayName, u.PasswordHash, u.TOTPSecret, u.TOTPPending, int64(u.TOTPLastStep), unix(u.CreatedAt), nullTime(u.GraceFrom),
		nullString(u.Email), nullString(u.EmailPending)).Scan(&u.ID)
	if isUnique(err) {
		return fmt.Errorf("creating user %q: %w", u.Username, portal.ErrConflict)
	} else if err != nil {
		return wrap("creating user", err)
	}
	return nil
}

func (d *DB) user(ctx context.Context, where string, arg any) (*portal.User, error) {
	u, err := scanUser(d.rq.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portal.ErrNotFound
	} else if err != nil {
		return nil, wrap("reading user", err)
	}
	return u, nil
}

func (d *DB) UserByID(ctx context.Context, id int64) (*portal.User, error) {
	return d.user(ctx, "id = ?", id)
}

func (d *DB) UserByName(ctx context.Context, username string) (*portal.User, error) {
	return d.user(ctx, "username = ?", username)
}

func (d *DB) ListUsers(ctx context.Context) ([]*portal.User, error) {
	rows, err := d.rq.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, wrap("listing users", err)
	}
	defer rows.Close()
	var users []*portal.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap("listing users", err)
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

func (d *DB) DeleteUser(ctx context.Context, id int64) error {
	res, err := d.wq.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		return wrap("deleting user", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("deleting user", err)
	}
	if n == 0 {
		return portal.ErrNotFound
	}
	return nil
}

func (d *DB) StartGrace(ctx context.Context, userID int64, at time.Time) (time.Time, error) {
	var from int64
	err := d.wq.QueryRowContext(ctx,
		`UPDATE users SET grace_from = coalesce(grace_from, ?) WHERE id = ? RETURNING grace_from`, unix(at), userID).Scan(&from)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, portal.ErrNotFound
	} else if err != nil {
		return time.Time{}, wrap("starting grace period", err)
	}
	return fromUnix(from), nil
}

// Two-factor.

func (d *DB) SetPassword(ctx context.Context, userID int64, hash string) error {
	res, err := d.wq.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
	if err != nil {
		return wrap("storing password", err)
	}
	return oneRow(res, portal.ErrNotFound)
}

func (d *DB) SetUnseenRecovery(ctx context.Context, userID int64, sealed []byte) error {
	res, err := d.wq.ExecContext(ctx, `UPDATE users SET recovery_unseen = ? WHERE id = ?`, sealed, userID)
	if err != nil {
		return wrap("storing unseen recovery codes", err)
	}
	return oneRow(res, portal.ErrNotFound)
}

func (d *DB) SetPendingTOTP(ctx context.Context, userID int64, sealed []byte) error {
	res, err := d.wq.ExecContext(ctx, `UPDATE users SET totp_pending = ? WHERE id = ?`, sealed, userID)
	if err != nil {
		return wrap("storing pending key", err)
	}
	return oneRow(res, portal.ErrNotFound)
}

func oneRow(res sql.Result, otherwise error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return otherwise
	}
	return nil
}

func (d *DB) EnableTOTP(ctx context.Context, userID int64, pending []byte, step uint64, hashes [][]byte) error {
	return d.inTx(ctx, "enabling two-factor", func(t *DB) error {
		res, err := t.wq.ExecContext(ctx,
			`UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = ?
			 WHERE id = ? AND totp_pending = ? AND totp_secret IS NULL`, int64(step), userID, pending)
		if err != nil {
			return wrap("enabling two-factor", err)
		}
		if err := oneRow(res, portal.ErrConflict); err != nil {
			return err
		}
		return replaceRecovery(ctx, t.wq, userID, hashes)
	})
}

func (d *DB) DisableTOTP(ctx context.Context, userID int64) error {
	return d.inTx(ctx, "disabling two-factor", func(t *DB) error {
		res, err := t.wq.ExecContext(ctx, `UPDATE users SET totp_secret = NULL, totp_pending = NULL WHERE id = ? AND is_admin = 0`, userID)
		if err != nil {
			return wrap("disabling two-factor", err)
		}
		if err := oneRow(res, portal.ErrNotFound); err != nil {
			if _, err := t.UserByID(ctx, userID); err != nil {
				return err
			}
			return fmt.Errorf("disabling two-factor of an admin: %w", portal.ErrConflict)
		}
		if _, err := t.wq.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return wrap("deleting recovery codes", err)
		}
		return nil
	})
}

func (d *DB) ConsumeTOTPStep(ctx context.Context, userID int64, step uint64) error {
	res, err := d.wq.ExecContext(ctx,
		`UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, int64(step), userID, int64(step))
	if err != nil {
		return wrap("consuming time step", err)
	}
	return oneRow(res, portal.ErrReplay)
}

// Recovery codes.

func replaceRecovery(ctx context.Context, tx querier, userID int64, hashes [][]byte) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return wrap("deleting recovery codes", err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h); err != nil {
			return wrap("storing recovery code", err)
		}
	}
	return nil
}

func (d *DB) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	return d.inTx(ctx, "replacing recovery codes", func(t *DB) error {
		return replaceRecovery(ctx, t.wq, userID, hashes)
	})
}

func (d *DB) ConsumeRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) error {
	res, err := d.wq.ExecContext(ctx,
		`UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, unix(now), userID, hash)
	if err != nil {
		return wrap("consuming recovery code", err)
	}
	if err := oneRow(res, portal.ErrNotFound); !errors.Is(err, portal.ErrNotFound) {
		return err
	}
	var n int
	if err := d.wq.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, userID, hash).Scan(&n); err != nil {
		return wrap("consuming recovery code", err)
	}
	if n > 0 {
		return portal.ErrReplay
	}
	return portal.ErrNotFound
}

func (d *DB) CountRecoveryCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	err := d.rq.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, wrap("counting recovery codes", err)
	}
	return n, nil
}

// Sessions.

func (d *DB) CreateSession(ctx context.Context, s *portal.Session) error {
	_, err := d.wq.ExecContext(ctx,
		`INSERT INTO sessions (id, user_id, stage, created_at, last_seen_at, auth_at, ip, user_agent, setup_skipped, code_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, int(s.Stage), unix(s.CreatedAt), unix(s.LastSeenAt), unix(s.AuthAt), s.IP, s.UserAgent, s.SetupSkipped, nullTime(s.CodeAt))
	if isUnique(err) {
		return fmt.Errorf("creating session: %w", portal.ErrConflict)
	} else if err != nil {
		return wrap("creating session", err)
	}
	return nil
}

const sessionColumns = `id, user_id, stage, created_at, last_seen_at, auth_at, ip, user_agent, setup_skipped, code_at`

// sessionRow holds the scan targets of sessionColumns.
type sessionRow struct {
	s                   portal.Session
	stage               int
	created, seen, auth int64
	code                sql.NullInt64
}

func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.UserID, &r.stage, &r.created, &r.seen, &r.auth, &s.IP, &s.UserAgent, &s.SetupSkipped, &r.code}
}

func (r *sessionRow) session() *portal.Session {
	s := r.s
	s.Stage, s.CreatedAt, s.LastSeenAt, s.AuthAt = portal.Stage(r.stage), fromUnix(r.created), fromUnix(r.seen), fromUnix(r.auth)
	if r.code.Valid {
		s.CodeAt = fromUnix(r.code.Int64)
	}
	return &s
}

func (d *DB) Session(ctx context.Context, id []byte) (*portal.Session, error) {
	var r sessionRow
	err := d.rq.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portal.ErrNotFound
	} else if err != nil {
		return nil, wrap("reading session", err)
	}
	return r.session(), nil
}

// sessionUserQuery reads a session and its user in one statement: one
// read transaction (one round of WAL locking) per request instead of
// two. Its columns are sessionColumns then userColumns, qualified (the
// store contract compares the result with Session and UserByID).
const sessionUserQuery = `SELECT s.id, s.user_id, s.stage, s.created_at, s.last_seen_at, s.auth_at, s.ip, s.user_agent, s.setup_skipped, s.code_at,
	u.id, u.username, u.display_name, u.password_hash, u.totp_secret, u.totp_pending, u.totp_last_step, u.created_at, u.recovery_unseen, u.grace_from, u.email, u.email_pending, u.is_admin, u.disabled
	FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`

func (d *DB) SessionUser(ctx context.Context, id []byte) (*portal.Session, *portal.User, error) {
	var sr sessionRow
	var ur userRow
	err := d.rq.QueryRowContext(ctx, sessionUserQuery, id).Scan(append(sr.dest(), ur.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, portal.ErrNotFound
	} else if err != nil {
		return nil, nil, wrap("reading session and user", err)
	}
	return sr.session(), ur.user(), nil
}

func (d *DB) TouchSession(ctx context.Context, id []byte, at time.Time) error {
	if _, err := d.wq.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, unix(at), id); err != nil {
		return wrap("touching session", err)
	}
	return nil
}

func (d *DB) SkipSetup(ctx context.Context, id []byte) error {
	if _, err := d.wq.ExecContext(ctx, `UPDATE sessions SET setup_skipped = 1 WHERE id = ?`, id); err != nil {
		return wrap("skipping set-up", err)
	}
	return nil
}

func (d *DB) DeleteSession(ctx context.Context, id []byte) error {
	if _, err := d.wq.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return wrap("deleting session", err)
	}
	return nil
}

func (d *DB) DeleteUserSessions(ctx context.Context, userID int64, except []byte) (int, error) {
	if except == nil {
		except = []byte{}
	}
	res, err := d.wq.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, except)
	if err != nil {
		return 0, wrap("deleting sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Attempts.

func (d *DB) TakeAttempt(ctx context.Context, key string, now time.Time, window time.Duration, delay func(int) time.Duration) (portal.Attempt, error) {
	a := portal.Attempt{Key: key}
	// _txlock=immediate: the transaction holds the write lock from BEGIN,
	// so concurrent takes are serialised.
	err := d.inTx(ctx, "counting attempt", func(t *DB) error {
		// One statement counts the attempt, new key or not, unless the
		// counter is locked: it inserts the first failure, or adds one
		// (after the decay) to an unlocked counter. A lock to set is a
		// second statement: the delay is the caller's function of the
		// count.
		err := t.wq.QueryRowContext(ctx,
			`INSERT INTO attempts (key, failures, locked_until, last_at) VALUES (?1, 1, 0, ?2)
			 ON CONFLICT (key) DO UPDATE SET
			   failures = CASE WHEN ?3 > 0 AND ?2 - last_at > ?3 THEN 1 ELSE failures + 1 END,
			   locked_until = 0, last_at = max(last_at, ?2)
			 WHERE locked_until <= ?2
			 RETURNING failures`,
			key, unix(now), int64(window)).Scan(&a.Failures)
		if errors.Is(err, sql.ErrNoRows) {
			// Locked: the row is there and this transaction holds the
			// write lock, so it is still there to read.
			var locked int64
			if err := t.wq.QueryRowContext(ctx, `SELECT failures, locked_until FROM attempts WHERE key = ?`, key).Scan(&a.Failures, &locked); err != nil {
				return wrap("counting attempt", err)
			}
			a.LockedUntil = fromUnix(locked)
			return &portal.LockedError{Until: a.LockedUntil}
		} else if err != nil {
			return wrap("counting attempt", err)
		}
		wait := delay(a.Failures)
		a.LockedUntil = now.Add(wait)
		if wait <= 0 {
			return nil
		}
		_, err = t.wq.ExecContext(ctx, `UPDATE attempts SET locked_until = ? WHERE key = ?`, storedLock(now, wait), key)
		return wrap("counting attempt", err)
	})
	return a, err
}

// storedLock is the locked_until stored for a wait from now. No delay
// stores no lock: "locked until now" would refuse a concurrent attempt
// whose clock read is a little earlier.
func storedLock(now time.Time, wait time.Duration) int64 {
	if wait <= 0 {
		return 0
	}
	return unix(now.Add(wait))
}

func (d *DB) ResetAttempts(ctx context.Context, key string) error {
	if _, err := d.wq.ExecContext(ctx, `DELETE FROM attempts WHERE key = ?`, key); err != nil {
		return wrap("resetting attempts", err)
	}
	return nil
}

func (d *DB) RefundAttempt(ctx context.Context, key string) error {
	if _, err := d.wq.ExecContext(ctx, `UPDATE attempts SET failures = max(failures - 1, 0), locked_until = 0 WHERE key = ?`, key); err != nil {
		return wrap("refunding attempt", err)
	}
	return nil
}

func (d *DB) DeleteAttemptsWithPrefix(ctx context.Context, prefix string) error {
	if _, err := d.wq.ExecContext(ctx, `DELETE FROM attempts WHERE substr(key, 1, length(?)) = ?`, prefix, prefix); err != nil {
		return wrap("deleting attempts", err)
	}
	return nil
}

func (d *DB) CountAttempts(ctx context.Context) (int, error) {
	var n int
	err := d.wq.QueryRowContext(ctx, `SELECT COUNT(*) FROM attempts`).Scan(&n)
	return n, wrap("counting attempts", err)
}

// Activity.

func (d *DB) AddEvent(ctx context.Context, e *portal.Event) error {
	err := d.wq.QueryRowContext(ctx, `INSERT INTO activity (user_id, kind, ip, at) VALUES (?, ?, ?, ?) RETURNING id`,
		e.UserID, string(e.Kind), e.IP, unix(e.At)).Scan(&e.ID)
	if err != nil {
		return wrap("adding event", err)
	}
	return nil
}

func (d *DB) Events(ctx context.Context, userID int64, limit int) ([]*portal.Event, error) {
	rows, err := d.rq.QueryContext(ctx,
		`SELECT id, user_id, kind, ip, at FROM activity WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, wrap("listing events", err)
	}
	defer rows.Close()
	var events []*portal.Event
	for rows.Next() {
		var e portal.Event
		var kind string
		var at int64
		if err := rows.Scan(&e.ID, &e.UserID, &kind, &e.IP, &at); err != nil {
			return nil, wrap("listing events", err)
		}
		e.Kind, e.At = portal.EventKind(kind), fromUnix(at)
		events = append(events, &e)
	}
	return events, rows.Err()
}

// Remembered devices.

const deviceColumns = `id, user_id, token_hash, browser, created_at, last_used_at, ip`

func scanDevice(row interface{ Scan(...any) error }) (*portal.RememberedDevice, error) {
	var dev portal.RememberedDevice
	var created, used int64
	if err := row.Scan(&dev.ID, &dev.UserID, &dev.TokenHash, &dev.Browser, &created, &used, &dev.IP); err != nil {
		return nil, err
	}
	dev.CreatedAt, dev.LastUsedAt = fromUnix(created), fromUnix(used)
	return &dev, nil
}

func (d *DB) AddRememberedDevice(ctx context.Context, dev *portal.RememberedDevice) error {
	err := d.wq.QueryRowContext(ctx,
		`INSERT INTO remembered_devices (user_id, token_hash, browser, created_at, last_used_at, ip) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		dev.UserID, dev.TokenHash, dev.Browser, unix(dev.CreatedAt), unix(dev.LastUsedAt), dev.IP).Scan(&dev.ID)
	if isUnique(err) {
		return fmt.Errorf("remembering device: %w", portal.ErrConflict)
	}
	return wrap("remembering device", err)
}

func (d *DB) RememberedDevice(ctx context.Context, userID int64, tokenHash []byte) (*portal.RememberedDevice, error) {
	dev, err := scanDevice(d.rq.QueryRowContext(ctx,
		`SELECT `+deviceColumns+` FROM remembered_devices WHERE user_id = ? AND token_hash = ?`, userID, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portal.ErrNotFound
	} else if err != nil {
		return nil, wrap("reading remembered device", err)
	}
	return dev, nil
}

func (d *DB) TouchRememberedDevice(ctx context.Context, id int64, at time.Time, ip string) error {
	_, err := d.wq.ExecContext(ctx, `UPDATE remembered_devices SET last_used_at = ?, ip = ? WHERE id = ?`, unix(at), ip, id)
	return wrap("touching remembered device", err)
}

func (d *DB) RememberedDevices(ctx context.Context, userID int64) ([]*portal.RememberedDevice, error) {
	rows, err := d.rq.QueryContext(ctx,
		`SELECT `+deviceColumns+` FROM remembered_devices WHERE user_id = ? ORDER BY last_used_at DESC, id DESC`, userID)
	if err != nil {
		return nil, wrap("listing remembered devices", err)
	}
	defer rows.Close()
	var devs []*portal.RememberedDevice
	for rows.Next() {
		dev, err := scanDevice(rows)
		if err != nil {
			return nil, wrap("listing remembered devices", err)
		}
		devs = append(devs, dev)
	}
	return devs, wrap("listing remembered devices", rows.Err())
}

func (d *DB) DeleteRememberedDevices(ctx context.Context, userID, id int64) (int, error) {
	res, err := d.wq.ExecContext(ctx, `DELETE FROM remembered_devices WHERE user_id = ? AND (? = 0 OR id = ?)`, userID, id, id)
	if err != nil {
		return 0, wrap("forgetting remembered devices", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("forgetting remembered devices", err)
}

// nullString stores "" as NULL.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// The admin role and disabled accounts.

func (d *DB) SetAdmin(ctx context.Context, userID int64, admin bool) error {
	if !admin {
		res, err := d.wq.ExecContext(ctx, `UPDATE users SET is_admin = 0 WHERE id = ?`, userID)
		if err != nil {
			return wrap("revoking admin role", err)
		}
		return oneRow(res, portal.ErrNotFound)
	}
	res, err := d.wq.ExecContext(ctx, `UPDATE users SET is_admin = 1 WHERE id = ? AND totp_secret IS NOT NULL`, userID)
	if err != nil {
		return wrap("granting admin role", err)
	}
	if err := oneRow(res, portal.ErrConflict); err != nil {
		if _, err := d.UserByID(ctx, userID); err != nil {
			return err
		}
		return fmt.Errorf("granting admin role: two-factor authentication is off: %w", portal.ErrConflict)
	}
	return nil
}

func (d *DB) SetDisabled(ctx context.Context, userID int64, disabled bool) error {
	res, err := d.wq.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, disabled, userID)
	if err != nil {
		return wrap("disabling account", err)
	}
	return oneRow(res, portal.ErrNotFound)
}

// likePrefix is a LIKE pattern matching the strings that start with p.
func likePrefix(p string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
}

func (d *DB) SearchUsers(ctx context.Context, prefix string, limit int) ([]*portal.User, error) {
	like := likePrefix(strings.ToLower(prefix))
	rows, err := d.rq.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE username LIKE ?1 ESCAPE '\' OR lower(email) LIKE ?1 ESCAPE '\' OR lower(email_pending) LIKE ?1 ESCAPE '\'
		ORDER BY username LIMIT ?2`, like, limit)
	if err != nil {
		return nil, wrap("searching users", err)
	}
	defer rows.Close()
	var users []*portal.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap("searching users", err)
		}
		users = append(users, u)
	}
	return users, wrap("searching users", rows.Err())
}

func (d *DB) CountSessions(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := d.rq.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, wrap("counting sessions", err)
	}
	return n, nil
}

func (d *DB) AddAudit(ctx context.Context, e *portal.AuditEntry) error {
	err := d.wq.QueryRowContext(ctx, `INSERT INTO admin_audit (admin, action, target, ip, at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		e.Admin, e.Action, e.Target, e.IP, unix(e.At)).Scan(&e.ID)
	return wrap("adding audit entry", err)
}

func (d *DB) AuditLog(ctx context.Context, limit int) ([]*portal.AuditEntry, error) {
	rows, err := d.rq.QueryContext(ctx, `SELECT id, admin, action, target, ip, at FROM admin_audit ORDER BY at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, wrap("reading audit log", err)
	}
	defer rows.Close()
	var out []*portal.AuditEntry
	for rows.Next() {
		var e portal.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.Admin, &e.Action, &e.Target, &e.IP, &at); err != nil {
			return nil, wrap("reading audit log", err)
		}
		e.At = fromUnix(at)
		out = append(out, &e)
	}
	return out, wrap("reading audit log", rows.Err())
}

// E-mail.

func (d *DB) SetEmailPending(ctx context.Context, userID int64, address string) error {
	res, err := d.wq.ExecContext(ctx, `UPDATE users SET email_pending = ? WHERE id = ?`, nullString(address), userID)
	if err != nil {
		return wrap("storing pending e-mail address", err)
	}
	return oneRow(res, portal.ErrNotFound)
}

func (d *DB) ConfirmEmail(ctx context.Context, userID int64, address string) error {
	res, err := d.wq.ExecContext(ctx,
		`UPDATE users SET email = email_pending, email_pending = NULL WHERE id = ? AND email_pending = ?`, userID, address)
	if err != nil {
		return wrap("confirming e-mail address", err)
	}
	return oneRow(res, portal.ErrConflict)
}

func (d *DB) AddMailToken(ctx context.Context, t *portal.MailToken) error {
	_, err := d.wq.ExecContext(ctx,
		`INSERT INTO mail_tokens (token_hash, user_id, purpose, address, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.Hash, t.UserID, t.Purpose, t.Address, unix(t.CreatedAt), unix(t.ExpiresAt))
	if isUnique(err) {
		return fmt.Errorf("storing mail token: %w", portal.ErrConflict)
	}
	return wrap("storing mail token", err)
}

func (d *DB) TakeMailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*portal.MailToken, error) {
	t := portal.MailToken{Hash: hash, Purpose: purpose}
	var created, expires int64
	err := d.wq.QueryRowContext(ctx,
		`DELETE FROM mail_tokens WHERE token_hash = ? AND purpose = ? AND expires_at > ? RETURNING user_id, address, created_at, expires_at`,
		hash, purpose, unix(now)).Scan(&t.UserID, &t.Address, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portal.ErrNotFound
	} else if err != nil {
		return nil, wrap("taking mail token", err)
	}
	t.CreatedAt, t.ExpiresAt = fromUnix(created), fromUnix(expires)
	return &t, nil
}

func (d *DB) MailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*portal.MailToken, error) {
	t := portal.MailToken{Hash: hash, Purpose: purpose}
	var created, expires int64
	err := d.rq.QueryRowContext(ctx,
		`SELECT user_id, address, created_at, expires_at FROM mail_tokens WHERE token_hash = ? AND purpose = ? AND expires_at > ?`,
		hash, purpose, unix(now)).Scan(&t.UserID, &t.Address, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portal.ErrNotFound
	} else if err != nil {
		return nil, wrap("reading mail token", err)
	}
	t.CreatedAt, t.ExpiresAt = fromUnix(created), fromUnix(expires)
	return &t, nil
}

func (d *DB) DeleteMailTokens(ctx context.Context, userID int64, purpose string, now time.Time) error {
	_, err := d.wq.ExecContext(ctx,
		`DELETE FROM mail_tokens WHERE (user_id = ? AND purpose = ?) OR expires_at <= ?`, userID, purpose, unix(now))
	return wrap("deleting mail tokens", err)
}

// Outbox.

const mailColumns = `id, message_id, recipient, subject, text_body, html_body, created_at, attempts, next_attempt_at, lease_until, last_error, sent_at`

func scanMail(row interface{ Scan(...any) error }) (*portal.Mail, error) {
	var m portal.Mail
	var created, next int64
	var lease, sent sql.NullInt64
	if err := row.Scan(&m.ID, &m.MessageID, &m.To, &m.Subject, &m.Text, &m.HTML, &created, &m.Attempts, &next, &lease, &m.LastError, &sent); err != nil {
		return nil, err
	}
	m.CreatedAt, m.NextAttemptAt = fromUnix(created), fromUnix(next)
	if lease.Valid {
		m.LeaseUntil = fromUnix(lease.Int64)
	}
	if sent.Valid {
		m.SentAt = fromUnix(sent.Int64)
	}
	return &m, nil
}

func (d *DB) EnqueueMail(ctx context.Context, m *portal.Mail) error {
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	err := d.wq.QueryRowContext(ctx,
		`INSERT INTO outbox (message_id, recipient, subject, text_body, html_body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.MessageID, m.To, m.Subject, m.Text, m.HTML, unix(m.CreatedAt), unix(m.NextAttemptAt)).Scan(&m.ID)
	if isUnique(err) {
		return fmt.Errorf("queueing mail: %w", portal.ErrConflict)
	}
	return wrap("queueing mail", err)
}

// ClaimMail is one UPDATE ... RETURNING: SQLite runs one writer at a
// time, across processes, so no two senders lease the same row.
func (d *DB) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*portal.Mail, error) {
	rows, err := d.wq.QueryContext(ctx,
		`UPDATE outbox SET lease_until = ?, attempts = attempts + 1
		 WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
		              ORDER BY next_attempt_at, id LIMIT ?)
		 RETURNING `+mailColumns,
		unix(now.Add(lease)), unix(now), unix(now), limit)
	if err != nil {
		return nil, wrap("claiming mail", err)
	}
	defer rows.Close()
	var out []*portal.Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, wrap("claiming mail", err)
		}
		out = append(out, m)
	}
	return out, wrap("claiming mail", rows.Err())
}

func (d *DB) MarkMailSent(ctx context.Context, id int64, at time.Time) error {
	_, err := d.wq.ExecContext(ctx, `UPDATE outbox SET sent_at = ?, lease_until = NULL, last_error = '', text_body = '', html_body = '' WHERE id = ?`, unix(at), id)
	return wrap("recording mail sent", err)
}

func (d *DB) RetryMail(ctx context.Context, id int64, next time.Time, lastError string) error {
	_, err := d.wq.ExecContext(ctx, `UPDATE outbox SET lease_until = NULL, next_attempt_at = ?, last_error = ? WHERE id = ? AND sent_at IS NULL`,
		unix(next), lastError, id)
	return wrap("scheduling mail retry", err)
}

func (d *DB) OutboxMail(ctx context.Context, id int64) (*portal.Mail, error) {
	m, err := scanMail(d.rq.QueryRowContext(ctx, `SELECT `+mailColumns+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portal.ErrNotFound
	}
	return m, wrap("reading mail", err)
}
