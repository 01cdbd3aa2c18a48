package postgres

import (
	"context"
	"io/fs"

	"github.com/jackc/pgx/v5"
)

// QueryRow lets the tests look into the database.
func (d *DB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return d.pool.QueryRow(ctx, sql, args...)
}

// MigrationCount is the number of embedded migrations.
func MigrationCount() int {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	return len(names)
}

// MaxConns is the pool size.
func (d *DB) MaxConns() int32 { return d.pool.Config().MaxConns }

// CountRows counts a table's rows with SQL (storetest.RowCounter).
func (d *DB) CountRows(ctx context.Context, table string) (int, error) {
	var n int
	err := d.pool.QueryRow(ctx, `SELECT COUNT(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n)
	return n, err
}

// OpenTraced is Open with trace called with every statement the store
// sends and its arguments, so that the tests can EXPLAIN the very
// statements the store runs.
func OpenTraced(ctx context.Context, rawURL string, trace func(sql string, args []any)) (*DB, error) {
	return open(ctx, rawURL, true, tracer(trace))
}

type tracer func(sql string, args []any)

func (t tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t(d.SQL, d.Args)
	return ctx
}

func (t tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
