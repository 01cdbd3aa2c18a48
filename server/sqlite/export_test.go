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
