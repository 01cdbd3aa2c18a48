package portal

import (
	"context"
	"fmt"
	"time"
)

// Retention says how long the portal keeps what it records. Everything
// else that expires (sessions, attempt counters, remembered devices, mail
// tokens, the outbox) is deleted by Prune as soon as it no longer counts.
type Retention struct {
	// Activity is how long activity events (the security page's list)
	// are kept; 0 keeps them forever.
	Activity time.Duration
	// Audit is how long the admin audit log is kept; 0 keeps it forever.
	Audit time.Duration
	// Batch is the most rows one delete statement removes: each batch is
	// a short transaction, so a sign-in waits for one batch at most.
	Batch int
	// Wait pauses between batches (nil: a timer); see prune.
	Wait func(ctx context.Context, d time.Duration) error
}

// wait sleeps d or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

const (
	// DefaultActivityRetention keeps a year of activity events.
	DefaultActivityRetention = 365 * 24 * time.Hour
	// DefaultPruneBatch rows per delete statement.
	DefaultPruneBatch = 1000
)

// PruneKind names one set of rows that Prune deletes: one delete
// statement of the store, run in batches.
type PruneKind string

// The kinds, each with the cutoff ("before") Prune passes to the store.
const (
	PruneSessionsIdle      PruneKind = "sessions_idle"      // last seen before: idle timeout
	PruneSessionsAbsolute  PruneKind = "sessions_absolute"  // created before: absolute timeout
	PruneAttempts          PruneKind = "attempts"           // last attempt before the longest window, not locked at now
	PruneRememberedDevices PruneKind = "remembered_devices" // created before: RememberFor
	PruneMailTokens        PruneKind = "mail_tokens"        // expired at before (now); a used one is deleted on use
	PruneSentMail          PruneKind = "outbox_sent"        // sent before: KeepSentMail
	PruneUnsentMail        PruneKind = "outbox_unsent"      // never sent, created before KeepSentMail, not leased at now
	PruneActivity          PruneKind = "activity"           // at before: Retention.Activity
	PruneAudit             PruneKind = "admin_audit"        // at before: Retention.Audit
)

// PruneKinds lists every kind, in the order Prune runs them.
func PruneKinds() []PruneKind {
	return []PruneKind{PruneSessionsIdle, PruneSessionsAbsolute, PruneAttempts, PruneRememberedDevices,
		PruneMailTokens, PruneSentMail, PruneUnsentMail, PruneActivity, PruneAudit}
}

// Pruned counts the rows Prune deleted, per kind.
type Pruned map[PruneKind]int

// Total is the number of rows deleted.
func (p Pruned) Total() int {
	n := 0
	for _, c := range p {
		n += c
	}
	return n
}

// cutoffs returns, per kind, the time before which rows go; a kind
// missing from the map is kept (a retention of 0).
func (s *Service) cutoffs(now time.Time) map[PruneKind]time.Time {
	window := time.Duration(0)
	for _, l := range []Limit{s.cfg.CodeLimit, s.cfg.PasswordLimit, s.cfg.IPLimit, s.cfg.DeviceLimit, s.cfg.SignupLimit, s.cfg.MailLimit} {
		window = max(window, l.Window)
	}
	c := map[PruneKind]time.Time{
		PruneSessionsIdle:      now.Add(-s.cfg.IdleTimeout),
		PruneSessionsAbsolute:  now.Add(-s.cfg.AbsoluteTimeout),
		PruneAttempts:          now.Add(-window),
		PruneRememberedDevices: now.Add(-RememberFor),
		PruneMailTokens:        now,
		PruneSentMail:          now.Add(-KeepSentMail),
		// Unsent for this long: its links expired long ago (ResetFor,
		// ConfirmEmailFor), and the address keeps refusing it.
		PruneUnsentMail: now.Add(-KeepSentMail),
	}
	if r := s.cfg.Retention.Activity; r > 0 {
		c[PruneActivity] = now.Add(-r)
	}
	if r := s.cfg.Retention.Audit; r > 0 {
		c[PruneAudit] = now.Add(-r)
	}
	return c
}

// Prune deletes everything past its retention, in batches of
// Retention.Batch rows, and says how many rows of each kind it deleted.
// Several instances sharing a database may prune at the same time: a
// row is deleted once, and rows another transaction holds are skipped
// (the next run takes them).
func (s *Service) Prune(ctx context.Context) (Pruned, error) {
	return s.prune(ctx, PruneKinds()...)
}

// prune runs the kinds' batches, each until one deletes fewer rows than
// a batch. The cutoffs are read once: rows that expire meanwhile wait
// for the next run, so a busy portal cannot keep the loop going. After
// a full batch it pauses as long as the batch took: pruning a backlog
// (a portal that was down, a first start on old data) takes at most
// half of the database's writing, and the sign-ins queued behind a batch
// go first (SQLite has one writer).
func (s *Service) prune(ctx context.Context, kinds ...PruneKind) (Pruned, error) {
	now := s.now()
	cut := s.cutoffs(now)
	batch := s.cfg.Retention.Batch
	if batch <= 0 {
		batch = DefaultPruneBatch
	}
	pause := s.cfg.Retention.Wait
	if pause == nil {
		pause = wait
	}
	out := Pruned{}
	for _, kind := range kinds {
		before, ok := cut[kind]
		if !ok {
			continue
		}
		for {
			if err := ctx.Err(); err != nil {
				return out, fmt.Errorf("pruning %s: %w", kind, err)
			}
			start := s.now()
			n, err := s.store.PruneBatch(ctx, kind, before, now, batch)
			out[kind] += n
			if err != nil {
				return out, fmt.Errorf("pruning %s: %w", kind, err)
			}
			if n < batch {
				break
			}
			if took := s.now().Sub(start); took > 0 {
				if err := pause(ctx, took); err != nil {
					return out, fmt.Errorf("pruning %s: %w", kind, err)
				}
			}
		}
	}
	return out, nil
}
