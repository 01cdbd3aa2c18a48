package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"twofold.dev/server/portal"
)

var _ portal.SealedSecretFinder = (*DB)(nil)

// AnySealedSecret reads rows until the first with a secret: one row when
// any account has 2FA, never the whole table into memory.
func (d *DB) AnySealedSecret(ctx context.Context) (int64, []byte, bool, error) {
	var id int64
	var sealed []byte
	err := d.q.QueryRow(ctx,
		`SELECT id, COALESCE(totp_secret, totp_pending) FROM users WHERE totp_secret IS NOT NULL OR totp_pending IS NOT NULL LIMIT 1`).Scan(&id, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, false, nil
	} else if err != nil {
		return 0, nil, false, wrap("looking for a sealed secret", err)
	}
	return id, sealed, true, nil
}
