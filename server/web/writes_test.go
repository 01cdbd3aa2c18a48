package web_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"twofold.dev/server/portal"
)

// writeLog records the writes the service makes outside a transaction,
// and each transaction as one write.
type writeLog struct {
	portal.Store
	mu     sync.Mutex
	writes []string
}

func (w *writeLog) add(op string) { w.mu.Lock(); w.writes = append(w.writes, op); w.mu.Unlock() }

func (w *writeLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	got := w.writes
	w.writes = nil
	return got
}

func (w *writeLog) Atomic(ctx context.Context, fn func(portal.Store) error) error {
	w.add("Atomic")
	return w.Store.Atomic(ctx, fn)
}

func (w *writeLog) TakeAttempt(ctx context.Context, key string, now time.Time, window time.Duration, delay func(int) time.Duration) (portal.Attempt, error) {
	w.add("TakeAttempt")
	return w.Store.TakeAttempt(ctx, key, now, window, delay)
}

func (w *writeLog) ResetAttempts(ctx context.Context, key string) error {
	w.add("ResetAttempts")
	return w.Store.ResetAttempts(ctx, key)
}

func (w *writeLog) ConsumeTOTPStep(ctx context.Context, userID int64, step uint64) error {
	w.add("ConsumeTOTPStep")
	return w.Store.ConsumeTOTPStep(ctx, userID, step)
}

func (w *writeLog) ConsumeRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) error {
	w.add("ConsumeRecoveryCode")
	return w.Store.ConsumeRecoveryCode(ctx, userID, hash, now)
}

func (w *writeLog) AddEvent(ctx context.Context, e *portal.Event) error {
	w.add("AddEvent")
	return w.Store.AddEvent(ctx, e)
}

func (w *writeLog) CreateSession(ctx context.Context, s *portal.Session) error {
	w.add("CreateSession")
	return w.Store.CreateSession(ctx, s)
}

func (w *writeLog) TouchSession(ctx context.Context, id []byte, at time.Time) error {
	w.add("TouchSession")
	return w.Store.TouchSession(ctx, id, at)
}

func (w *writeLog) DeleteSession(ctx context.Context, id []byte) error {
	w.add("DeleteSession")
	return w.Store.DeleteSession(ctx, id)
}

// TestCodeCheckIsOneTransaction: a second-step check, wrong, replayed or
// right, by form or API, code or recovery code, writes in exactly one
// transaction (the database's single writer is the portal's bottleneck),
// and what it decides is all there: the failure events, the lock, the
// replaced session.
func TestCodeCheckIsOneTransaction(t *testing.T) {
	log := &writeLog{}
	h := newHarnessStore(t, func(s portal.Store) portal.Store { log.Store = s; return log })
	k, recovery, _ := h.signup("joe", "Joe").enable()
	h.nextStep()
	one := []string{"Atomic"}

	c := h.loginPending("joe")
	log.take()
	expect(t, c.post("/login/code", "code", h.wrongCode(k)), http.StatusUnauthorized)
	if got := log.take(); !slices.Equal(got, one) {
		t.Errorf("wrong code (form) wrote %v, want %v", got, one)
	}
	r, _ := c.postJSON("/api/v1/login/code", map[string]string{"code": h.wrongCode(k)})
	expect(t, r, http.StatusUnauthorized)
	if got := log.take(); !slices.Equal(got, one) {
		t.Errorf("wrong code (API) wrote %v, want %v", got, one)
	}
	expect(t, c.post("/login/code", "code", h.code(k)), http.StatusSeeOther, "/")
	if got := log.take(); !slices.Equal(got, one) {
		t.Errorf("right code wrote %v, want %v", got, one)
	}

	c = h.loginPending("joe")
	log.take()
	r, _ = c.postJSON("/api/v1/login/code", map[string]string{"code": h.code(k)})
	expect(t, r, http.StatusUnauthorized)
	if got := log.take(); !slices.Equal(got, one) {
		t.Errorf("replayed code wrote %v, want %v", got, one)
	}
	r, _ = c.postJSON("/api/v1/login/code", map[string]string{"recovery_code": recovery[0]})
	expect(t, r, http.StatusOK)
	if got := log.take(); !slices.Equal(got, one) {
		t.Errorf("recovery code wrote %v, want %v", got, one)
	}

	events, err := h.db.Events(t.Context(), 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []portal.EventKind
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	for _, want := range []portal.EventKind{portal.EventCodeFailed, portal.EventCodeReplayed, portal.EventRecoveryUsed, portal.EventSignIn} {
		if !slices.Contains(kinds, want) {
			t.Errorf("activity %v lacks %s", kinds, want)
		}
	}
}
