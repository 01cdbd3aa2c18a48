package sqlite

import (
	"context"
	"strings"
)

// CountRows counts a table's rows with SQL (storetest.RowCounter).
func (d *DB) CountRows(ctx context.Context, table string) (int, error) {
	var n int
	err := d.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+strings.ReplaceAll(table, `"`, `""`)+`"`).Scan(&n)
	return n, err
}

// Statements returns the text of every statement the store has prepared:
// each statement it ran since Open but the migrations (one run inside a
// transaction is prepared after its commit).
func (d *DB) Statements() []string {
	var out []string
	for _, p := range []*prepared{d.wp, d.rp} {
		p.mu.Lock()
		for q := range p.stmts {
			out = append(out, q)
		}
		p.mu.Unlock()
	}
	return out
}

// Exec runs sql on the writing connection (tests seed with it).
func (d *DB) Exec(ctx context.Context, sql string) error {
	_, err := d.w.ExecContext(ctx, sql)
	return err
}

// QueryPlan returns the detail column of EXPLAIN QUERY PLAN sql, its
// parameters NULL: without STAT4 SQLite's plan does not depend on them.
func (d *DB) QueryPlan(ctx context.Context, sql string) ([]string, error) {
	rows, err := d.w.QueryContext(ctx, `EXPLAIN QUERY PLAN `+sql, make([]any, strings.Count(sql, "?"))...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		out = append(out, detail)
	}
	return out, rows.Err()
}

// ForgetStatements empties the prepared-statement caches (only a cache),
// so that Statements then returns what runs from now on.
func (d *DB) ForgetStatements() {
	for _, p := range []*prepared{d.wp, d.rp} {
		p.mu.Lock()
		for q, st := range p.stmts {
			st.Close()
			delete(p.stmts, q)
		}
		p.mu.Unlock()
	}
}
