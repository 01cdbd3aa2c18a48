package postgres

import (
	"context"
	"fmt"
	"time"

	"twofold.dev/server/portal"
)

// pruneStatement returns the batch delete of kind and its arguments. The
// rows are chosen through an index (the inner SELECT, at most limit of
// them), locked with SKIP LOCKED (a row a sign-in is changing is left to
// the next run, and two instances pruning at once neither wait for each
// other nor delete a row twice), and deleted by primary key: "= ANY(ARRAY(
// ...))" keeps the planner on the key's index, where "IN (SELECT ...)"
// may hash-join over the whole table.
func pruneStatement(kind portal.PruneKind, before, now time.Time, limit int) (string, []any, error) {
	batch := func(table, key, where string) string {
		return `DELETE FROM ` + table + ` WHERE ` + key + ` = ANY(ARRAY(SELECT ` + key + ` FROM ` + table +
			` WHERE ` + where + ` LIMIT $1 FOR UPDATE SKIP LOCKED))`
	}
	switch kind {
	case portal.PruneSessionsIdle:
		return batch("sessions", "id", "last_seen_at < $2"), []any{limit, before}, nil
	case portal.PruneSessionsAbsolute:
		return batch("sessions", "id", "created_at < $2"), []any{limit, before}, nil
	case portal.PruneAttempts:
		return batch("attempts", "key", "last_at < $2 AND locked_until <= $3"), []any{limit, before, now}, nil
	case portal.PruneRememberedDevices:
		return batch("remembered_devices", "id", "created_at < $2"), []any{limit, before}, nil
	case portal.PruneMailTokens:
		return batch("mail_tokens", "token_hash", "expires_at <= $2"), []any{limit, before}, nil
	case portal.PruneSentMail:
		return batch("outbox", "id", "sent_at < $2"), []any{limit, before}, nil
	case portal.PruneUnsentMail:
		return batch("outbox", "id", "sent_at IS NULL AND created_at < $2 AND (lease_until IS NULL OR lease_until <= $3)"),
			[]any{limit, before, now}, nil
	case portal.PruneActivity:
		return batch("activity", "id", "at < $2"), []any{limit, before}, nil
	case portal.PruneAudit:
		return batch("admin_audit", "id", "at < $2"), []any{limit, before}, nil
	}
	return "", nil, fmt.Errorf("pruning: unknown kind %q", kind)
}

func (d *DB) PruneBatch(ctx context.Context, kind portal.PruneKind, before, now time.Time, limit int) (int, error) {
	sql, args, err := pruneStatement(kind, before, now, limit)
	if err != nil {
		return 0, err
	}
	tag, err := d.q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, wrap("pruning "+string(kind), err)
	}
	return int(tag.RowsAffected()), nil
}
