package web_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"twofold.dev/server/portal"
)

// readLog records the session and user reads the service makes, in a
// transaction or not.
type readLog struct {
	portal.Store
	rec *reads
}

type reads struct {
	mu  sync.Mutex
	ops []string
}

func (r *readLog) add(op string) {
	r.rec.mu.Lock()
	r.rec.ops = append(r.rec.ops, op)
	r.rec.mu.Unlock()
}

func (r *readLog) take() []string {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	got := r.rec.ops
	r.rec.ops = nil
	return got
}

func (r *readLog) Session(ctx context.Context, id []byte) (*portal.Session, error) {
	r.add("Session")
	return r.Store.Session(ctx, id)
}

func (r *readLog) SessionUser(ctx context.Context, id []byte) (*portal.Session, *portal.User, error) {
	r.add("SessionUser")
	return r.Store.SessionUser(ctx, id)
}

func (r *readLog) UserByID(ctx context.Context, id int64) (*portal.User, error) {
	r.add("UserByID")
	return r.Store.UserByID(ctx, id)
}

func (r *readLog) Atomic(ctx context.Context, fn func(portal.Store) error) error {
	return r.Store.Atomic(ctx, func(tx portal.Store) error { return fn(&readLog{Store: tx, rec: r.rec}) })
}

// A second-step check reads the session and its user once, in one
// statement, whatever its outcome (the earlier portal read the user
// three times on a right code): by form and by API, wrong, right, and
// with a recovery code.
func TestCodeCheckReadsSessionAndUserOnce(t *testing.T) {
	log := &readLog{rec: &reads{}}
	h := newHarnessStore(t, func(s portal.Store) portal.Store { log.Store = s; return log })
	k, recovery, _ := h.signup("joe", "Joe").enable()
	h.nextStep()
	once := []string{"SessionUser"}

	c := h.loginPending("joe")
	log.take()
	expect(t, c.post("/login/code", "code", h.wrongCode(k)), http.StatusUnauthorized)
	if got := log.take(); !slices.Equal(got, once) {
		t.Errorf("wrong code (form) read %v, want %v", got, once)
	}
	r, _ := c.postJSON("/api/v1/login/code", map[string]string{"code": h.wrongCode(k)})
	expect(t, r, http.StatusUnauthorized)
	if got := log.take(); !slices.Equal(got, once) {
		t.Errorf("wrong code (API) read %v, want %v", got, once)
	}
	r, _ = c.postJSON("/api/v1/login/code", map[string]string{"code": h.code(k)})
	expect(t, r, http.StatusOK)
	if got := log.take(); !slices.Equal(got, once) {
		t.Errorf("right code (API) read %v, want %v", got, once)
	}
	// The new session is fully signed in, and its user is the same.
	if r, me := c.getJSON("/api/v1/me"); r.Status != http.StatusOK || me["username"] != "joe" {
		t.Errorf("after the code, /api/v1/me: %d %v", r.Status, me)
	}

	h.nextStep()
	c = h.loginPending("joe")
	log.take()
	expect(t, c.post("/login/code", "code", h.code(k)), http.StatusSeeOther, "/")
	if got := log.take(); !slices.Equal(got, once) {
		t.Errorf("right code (form) read %v, want %v", got, once)
	}
	c = h.loginPending("joe")
	log.take()
	r, _ = c.postJSON("/api/v1/login/code", map[string]string{"recovery_code": recovery[0]})
	expect(t, r, http.StatusOK)
	if got := log.take(); !slices.Equal(got, once) {
		t.Errorf("recovery code read %v, want %v", got, once)
	}
}
