package sqlite

import (
	"context"
	"fmt"
	"time"

	"twofold.dev/server/portal"
)

// pruneStatement returns the batch delete of kind and its arguments: at
// most limit rows, chosen through an index, deleted by rowid. Each batch
// is its own statement on the one writing connection, so it holds the
// write lock for one batch only and the writers queued behind it (a
// sign-in) run between two batches.
func pruneStatement(kind portal.PruneKind, before, now time.Time, limit int) (string, []any, error) {
	batch := func(table, where string) string {
		return `DELETE FROM ` + table + ` WHERE rowid IN (SELECT rowid FROM ` + table + ` WHERE ` + where + ` LIMIT ?)`
	}
	b, n := unix(before), unix(now)
	switch kind {
	case portal.PruneSessionsIdle:
		return batch("sessions", "last_seen_at < ?"), []any{b, limit}, nil
	case portal.PruneSessionsAbsolute:
		return batch("sessions", "created_at < ?"), []any{b, limit}, nil
	case portal.PruneAttempts:
		return batch("attempts", "last_at < ? AND locked_until <= ?"), []any{b, n, limit}, nil
	case portal.PruneRememberedDevices:
		return batch("remembered_devices", "created_at < ?"), []any{b, limit}, nil
	case portal.PruneMailTokens:
		return batch("mail_tokens", "expires_at <= ?"), []any{b, limit}, nil
	case portal.PruneSentMail:
		return batch("outbox", "sent_at < ?"), []any{b, limit}, nil
	case portal.PruneUnsentMail:
		return batch("outbox", "sent_at IS NULL AND created_at < ? AND (lease_until IS NULL OR lease_until <= ?)"), []any{b, n, limit}, nil
	case portal.PruneActivity:
		return batch("activity", "at < ?"), []any{b, limit}, nil
	case portal.PruneAudit:
		return batch("admin_audit", "at < ?"), []any{b, limit}, nil
	}
	return "", nil, fmt.Errorf("pruning: unknown kind %q", kind)
}

func (d *DB) PruneBatch(ctx context.Context, kind portal.PruneKind, before, now time.Time, limit int) (int, error) {
	sql, args, err := pruneStatement(kind, before, now, limit)
	if err != nil {
		return 0, err
	}
	res, err := d.wq.ExecContext(ctx, sql, args...)
	if err != nil {
		return 0, wrap("pruning "+string(kind), err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("pruning "+string(kind), err)
}
