package mail

import (
	"context"
	"log/slog"
	"time"

	"twofold.dev/server/portal"
)

// Sender delivers one message; *SMTP is the real one.
type Sender interface {
	Send(ctx context.Context, m *portal.Mail) error
}

// Outbox sends the store's due messages. Every instance of the portal
// runs one; the store's ClaimMail lease keeps two of them (or two rounds
// of one) off the same message, and a message is marked sent only after
// the SMTP server took it, so a crash or an outage delays mail but never
// drops it. A crash between the server's answer and the mark sends that
// message again, with the same Message-ID (at-least-once).
type Outbox struct {
	Store  portal.Store
	Sender Sender
	// Keys open the bodies the portal sealed when it queued them.
	Keys   *portal.Keys
	Logger *slog.Logger
	// Now is the clock (time.Now when nil); Wait sleeps d or until ctx
	// ends or Wake is called (a timer when nil): both injectable, so tests
	// move time instead of waiting.
	Now  func() time.Time
	Wait func(ctx context.Context, d time.Duration, wake <-chan struct{})
	// Poll is how often the store is asked for due mail (0: 2 s); Lease
	// how long a claimed message is held (0: 5 min, far longer than one
	// delivery's timeout); Batch how many per claim (0: 10).
	Poll  time.Duration
	Lease time.Duration
	Batch int
	// MinBackoff doubles after each failure up to MaxBackoff (0: 10 s
	// and 1 h).
	MinBackoff time.Duration
	MaxBackoff time.Duration

	wake chan struct{}
}

func (o *Outbox) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Wait == nil {
		o.Wait = func(ctx context.Context, d time.Duration, wake <-chan struct{}) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			case <-wake:
			}
		}
	}
	if o.Poll == 0 {
		o.Poll = 2 * time.Second
	}
	if o.Lease == 0 {
		o.Lease = 5 * time.Minute
	}
	if o.Batch == 0 {
		o.Batch = 10
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = 10 * time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.wake == nil {
		o.wake = make(chan struct{}, 1)
	}
}

// Wake makes a waiting Run look for mail now (after a change queued
// some), without blocking.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Backoff is the wait after the attempts-th failed attempt: MinBackoff,
// doubled per further attempt, at most MaxBackoff.
func (o *Outbox) Backoff(attempts int) time.Duration {
	d := o.MinBackoff
	for i := 1; i < attempts && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.MaxBackoff)
}

// Run sends until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	o.defaults()
	for ctx.Err() == nil {
		n, err := o.SendDue(ctx)
		if err != nil && ctx.Err() == nil {
			o.Logger.Error("outbox", "err", err)
		}
		if n == o.Batch && err == nil {
			continue // maybe more due
		}
		o.Wait(ctx, o.Poll, o.wake)
	}
}

// SendDue claims the due messages once and tries each; it returns how
// many it claimed.
func (o *Outbox) SendDue(ctx context.Context) (int, error) {
	o.defaults()
	ms, err := o.Store.ClaimMail(ctx, o.Now(), o.Lease, o.Batch)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		err := o.Keys.OpenMail(m)
		if err == nil {
			err = o.Sender.Send(ctx, m)
		}
		if err != nil {
			next := o.Now().Add(o.Backoff(m.Attempts))
			o.Logger.Warn("mail not delivered, will retry", "message_id", m.MessageID, "attempt", m.Attempts, "retry_at", next, "err", err)
			// A failure to record the retry leaves the lease to run out.
			if rerr := o.Store.RetryMail(context.WithoutCancel(ctx), m.ID, next, err.Error()); rerr != nil {
				return len(ms), rerr
			}
			continue
		}
		if err := o.Store.MarkMailSent(context.WithoutCancel(ctx), m.ID, o.Now()); err != nil {
			return len(ms), err
		}
		o.Logger.Info("mail sent", "message_id", m.MessageID, "attempt", m.Attempts)
	}
	return len(ms), nil
}
