// Package storetest is the contract of portal.Store as a reusable test
// suite: every adapter's tests call Run with a function that opens an
// empty store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"twofold.dev/server/portal"
)

// Run runs the suite. open must return a new, empty, migrated store and
// arrange its cleanup with t.Cleanup. The store must also be a
// RowCounter (adapters export one to their tests only), so that the
// suite counts rows with SQL of its own rather than through the methods
// under test.
func Run(t *testing.T, open func(t *testing.T) portal.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s portal.Store)
	}{
		{"Users", testUsers},
		{"SetPassword", testSetPassword},
		{"Enrollment", testEnrollment},
		{"EnableConcurrent", testEnableConcurrent},
		{"ConsumeStep", testConsumeStep},
		{"ConsumeStepConcurrent", testConsumeStepConcurrent},
		{"RecoveryCodes", testRecoveryCodes},
		{"RecoveryConcurrent", testRecoveryConcurrent},
		{"Sessions", testSessions},
		{"SessionUser", testSessionUser},
		{"Attempts", testAttempts},
		{"AttemptsConcurrent", testAttemptsConcurrent},
		{"AttemptsDecay", testAttemptsDecay},
		{"AttemptsPruned", testAttemptsPruned},
		{"AttemptsBoundedAtScale", testAttemptsBoundedAtScale},
		{"SimulatedYear", testSimulatedYear},
		{"Events", testEvents},
		{"DeleteUserCascades", testDeleteCascades},
		{"AtomicCommits", testAtomicCommits},
		{"AtomicRollsBack", testAtomicRollsBack},
		{"AtomicSerialisesAttempts", testAtomicSerialises},
		{"RememberedDevices", testRememberedDevices},
		{"RememberedDevicesRollBack", testRememberedRollBack},
		{"Grace", testGrace},
		{"GraceConcurrent", testGraceConcurrent},
		{"SkipSetup", testSkipSetup},
		{"Email", testEmail},
		{"MailTokens", testMailTokens},
		{"Outbox", testOutbox},
		{"OutboxRollBack", testOutboxRollBack},
		{"OutboxClaimConcurrent", testOutboxClaimConcurrent},
		{"Admin", testAdmin},
		{"Disabled", testDisabled},
		{"SearchUsers", testSearchUsers},
		{"CountSessions", testCountSessions},
		{"Audit", testAudit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// RowCounter counts the rows of a table with plain SQL.
type RowCounter interface {
	CountRows(ctx context.Context, table string) (int, error)
}

func countRows(t *testing.T, s portal.Store, table string) int {
	t.Helper()
	rc, ok := s.(RowCounter)
	if !ok {
		t.Fatalf("%T is not a storetest.RowCounter: export CountRows to the adapter's tests", s)
	}
	n, err := rc.CountRows(context.Background(), table)
	if err != nil {
		t.Fatalf("counting rows of %s: %v", table, err)
	}
	return n
}

// pruneAll runs the prune batches of kind until one deletes fewer rows
// than the batch, as Service.Prune does, with a small batch so that the
// tests cross batch boundaries, and says how many rows went.
func pruneAll(t *testing.T, s portal.Store, kind portal.PruneKind, before, now time.Time) int {
	t.Helper()
	const batch = 7
	total := 0
	for {
		n, err := s.PruneBatch(context.Background(), kind, before, now, batch)
		if err != nil {
			t.Fatalf("PruneBatch(%s): %v", kind, err)
		}
		if n > batch {
			t.Fatalf("PruneBatch(%s) deleted %d rows, more than the batch of %d", kind, n, batch)
		}
		total += n
		if n < batch {
			return total
		}
	}
}

var t0 = time.Date(2026, 9, 2, 10, 0, 0, 123456000, time.UTC)

func newUser(t *testing.T, s portal.Store, name string) *portal.User {
	t.Helper()
	u := &portal.User{Username: name, DisplayName: "User " + name, PasswordHash: "$argon2id$fake", CreatedAt: t0}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	if u.ID == 0 {
		t.Fatalf("CreateUser(%s) left ID 0", name)
	}
	return u
}

func get(t *testing.T, s portal.Store, id int64) *portal.User {
	t.Helper()
	u, err := s.UserByID(context.Background(), id)
	if err != nil {
		t.Fatalf("UserByID(%d): %v", id, err)
	}
	return u
}

func testUsers(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	newUser(t, s, "ann")
	if err := s.CreateUser(ctx, &portal.User{Username: "joe", DisplayName: "x", PasswordHash: "h", CreatedAt: t0}); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("duplicate CreateUser: got %v, want ErrConflict", err)
	}
	got, err := s.UserByName(ctx, "joe")
	if err != nil {
		t.Fatalf("UserByName: %v", err)
	}
	if got.ID != joe.ID || got.DisplayName != "User joe" || got.PasswordHash != joe.PasswordHash || !got.CreatedAt.Equal(t0) || got.TwoFactor() || got.TOTPPending != nil {
		t.Errorf("UserByName = %+v, want %+v", got, joe)
	}
	if _, err := s.UserByName(ctx, "nobody"); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("UserByName(nobody): %v, want ErrNotFound", err)
	}
	if _, err := s.UserByID(ctx, 999999); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("UserByID(999999): %v, want ErrNotFound", err)
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].Username != "ann" || users[1].Username != "joe" {
		t.Errorf("ListUsers = %v, %v; want ann, joe", users, err)
	}
	if err := s.DeleteUser(ctx, joe.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if err := s.DeleteUser(ctx, joe.ID); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("DeleteUser twice: %v, want ErrNotFound", err)
	}
}

func hashes(prefix string, n int) [][]byte {
	h := make([][]byte, n)
	for i := range h {
		h[i] = []byte(fmt.Sprintf("%s-%02d-%s", prefix, i, bytes.Repeat([]byte{'x'}, 20)))
	}
	return h
}

func testEnrollment(t *testing.T, s portal.Store) {
	ctx := context.Background()
	u := newUser(t, s, "joe")
	if err := s.EnableTOTP(ctx, u.ID, []byte("p1"), 10, hashes("a", 10)); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("EnableTOTP without pending: %v, want ErrConflict", err)
	}
	if err := s.SetPendingTOTP(ctx, u.ID, []byte("p1")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPendingTOTP(ctx, u.ID, []byte("p2")); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, u.ID); !bytes.Equal(got.TOTPPending, []byte("p2")) || got.TwoFactor() {
		t.Errorf("after SetPendingTOTP: pending %q, twofactor %v", got.TOTPPending, got.TwoFactor())
	}
	if err := s.EnableTOTP(ctx, u.ID, []byte("p1"), 10, hashes("a", 10)); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("EnableTOTP with a stale pending key: %v, want ErrConflict", err)
	}
	if err := s.EnableTOTP(ctx, u.ID, []byte("p2"), 10, hashes("a", 10)); err != nil {
		t.Fatalf("EnableTOTP: %v", err)
	}
	got := get(t, s, u.ID)
	if !bytes.Equal(got.TOTPSecret, []byte("p2")) || got.TOTPPending != nil || got.TOTPLastStep != 10 {
		t.Errorf("after EnableTOTP: secret %q pending %q step %d", got.TOTPSecret, got.TOTPPending, got.TOTPLastStep)
	}
	if n, err := s.CountRecoveryCodes(ctx, u.ID); err != nil || n != 10 {
		t.Errorf("CountRecoveryCodes = %d, %v; want 10", n, err)
	}
	if err := s.EnableTOTP(ctx, u.ID, []byte("p2"), 11, hashes("b", 10)); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("second EnableTOTP: %v, want ErrConflict", err)
	}
	if err := s.ConsumeTOTPStep(ctx, u.ID, 10); !errors.Is(err, portal.ErrReplay) {
		t.Errorf("the enrollment step was accepted again: %v", err)
	}
	if err := s.DisableTOTP(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	got = get(t, s, u.ID)
	if got.TwoFactor() || got.TOTPPending != nil || got.TOTPLastStep != 10 {
		t.Errorf("after DisableTOTP: secret %q pending %q step %d", got.TOTPSecret, got.TOTPPending, got.TOTPLastStep)
	}
	if n, err := s.CountRecoveryCodes(ctx, u.ID); err != nil || n != 0 {
		t.Errorf("CountRecoveryCodes after disable = %d, %v; want 0", n, err)
	}
}

func testEnableConcurrent(t *testing.T, s portal.Store) {
	u := newUser(t, s, "joe")
	if err := s.SetPendingTOTP(context.Background(), u.ID, []byte("pending")); err != nil {
		t.Fatal(err)
	}
	ok := concurrently(t, 20, func() error {
		return s.EnableTOTP(context.Background(), u.ID, []byte("pending"), 7, hashes("a", 10))
	}, portal.ErrConflict)
	if ok != 1 {
		t.Errorf("%d of 20 concurrent EnableTOTP succeeded, want exactly 1", ok)
	}
	if n, err := s.CountRecoveryCodes(context.Background(), u.ID); err != nil || n != 10 {
		t.Errorf("CountRecoveryCodes = %d, %v; want 10", n, err)
	}
}

func testConsumeStep(t *testing.T, s portal.Store) {
	ctx := context.Background()
	u := newUser(t, s, "joe")
	for _, tc := range []struct {
		step uint64
		ok   bool
	}{{100, true}, {100, false}, {99, false}, {101, true}, {103, true}, {102, false}, {59_000_000, true}} {
		err := s.ConsumeTOTPStep(ctx, u.ID, tc.step)
		if tc.ok && err != nil {
			t.Errorf("ConsumeTOTPStep(%d): %v", tc.step, err)
		} else if !tc.ok && !errors.Is(err, portal.ErrReplay) {
			t.Errorf("ConsumeTOTPStep(%d): %v, want ErrReplay", tc.step, err)
		}
	}
	if got := get(t, s, u.ID).TOTPLastStep; got != 59_000_000 {
		t.Errorf("last step = %d", got)
	}
}

func testConsumeStepConcurrent(t *testing.T, s portal.Store) {
	u := newUser(t, s, "joe")
	ok := concurrently(t, 50, func() error { return s.ConsumeTOTPStep(context.Background(), u.ID, 500) }, portal.ErrReplay)
	if ok != 1 {
		t.Errorf("%d of 50 concurrent ConsumeTOTPStep succeeded, want exactly 1", ok)
	}
}

// concurrently runs fn n times at once and counts the nil results; any
// error other than expected fails the test.
func concurrently(t *testing.T, n int, fn func() error, expected error) int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, expected) {
			t.Errorf("unexpected error: %v", err)
		}
	}
	return ok
}

func testRecoveryCodes(t *testing.T, s portal.Store) {
	ctx := context.Background()
	u := newUser(t, s, "joe")
	other := newUser(t, s, "ann")
	h := hashes("a", 10)
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, h); err != nil {
		t.Fatal(err)
	}
	if err := s.ConsumeRecoveryCode(ctx, other.ID, h[0], t0); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("another user's code: %v, want ErrNotFound", err)
	}
	if err := s.ConsumeRecoveryCode(ctx, u.ID, h[0], t0); err != nil {
		t.Errorf("first use: %v", err)
	}
	if err := s.ConsumeRecoveryCode(ctx, u.ID, h[0], t0); !errors.Is(err, portal.ErrReplay) {
		t.Errorf("second use: %v, want ErrReplay (used, not wrong)", err)
	}
	if err := s.ConsumeRecoveryCode(ctx, u.ID, []byte("nope"), t0); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("unknown code: %v, want ErrNotFound", err)
	}
	if n, err := s.CountRecoveryCodes(ctx, u.ID); err != nil || n != 9 {
		t.Errorf("CountRecoveryCodes = %d, %v; want 9", n, err)
	}
	h2 := hashes("b", 10)
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, h2); err != nil {
		t.Fatal(err)
	}
	if err := s.ConsumeRecoveryCode(ctx, u.ID, h[1], t0); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("replaced code still works: %v", err)
	}
	if n, err := s.CountRecoveryCodes(ctx, u.ID); err != nil || n != 10 {
		t.Errorf("CountRecoveryCodes after replace = %d, %v; want 10", n, err)
	}
}

func testRecoveryConcurrent(t *testing.T, s portal.Store) {
	u := newUser(t, s, "joe")
	h := hashes("a", 10)
	if err := s.ReplaceRecoveryCodes(context.Background(), u.ID, h); err != nil {
		t.Fatal(err)
	}
	ok := concurrently(t, 30, func() error { return s.ConsumeRecoveryCode(context.Background(), u.ID, h[3], t0) }, portal.ErrReplay)
	if ok != 1 {
		t.Errorf("%d of 30 concurrent uses of one recovery code succeeded, want 1", ok)
	}
}

func testSessions(t *testing.T, s portal.Store) {
	ctx := context.Background()
	u := newUser(t, s, "joe")
	mk := func(id string, created time.Time) *portal.Session {
		sess := &portal.Session{ID: []byte(id), UserID: u.ID, Stage: portal.StagePassword, CreatedAt: created,
			LastSeenAt: created, AuthAt: created, IP: "192.0.2.1", UserAgent: "test"}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		return sess
	}
	a := mk("a", t0)
	mk("b", t0.Add(time.Minute))
	mk("c", t0.Add(2*time.Minute))
	if err := s.CreateSession(ctx, &portal.Session{ID: []byte("a"), UserID: u.ID, Stage: portal.StageFull}); err == nil {
		t.Error("duplicate session id accepted")
	}
	got, err := s.Session(ctx, []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != u.ID || got.Stage != portal.StagePassword || !got.CreatedAt.Equal(a.CreatedAt) || !got.AuthAt.Equal(t0) || got.IP != "192.0.2.1" || got.UserAgent != "test" {
		t.Errorf("Session = %+v", got)
	}
	seen := t0.Add(5 * time.Minute)
	if err := s.TouchSession(ctx, []byte("a"), seen); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, []byte("a")); got == nil || !got.LastSeenAt.Equal(seen) {
		t.Errorf("TouchSession did not stick: %+v", got)
	}
	if err := s.DeleteSession(ctx, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, []byte("b")); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("deleted session: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, []byte("b")); err != nil {
		t.Errorf("deleting an absent session: %v", err)
	}
	mk("d", t0)
	if n, err := s.DeleteUserSessions(ctx, u.ID, []byte("a")); err != nil || n != 2 {
		t.Errorf("DeleteUserSessions except a = %d, %v; want 2", n, err)
	}
	if _, err := s.Session(ctx, []byte("a")); err != nil {
		t.Errorf("kept session: %v", err)
	}
	mk("e", t0.Add(-13*time.Hour))
	mk("f", t0.Add(-time.Hour))
	pruneAll(t, s, portal.PruneSessionsIdle, t0.Add(-30*time.Minute), t0)
	pruneAll(t, s, portal.PruneSessionsAbsolute, t0.Add(-12*time.Hour), t0)
	for id, want := range map[string]bool{"a": true, "e": false, "f": false} {
		_, err := s.Session(ctx, []byte(id))
		if (err == nil) != want {
			t.Errorf("after pruning, session %s present = %v, want %v", id, err == nil, want)
		}
	}
	if n, err := s.DeleteUserSessions(ctx, u.ID, nil); err != nil || n != 1 {
		t.Errorf("DeleteUserSessions(nil) = %d, %v; want 1", n, err)
	}
}

// SessionUser is Session and UserByID in one read: the same values,
// every field, and ErrNotFound exactly when Session says so.
func testSessionUser(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe, ann := newUser(t, s, "joe"), newUser(t, s, "ann")
	// Every user column set, so that a column read into the wrong field
	// shows.
	if err := s.SetPendingTOTP(ctx, joe.ID, []byte("sealed key")); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTOTP(ctx, joe.ID, []byte("sealed key"), 1234, nil); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		s.SetUnseenRecovery(ctx, joe.ID, []byte("unseen")),
		s.SetEmailPending(ctx, joe.ID, "joe@example.org"),
		s.ConfirmEmail(ctx, joe.ID, "joe@example.org"),
		s.SetEmailPending(ctx, joe.ID, "joe@example.net"),
		s.SetAdmin(ctx, joe.ID, true),
		s.SetDisabled(ctx, joe.ID, true),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.StartGrace(ctx, joe.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	sessions := []*portal.Session{
		{ID: []byte("joe-1"), UserID: joe.ID, Stage: portal.StagePassword, CreatedAt: t0, LastSeenAt: t0.Add(time.Second), AuthAt: t0.Add(2 * time.Second),
			IP: "192.0.2.1", UserAgent: "test", SetupSkipped: true, CodeAt: t0.Add(3 * time.Second)},
		{ID: []byte("ann-1"), UserID: ann.ID, Stage: portal.StageFull, CreatedAt: t0, LastSeenAt: t0, AuthAt: t0, IP: "2001:db8::1"},
	}
	for _, sess := range sessions {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	same := func(st portal.Store, id string) {
		t.Helper()
		gotS, gotU, err := st.SessionUser(ctx, []byte(id))
		if err != nil {
			t.Fatalf("SessionUser(%s): %v", id, err)
		}
		wantS, err := st.Session(ctx, []byte(id))
		if err != nil {
			t.Fatal(err)
		}
		wantU, err := st.UserByID(ctx, wantS.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotS, wantS) {
			t.Errorf("SessionUser(%s) session\n %+v\nwant (Session)\n %+v", id, gotS, wantS)
		}
		if !reflect.DeepEqual(gotU, wantU) {
			t.Errorf("SessionUser(%s) user\n %+v\nwant (UserByID)\n %+v", id, gotU, wantU)
		}
	}
	same(s, "joe-1")
	same(s, "ann-1")
	if _, u, _ := s.SessionUser(ctx, []byte("joe-1")); u == nil || !u.Disabled || !u.Admin || u.TOTPLastStep != 1234 || u.Email != "joe@example.org" || u.EmailPending != "joe@example.net" {
		t.Errorf("SessionUser(joe-1) user = %+v, want joe as written", u)
	}
	if _, _, err := s.SessionUser(ctx, []byte("nobody")); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("SessionUser of no session: %v, want ErrNotFound", err)
	}
	// Inside a transaction it sees the transaction's own writes.
	err := s.Atomic(ctx, func(tx portal.Store) error {
		if err := tx.CreateSession(ctx, &portal.Session{ID: []byte("ann-2"), UserID: ann.ID, Stage: portal.StagePassword, CreatedAt: t0, LastSeenAt: t0, AuthAt: t0}); err != nil {
			return err
		}
		same(tx, "ann-2")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, []byte("ann-2")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, []byte("ann-2")); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("SessionUser of a deleted session: %v, want ErrNotFound", err)
	}
	if err := s.DeleteUser(ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, []byte("ann-1")); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("SessionUser of a deleted user's session: %v, want ErrNotFound", err)
	}
}

func testAttempts(t *testing.T, s portal.Store) {
	ctx := context.Background()
	delay := func(n int) time.Duration {
		if n < 3 {
			return 0
		}
		return time.Duration(n) * time.Minute
	}
	now := t0
	for i := 1; i <= 3; i++ {
		a, err := s.TakeAttempt(ctx, "k", now, 0, delay)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if a.Failures != i || !a.LockedUntil.Equal(now.Add(delay(i))) {
			t.Errorf("attempt %d = %+v", i, a)
		}
	}
	// A zero delay stores no lock: an attempt with an earlier clock read
	// (another request, another instance) is not refused.
	if _, err := s.TakeAttempt(ctx, "early", now, 0, delay); err != nil {
		t.Fatal(err)
	}
	if a, err := s.TakeAttempt(ctx, "early", now.Add(-time.Second), 0, delay); err != nil || a.Failures != 2 {
		t.Errorf("attempt with an earlier clock after a zero delay: %+v, %v", a, err)
	}
	_, err := s.TakeAttempt(ctx, "k", now.Add(time.Minute), 0, delay)
	var locked *portal.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, portal.ErrLocked) || !locked.Until.Equal(now.Add(3*time.Minute)) {
		t.Fatalf("attempt while locked: %v, want LockedError until +3m", err)
	}
	if a, err := s.TakeAttempt(ctx, "other", now, 0, delay); err != nil || a.Failures != 1 {
		t.Errorf("independent key: %+v, %v", a, err)
	}
	now = now.Add(3 * time.Minute)
	a, err := s.TakeAttempt(ctx, "k", now, 0, delay)
	if err != nil || a.Failures != 4 || !a.LockedUntil.Equal(now.Add(4*time.Minute)) {
		t.Errorf("attempt after the lock = %+v, %v; want 4 failures locked 4m", a, err)
	}
	if err := s.RefundAttempt(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(4 * time.Minute)
	if a, err := s.TakeAttempt(ctx, "k", now, 0, delay); err != nil || a.Failures != 4 {
		t.Errorf("after refund = %+v, %v; want 4 failures", a, err)
	}
	if err := s.ResetAttempts(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if a, err := s.TakeAttempt(ctx, "k", now, 0, delay); err != nil || a.Failures != 1 {
		t.Errorf("after reset = %+v, %v; want 1 failure", a, err)
	}
	if err := s.RefundAttempt(ctx, "absent"); err != nil {
		t.Errorf("refund of an absent key: %v", err)
	}
}

func testAttemptsConcurrent(t *testing.T, s portal.Store) {
	delay := func(n int) time.Duration {
		if n < 5 {
			return 0
		}
		return time.Hour
	}
	ok := concurrently(t, 40, func() error {
		_, err := s.TakeAttempt(context.Background(), "k", t0, 0, delay)
		return err
	}, portal.ErrLocked)
	if ok != 5 {
		t.Errorf("%d of 40 concurrent attempts were let through, want 5", ok)
	}
}

func testEvents(t *testing.T, s portal.Store) {
	ctx := context.Background()
	u := newUser(t, s, "joe")
	other := newUser(t, s, "ann")
	kinds := []portal.EventKind{portal.EventSignIn, portal.EventCodeFailed, portal.EventTwoFactorOn}
	for i, k := range kinds {
		e := &portal.Event{UserID: u.ID, Kind: k, IP: "198.51.100.7", At: t0.Add(time.Duration(i) * time.Second)}
		if err := s.AddEvent(ctx, e); err != nil || e.ID == 0 {
			t.Fatalf("AddEvent: %v (id %d)", err, e.ID)
		}
	}
	if err := s.AddEvent(ctx, &portal.Event{UserID: other.ID, Kind: portal.EventSignIn, IP: "x", At: t0}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(ctx, u.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != portal.EventTwoFactorOn || got[1].Kind != portal.EventCodeFailed ||
		got[0].IP != "198.51.100.7" || !got[0].At.Equal(t0.Add(2*time.Second)) || got[0].UserID != u.ID {
		t.Errorf("Events = %+v", got)
	}
}

func testDeleteCascades(t *testing.T, s portal.Store) {
	ctx := context.Background()
	u := newUser(t, s, "joe")
	if err := s.CreateSession(ctx, &portal.Session{ID: []byte("s"), UserID: u.ID, Stage: portal.StageFull, CreatedAt: t0, LastSeenAt: t0, AuthAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, hashes("a", 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvent(ctx, &portal.Event{UserID: u.ID, Kind: portal.EventSignIn, At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, []byte("s")); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("session of a deleted user: %v", err)
	}
	if ev, err := s.Events(ctx, u.ID, 10); err != nil || len(ev) != 0 {
		t.Errorf("events of a deleted user: %v, %v", ev, err)
	}
	if n, err := s.CountRecoveryCodes(ctx, u.ID); err != nil || n != 0 {
		t.Errorf("recovery codes of a deleted user: %d, %v", n, err)
	}
}

func testAtomicCommits(t *testing.T, s portal.Store) {
	ctx := context.Background()
	u := newUser(t, s, "joe")
	old := &portal.Session{ID: []byte("old-session-id-0123456789abcdef0"), UserID: u.ID, Stage: portal.StagePassword,
		CreatedAt: t0, LastSeenAt: t0, AuthAt: t0, IP: "x", UserAgent: "ua"}
	if err := s.CreateSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	err := s.Atomic(ctx, func(tx portal.Store) error {
		if _, err := tx.TakeAttempt(ctx, "k", t0, 0, func(int) time.Duration { return 0 }); err != nil {
			return err
		}
		if err := tx.ConsumeTOTPStep(ctx, u.ID, 700); err != nil {
			return err
		}
		// Reads inside see the writes inside.
		if got, err := tx.UserByID(ctx, u.ID); err != nil || got.TOTPLastStep != 700 {
			return fmt.Errorf("read inside the transaction: %+v, %v", got, err)
		}
		if err := tx.ResetAttempts(ctx, "k"); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, &portal.Event{UserID: u.ID, Kind: portal.EventSignIn, IP: "x", At: t0}); err != nil {
			return err
		}
		ns := *old
		ns.ID, ns.Stage = []byte("new-session-id-0123456789abcdef0"), portal.StageFull
		if err := tx.CreateSession(ctx, &ns); err != nil {
			return err
		}
		if err := tx.DeleteSession(ctx, old.ID); err != nil {
			return err
		}
		// Methods with transactions of their own join this one.
		return tx.Atomic(ctx, func(inner portal.Store) error {
			return inner.ReplaceRecoveryCodes(ctx, u.ID, hashes("a", 3))
		})
	})
	if err != nil {
		t.Fatalf("Atomic: %v", err)
	}
	if got := get(t, s, u.ID).TOTPLastStep; got != 700 {
		t.Errorf("last step = %d, want 700", got)
	}
	if err := s.ConsumeTOTPStep(ctx, u.ID, 700); !errors.Is(err, portal.ErrReplay) {
		t.Errorf("step 700 again after the commit: %v, want ErrReplay", err)
	}
	if a, err := s.TakeAttempt(ctx, "k", t0, 0, func(int) time.Duration { return 0 }); err != nil || a.Failures != 1 {
		t.Errorf("after a committed reset: %+v, %v; want 1 failure", a, err)
	}
	if ev, err := s.Events(ctx, u.ID, 10); err != nil || len(ev) != 1 {
		t.Errorf("events = %v, %v; want 1", ev, err)
	}
	if _, err := s.Session(ctx, old.ID); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("old session: %v, want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, []byte("new-session-id-0123456789abcdef0")); err != nil {
		t.Errorf("new session: %v", err)
	}
	if n, err := s.CountRecoveryCodes(ctx, u.ID); err != nil || n != 3 {
		t.Errorf("recovery codes = %d, %v; want 3", n, err)
	}
}

func testAtomicRollsBack(t *testing.T, s portal.Store) {
	ctx := context.Background()
	u := newUser(t, s, "joe")
	refused := errors.New("refused by the caller")
	err := s.Atomic(ctx, func(tx portal.Store) error {
		for range 3 {
			if _, err := tx.TakeAttempt(ctx, "k", t0, 0, func(int) time.Duration { return 0 }); err != nil {
				return err
			}
		}
		if err := tx.ConsumeTOTPStep(ctx, u.ID, 800); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, &portal.Event{UserID: u.ID, Kind: portal.EventCodeFailed, IP: "x", At: t0}); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, u.ID, hashes("b", 2)); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Atomic = %v, want fn's error", err)
	}
	if got := get(t, s, u.ID).TOTPLastStep; got != 0 {
		t.Errorf("last step = %d after a rollback, want 0", got)
	}
	if a, err := s.TakeAttempt(ctx, "k", t0, 0, func(int) time.Duration { return 0 }); err != nil || a.Failures != 1 {
		t.Errorf("after a rollback: %+v, %v; want 1 failure", a, err)
	}
	if ev, err := s.Events(ctx, u.ID, 10); err != nil || len(ev) != 0 {
		t.Errorf("events = %v, %v; want none", ev, err)
	}
	if n, err := s.CountRecoveryCodes(ctx, u.ID); err != nil || n != 0 {
		t.Errorf("recovery codes = %d, %v; want 0", n, err)
	}
}

// testAtomicSerialises: a counter taken inside Atomic stays held to the
// commit, so "take, then reset" transactions never see each other's
// take. Were they interleaved (take, take, reset, reset), the second take
// would find one failure and lock.
func testAtomicSerialises(t *testing.T, s portal.Store) {
	ctx := context.Background()
	u := newUser(t, s, "joe")
	delay := func(n int) time.Duration {
		if n < 2 {
			return 0
		}
		return time.Hour
	}
	var mu sync.Mutex
	step := uint64(1000)
	ok := concurrently(t, 30, func() error {
		return s.Atomic(ctx, func(tx portal.Store) error {
			if _, err := tx.TakeAttempt(ctx, "k", t0, 0, delay); err != nil {
				return err
			}
			mu.Lock()
			step++
			st := step
			mu.Unlock()
			if err := tx.ConsumeTOTPStep(ctx, u.ID, st); err != nil && !errors.Is(err, portal.ErrReplay) {
				return err
			}
			if err := tx.AddEvent(ctx, &portal.Event{UserID: u.ID, Kind: portal.EventSignIn, IP: "x", At: t0}); err != nil {
				return err
			}
			return tx.ResetAttempts(ctx, "k")
		})
	}, portal.ErrLocked)
	if ok != 30 {
		t.Errorf("%d of 30 concurrent take-and-reset transactions passed, want all", ok)
	}
	if ev, err := s.Events(ctx, u.ID, 100); err != nil || len(ev) != 30 {
		t.Errorf("%d events, %v; want 30", len(ev), err)
	}
}

func testSetPassword(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	ann := newUser(t, s, "ann")
	if err := s.SetPassword(ctx, joe.ID, "$argon2id$new"); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if got := get(t, s, joe.ID).PasswordHash; got != "$argon2id$new" {
		t.Errorf("hash after SetPassword = %q", got)
	}
	if got := get(t, s, ann.ID).PasswordHash; got != ann.PasswordHash {
		t.Errorf("SetPassword changed another user's hash: %q", got)
	}
	if err := s.SetPassword(ctx, 999999, "x"); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("SetPassword of no user: %v, want ErrNotFound", err)
	}
	if err := s.SetUnseenRecovery(ctx, joe.ID, []byte("sealed codes")); err != nil {
		t.Fatalf("SetUnseenRecovery: %v", err)
	}
	if got := get(t, s, joe.ID).RecoveryUnseen; string(got) != "sealed codes" {
		t.Errorf("RecoveryUnseen = %q", got)
	}
	if got := get(t, s, ann.ID).RecoveryUnseen; got != nil {
		t.Errorf("another user's RecoveryUnseen = %q", got)
	}
	if err := s.SetUnseenRecovery(ctx, joe.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, joe.ID).RecoveryUnseen; got != nil {
		t.Errorf("RecoveryUnseen after clearing = %q", got)
	}
}

// Failures older than the window stop counting; a lock is never cut short
// by the window; a refund drops the lock.
func testAttemptsDecay(t *testing.T, s portal.Store) {
	ctx := context.Background()
	delay := func(n int) time.Duration {
		if n >= 3 {
			return time.Minute
		}
		return 0
	}
	const window = 10 * time.Minute
	now := t0
	for i := 1; i <= 2; i++ {
		if a, err := s.TakeAttempt(ctx, "k", now, window, delay); err != nil || a.Failures != i {
			t.Fatalf("take %d: %+v %v", i, a, err)
		}
	}
	// Just inside the window: still counts, and locks.
	now = now.Add(window)
	a, err := s.TakeAttempt(ctx, "k", now, window, delay)
	if err != nil || a.Failures != 3 || !a.LockedUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("third take inside the window: %+v %v", a, err)
	}
	if _, err := s.TakeAttempt(ctx, "k", now.Add(30*time.Second), window, delay); !errors.Is(err, portal.ErrLocked) {
		t.Errorf("take while locked: %v, want ErrLocked", err)
	}
	// Past the window since the last attempt: the failures decayed.
	now = now.Add(window + time.Second)
	if a, err := s.TakeAttempt(ctx, "k", now, window, delay); err != nil || a.Failures != 1 {
		t.Errorf("take after the window: %+v %v, want 1 failure", a, err)
	}
	// Window 0: never decays.
	if _, err := s.TakeAttempt(ctx, "forever", t0, 0, delay); err != nil {
		t.Fatal(err)
	}
	if a, err := s.TakeAttempt(ctx, "forever", t0.Add(1000*time.Hour), 0, delay); err != nil || a.Failures != 2 {
		t.Errorf("window 0: %+v %v, want 2 failures", a, err)
	}
	// A refund (a right credential) takes the attempt back and drops the
	// lock that attempt set.
	for range 2 {
		if _, err := s.TakeAttempt(ctx, "ip", now, window, delay); err != nil {
			t.Fatal(err)
		}
	}
	if a, err := s.TakeAttempt(ctx, "ip", now, window, delay); err != nil || !a.LockedUntil.After(now) {
		t.Fatalf("third take: %+v %v, want a lock", a, err)
	}
	if err := s.RefundAttempt(ctx, "ip"); err != nil {
		t.Fatal(err)
	}
	if a, err := s.TakeAttempt(ctx, "ip", now, window, delay); err != nil || a.Failures != 3 {
		t.Errorf("take after a refund: %+v %v, want no lock and 3 failures", a, err)
	}
}

// Counters are bounded: the stale ones are pruned, locked ones kept; a
// prefix delete takes exactly the keys under it.
func testAttemptsPruned(t *testing.T, s portal.Store) {
	ctx := context.Background()
	const n = 2000
	none := func(int) time.Duration { return 0 }
	for i := range n {
		if _, err := s.TakeAttempt(ctx, fmt.Sprintf("pw:user:guess%05d", i), t0, time.Hour, none); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.TakeAttempt(ctx, "locked", t0, time.Hour, func(int) time.Duration { return 48 * time.Hour }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeAttempt(ctx, "recent", t0.Add(2*time.Hour), time.Hour, none); err != nil {
		t.Fatal(err)
	}
	if c, err := s.CountAttempts(ctx); err != nil || c != n+2 {
		t.Fatalf("CountAttempts = %d, %v; want %d", c, err, n+2)
	}
	now := t0.Add(2 * time.Hour)
	if pruned := pruneAll(t, s, portal.PruneAttempts, now.Add(-time.Hour), now); pruned != n {
		t.Errorf("pruned %d attempts, want %d", pruned, n)
	}
	if c, err := s.CountAttempts(ctx); err != nil || c != 2 {
		t.Errorf("CountAttempts after pruning = %d, %v; want 2 (the locked and the recent one)", c, err)
	}
	for _, k := range []string{"pw:device:1:a", "pw:device:1:b", "pw:device:12:a", "pw:device:1_x"} {
		if _, err := s.TakeAttempt(ctx, k, now, time.Hour, none); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAttemptsWithPrefix(ctx, "pw:device:1:"); err != nil {
		t.Fatal(err)
	}
	if c, err := s.CountAttempts(ctx); err != nil || c != 4 {
		t.Errorf("after deleting prefix pw:device:1: %d counters, %v; want 4 (12:a and 1_x stay)", c, err)
	}
}

// testAttemptsBoundedAtScale is issue 13's "100,000 distinct failing
// usernames and addresses": each fails once (as a spray of guesses from
// a botnet would), the clock moves past the window, and pruning brings
// the attempts table back to the counters that still matter (locked, or
// recent), counted with SQL.
func testAttemptsBoundedAtScale(t *testing.T, s portal.Store) {
	ctx := context.Background()
	const (
		n      = 100_000
		window = 24 * time.Hour
		batch  = 2_000
	)
	// The production shape of a policy: no delay for the first failures,
	// a long lock at the hard limit.
	delay := func(f int) time.Duration {
		if f >= 3 {
			return 48 * time.Hour
		}
		return 0
	}
	keys := make([]string, 0, 2*n)
	for i := range n {
		keys = append(keys, fmt.Sprintf("pw:user:guess%06d", i))
		// 100,000 distinct IPv4 addresses in 10.0.0.0/8, and as many
		// IPv6 /64s would count the same: one row per key.
		keys = append(keys, fmt.Sprintf("pw:ip:10.%d.%d.%d", i>>16, (i>>8)&0xff, i&0xff))
	}
	// One transaction per batch, a few batches at once: the attempts go
	// through TakeAttempt itself, as the service counts them.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	next := make(chan []string)
	for range 4 {
		wg.Go(func() {
			for b := range next {
				err := s.Atomic(ctx, func(tx portal.Store) error {
					for _, k := range b {
						if _, err := tx.TakeAttempt(ctx, k, t0, window, delay); err != nil {
							return fmt.Errorf("TakeAttempt(%s): %w", k, err)
						}
					}
					return nil
				})
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := 0; i < len(keys); i += batch {
		next <- keys[i:min(i+batch, len(keys))]
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	// Counters that must outlive the prune: one locked past it (three
	// failures), one counted after the window moved on.
	for range 3 {
		if _, err := s.TakeAttempt(ctx, "pw:user:locked", t0, window, delay); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(window + time.Minute)
	if _, err := s.TakeAttempt(ctx, "pw:ip:192.0.2.1", now, window, delay); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d attempts counted in %v", len(keys), time.Since(start).Round(time.Millisecond))
	if got := countRows(t, s, "attempts"); got != 2*n+2 {
		t.Fatalf("%d attempt rows after %d failing usernames and addresses, want %d", got, n, 2*n+2)
	}
	// An old failure no longer counts, even before the prune.
	if a, err := s.TakeAttempt(ctx, "pw:user:guess000007", now, window, delay); err != nil || a.Failures != 1 {
		t.Errorf("a failure older than the window still counts: %+v, %v", a, err)
	}
	start = time.Now()
	pruned := pruneAll(t, s, portal.PruneAttempts, now.Add(-window), now)
	t.Logf("%d counters pruned in %v", pruned, time.Since(start).Round(time.Millisecond))
	// Bound: the locked counter, the recent one and the guess retried now.
	const bound = 3
	if got := countRows(t, s, "attempts"); got != bound || pruned != 2*n-1 {
		t.Errorf("after pruning: %d attempt rows (pruned %d), want %d (pruned %d)", got, pruned, bound, 2*n-1)
	}
	// The lock outlives the prune, and when it ends the next prune takes it.
	if _, err := s.TakeAttempt(ctx, "pw:user:locked", now, window, delay); !errors.Is(err, portal.ErrLocked) {
		t.Errorf("the locked counter after pruning: %v, want ErrLocked", err)
	}
	later := t0.Add(49 * time.Hour)
	pruneAll(t, s, portal.PruneAttempts, later.Add(-window), later)
	if got := countRows(t, s, "attempts"); got != 0 {
		t.Errorf("after the lock and the window ended: %d attempt rows, want 0", got)
	}
}

func testRememberedDevices(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe, ann := newUser(t, s, "joe"), newUser(t, s, "ann")
	add := func(u *portal.User, token string, at time.Time) *portal.RememberedDevice {
		t.Helper()
		d := &portal.RememberedDevice{UserID: u.ID, TokenHash: portal.HashToken(token), Browser: "Firefox on Linux", CreatedAt: at, LastUsedAt: at, IP: "192.0.2.1"}
		if err := s.AddRememberedDevice(ctx, d); err != nil {
			t.Fatalf("AddRememberedDevice: %v", err)
		}
		if d.ID == 0 {
			t.Fatal("AddRememberedDevice left ID 0")
		}
		return d
	}
	a := add(joe, "token-a", t0)
	b := add(joe, "token-b", t0.Add(time.Hour))
	c := add(ann, "token-c", t0)
	if err := s.AddRememberedDevice(ctx, &portal.RememberedDevice{UserID: ann.ID, TokenHash: portal.HashToken("token-a"), CreatedAt: t0, LastUsedAt: t0}); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("a second device with the same token hash: %v, want ErrConflict", err)
	}
	got, err := s.RememberedDevice(ctx, joe.ID, portal.HashToken("token-a"))
	if err != nil {
		t.Fatalf("RememberedDevice: %v", err)
	}
	if got.ID != a.ID || got.UserID != joe.ID || got.Browser != "Firefox on Linux" || got.IP != "192.0.2.1" ||
		!got.CreatedAt.Equal(t0) || !got.LastUsedAt.Equal(t0) || !bytes.Equal(got.TokenHash, portal.HashToken("token-a")) {
		t.Errorf("RememberedDevice = %+v, want %+v", got, a)
	}
	// Another account's token is not found under this account.
	if _, err := s.RememberedDevice(ctx, joe.ID, portal.HashToken("token-c")); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("ann's device under joe: %v, want ErrNotFound", err)
	}
	if _, err := s.RememberedDevice(ctx, joe.ID, portal.HashToken("forged")); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}
	later := t0.Add(3 * time.Hour)
	if err := s.TouchRememberedDevice(ctx, a.ID, later, "198.51.100.7"); err != nil {
		t.Fatalf("TouchRememberedDevice: %v", err)
	}
	list, err := s.RememberedDevices(ctx, joe.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("RememberedDevices = %v, %v; want 2", list, err)
	}
	if list[0].ID != a.ID || !list[0].LastUsedAt.Equal(later) || list[0].IP != "198.51.100.7" || !list[0].CreatedAt.Equal(t0) || list[1].ID != b.ID {
		t.Errorf("RememberedDevices: want a (touched) then b, got %+v, %+v", list[0], list[1])
	}
	// Deleting another account's device by id does nothing.
	if n, err := s.DeleteRememberedDevices(ctx, joe.ID, c.ID); err != nil || n != 0 {
		t.Errorf("deleting ann's device as joe: %d, %v; want 0", n, err)
	}
	if n, err := s.DeleteRememberedDevices(ctx, joe.ID, a.ID); err != nil || n != 1 {
		t.Errorf("DeleteRememberedDevices(a): %d, %v; want 1", n, err)
	}
	if _, err := s.RememberedDevice(ctx, joe.ID, portal.HashToken("token-a")); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("deleted device: %v, want ErrNotFound", err)
	}
	add(joe, "token-d", t0.Add(2*time.Hour))
	if n, err := s.DeleteRememberedDevices(ctx, joe.ID, 0); err != nil || n != 2 {
		t.Errorf("DeleteRememberedDevices(all): %d, %v; want 2", n, err)
	}
	if n := countRows(t, s, "remembered_devices"); n != 1 {
		t.Errorf("%d rows left, want ann's 1", n)
	}
	// Expiry by creation time; the user's cascade.
	add(ann, "token-e", t0.Add(48*time.Hour))
	pruneAll(t, s, portal.PruneRememberedDevices, t0.Add(time.Hour), t0.Add(time.Hour))
	if list, err := s.RememberedDevices(ctx, ann.ID); err != nil || len(list) != 1 || !list[0].CreatedAt.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("after expiry: %v, %v; want the newer device only", list, err)
	}
	if err := s.DeleteUser(ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "remembered_devices"); n != 0 {
		t.Errorf("%d devices of a deleted user left", n)
	}
}

func testRememberedRollBack(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	boom := errors.New("boom")
	err := s.Atomic(ctx, func(tx portal.Store) error {
		if err := tx.AddRememberedDevice(ctx, &portal.RememberedDevice{UserID: joe.ID, TokenHash: portal.HashToken("x"), CreatedAt: t0, LastUsedAt: t0}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Atomic: %v", err)
	}
	if n := countRows(t, s, "remembered_devices"); n != 0 {
		t.Errorf("a rolled-back device was kept (%d rows)", n)
	}
}

func testGrace(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	if !joe.GraceFrom.IsZero() || !get(t, s, joe.ID).GraceFrom.IsZero() {
		t.Fatal("a new user without GraceFrom has one")
	}
	from, err := s.StartGrace(ctx, joe.ID, t0.Add(time.Hour))
	if err != nil || !from.Equal(t0.Add(time.Hour)) {
		t.Fatalf("StartGrace = %v, %v", from, err)
	}
	// Only the first start counts.
	if from, err = s.StartGrace(ctx, joe.ID, t0.Add(5*time.Hour)); err != nil || !from.Equal(t0.Add(time.Hour)) {
		t.Errorf("second StartGrace = %v, %v; want the first time", from, err)
	}
	if got := get(t, s, joe.ID).GraceFrom; !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("GraceFrom = %v", got)
	}
	ann := &portal.User{Username: "ann", DisplayName: "Ann", PasswordHash: "h", CreatedAt: t0, GraceFrom: t0}
	if err := s.CreateUser(ctx, ann); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, ann.ID).GraceFrom; !got.Equal(t0) {
		t.Errorf("GraceFrom of a user created with one = %v", got)
	}
	if _, err := s.StartGrace(ctx, 999999, t0); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("StartGrace(no user): %v, want ErrNotFound", err)
	}
}

func testGraceConcurrent(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	var mu sync.Mutex
	seen := map[time.Time]bool{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, err := s.StartGrace(ctx, joe.ID, t0.Add(time.Duration(i)*time.Minute))
			if err != nil {
				t.Errorf("StartGrace: %v", err)
				return
			}
			mu.Lock()
			seen[from.UTC()] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != 1 {
		t.Errorf("concurrent starts saw %d different grace starts, want 1: %v", len(seen), seen)
	}
}

func testSkipSetup(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	sess := &portal.Session{ID: []byte("s1"), UserID: joe.ID, Stage: portal.StageFull, CreatedAt: t0, LastSeenAt: t0, AuthAt: t0}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, sess.ID); err != nil || got.SetupSkipped {
		t.Fatalf("new session: %+v, %v; want SetupSkipped false", got, err)
	}
	if err := s.SkipSetup(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, sess.ID); err != nil || !got.SetupSkipped {
		t.Errorf("after SkipSetup: %+v, %v", got, err)
	}
	skipped := &portal.Session{ID: []byte("s2"), UserID: joe.ID, Stage: portal.StageFull, CreatedAt: t0, LastSeenAt: t0, AuthAt: t0, SetupSkipped: true}
	if err := s.CreateSession(ctx, skipped); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, skipped.ID); err != nil || !got.SetupSkipped {
		t.Errorf("session created skipped: %+v, %v", got, err)
	}
	if err := s.SkipSetup(ctx, []byte("absent")); err != nil {
		t.Errorf("SkipSetup of no session: %v", err)
	}
}

func testEmail(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	if u := get(t, s, joe.ID); u.Email != "" || u.EmailPending != "" {
		t.Fatalf("a new user has e-mail %q / %q", u.Email, u.EmailPending)
	}
	ann := &portal.User{Username: "ann", DisplayName: "Ann", PasswordHash: "h", CreatedAt: t0, EmailPending: "ann@example.com"}
	if err := s.CreateUser(ctx, ann); err != nil {
		t.Fatal(err)
	}
	if u := get(t, s, ann.ID); u.Email != "" || u.EmailPending != "ann@example.com" {
		t.Errorf("created with a pending address: %q / %q", u.Email, u.EmailPending)
	}
	if err := s.SetEmailPending(ctx, joe.ID, "joe@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmEmail(ctx, joe.ID, "other@example.com"); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("confirming an address that is not the pending one: %v, want ErrConflict", err)
	}
	if err := s.ConfirmEmail(ctx, joe.ID, "joe@example.com"); err != nil {
		t.Fatalf("ConfirmEmail: %v", err)
	}
	if u := get(t, s, joe.ID); u.Email != "joe@example.com" || u.EmailPending != "" {
		t.Errorf("after confirming: %q / %q", u.Email, u.EmailPending)
	}
	if err := s.ConfirmEmail(ctx, joe.ID, "joe@example.com"); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("confirming twice: %v, want ErrConflict", err)
	}
	// A new pending address leaves the confirmed one in use until confirmed.
	if err := s.SetEmailPending(ctx, joe.ID, "joe@new.example"); err != nil {
		t.Fatal(err)
	}
	if u := get(t, s, joe.ID); u.Email != "joe@example.com" || u.EmailPending != "joe@new.example" {
		t.Errorf("while a change is pending: %q / %q", u.Email, u.EmailPending)
	}
	if err := s.SetEmailPending(ctx, 999999, "x@example.com"); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("SetEmailPending(no user): %v, want ErrNotFound", err)
	}
}

func testMailTokens(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe, ann := newUser(t, s, "joe"), newUser(t, s, "ann")
	add := func(u *portal.User, token, purpose string, expires time.Time) {
		t.Helper()
		if err := s.AddMailToken(ctx, &portal.MailToken{Hash: portal.HashToken(token), UserID: u.ID, Purpose: purpose,
			Address: u.Username + "@example.com", CreatedAt: t0, ExpiresAt: expires}); err != nil {
			t.Fatalf("AddMailToken: %v", err)
		}
	}
	add(joe, "a", portal.TokenResetPassword, t0.Add(30*time.Minute))
	if err := s.AddMailToken(ctx, &portal.MailToken{Hash: portal.HashToken("a"), UserID: ann.ID, Purpose: portal.TokenResetPassword, CreatedAt: t0, ExpiresAt: t0}); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("a second token with the same hash: %v, want ErrConflict", err)
	}
	// Reading does not use it up; not after its expiry; not for another purpose.
	for range 2 {
		if got, err := s.MailToken(ctx, portal.HashToken("a"), portal.TokenResetPassword, t0.Add(29*time.Minute)); err != nil || got.UserID != joe.ID || got.Address != "joe@example.com" {
			t.Errorf("MailToken = %+v, %v", got, err)
		}
	}
	if _, err := s.MailToken(ctx, portal.HashToken("a"), portal.TokenResetPassword, t0.Add(30*time.Minute)); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("MailToken expired: %v, want ErrNotFound", err)
	}
	if _, err := s.MailToken(ctx, portal.HashToken("a"), portal.TokenConfirmEmail, t0); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("MailToken wrong purpose: %v, want ErrNotFound", err)
	}
	// The wrong purpose finds nothing and keeps the token.
	if _, err := s.TakeMailToken(ctx, portal.HashToken("a"), portal.TokenConfirmEmail, t0); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("wrong purpose: %v, want ErrNotFound", err)
	}
	// Expired at its expiry.
	if _, err := s.TakeMailToken(ctx, portal.HashToken("a"), portal.TokenResetPassword, t0.Add(30*time.Minute)); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("expired: %v, want ErrNotFound", err)
	}
	got, err := s.TakeMailToken(ctx, portal.HashToken("a"), portal.TokenResetPassword, t0.Add(29*time.Minute))
	if err != nil {
		t.Fatalf("TakeMailToken: %v", err)
	}
	if got.UserID != joe.ID || got.Address != "joe@example.com" || !got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("TakeMailToken = %+v", got)
	}
	if _, err := s.TakeMailToken(ctx, portal.HashToken("a"), portal.TokenResetPassword, t0); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("second use: %v, want ErrNotFound", err)
	}
	// Single use under concurrency: one taker wins.
	add(joe, "b", portal.TokenConfirmEmail, t0.Add(time.Hour))
	won := concurrently(t, 8, func() error {
		_, err := s.TakeMailToken(ctx, portal.HashToken("b"), portal.TokenConfirmEmail, t0)
		return err
	}, portal.ErrNotFound)
	if won != 1 {
		t.Errorf("%d concurrent takes of one token succeeded, want 1", won)
	}
	// DeleteMailTokens: the user's of one purpose, and every expired one.
	add(joe, "c", portal.TokenResetPassword, t0.Add(time.Hour))
	add(joe, "d", portal.TokenConfirmEmail, t0.Add(time.Hour))
	add(ann, "e", portal.TokenResetPassword, t0.Add(time.Hour))
	add(ann, "f", portal.TokenConfirmEmail, t0.Add(time.Minute))
	if err := s.DeleteMailTokens(ctx, joe.ID, portal.TokenResetPassword, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "mail_tokens"); n != 2 {
		t.Errorf("%d tokens left, want joe's confirmation and ann's reset", n)
	}
	if err := s.DeleteUser(ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "mail_tokens"); n != 1 {
		t.Errorf("%d tokens left after deleting ann, want 1", n)
	}
}

func newMail(t *testing.T, s portal.Store, id string, at time.Time) *portal.Mail {
	t.Helper()
	m := &portal.Mail{MessageID: id + "@twofold.test", To: "joe@example.com", Subject: "Subject " + id,
		Text: "text " + id, HTML: "<p>html " + id + "</p>", CreatedAt: at}
	if err := s.EnqueueMail(context.Background(), m); err != nil {
		t.Fatalf("EnqueueMail: %v", err)
	}
	if m.ID == 0 {
		t.Fatal("EnqueueMail left ID 0")
	}
	return m
}

func testOutbox(t *testing.T, s portal.Store) {
	ctx := context.Background()
	a := newMail(t, s, "a", t0)
	b := newMail(t, s, "b", t0.Add(time.Second))
	if err := s.EnqueueMail(ctx, &portal.Mail{MessageID: "a@twofold.test", To: "x@example.com", CreatedAt: t0}); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("a second message with one Message-ID: %v, want ErrConflict", err)
	}
	got, err := s.OutboxMail(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageID != a.MessageID || got.To != a.To || got.Subject != a.Subject || got.Text != a.Text || got.HTML != a.HTML ||
		!got.CreatedAt.Equal(t0) || !got.NextAttemptAt.Equal(t0) || got.Attempts != 0 || !got.SentAt.IsZero() || !got.LeaseUntil.IsZero() {
		t.Errorf("OutboxMail = %+v", got)
	}
	// Not due before its time.
	if ms, err := s.ClaimMail(ctx, t0.Add(-time.Second), time.Minute, 10); err != nil || len(ms) != 0 {
		t.Errorf("claim before due: %d, %v", len(ms), err)
	}
	ms, err := s.ClaimMail(ctx, t0.Add(time.Second), time.Minute, 1)
	if err != nil || len(ms) != 1 || ms[0].ID != a.ID || ms[0].Attempts != 1 || !ms[0].LeaseUntil.Equal(t0.Add(time.Second+time.Minute)) {
		t.Fatalf("ClaimMail(limit 1) = %v, %v; want a, leased, one attempt", ms, err)
	}
	// A leased message is not claimed again until its lease ends.
	ms, err = s.ClaimMail(ctx, t0.Add(2*time.Second), time.Minute, 10)
	if err != nil || len(ms) != 1 || ms[0].ID != b.ID {
		t.Fatalf("second claim = %v, %v; want b only", ms, err)
	}
	if ms, err := s.ClaimMail(ctx, t0.Add(30*time.Second), time.Minute, 10); err != nil || len(ms) != 0 {
		t.Errorf("claim while leased: %d, %v", len(ms), err)
	}
	// The lease of a sender that died runs out: another one claims it.
	ms, err = s.ClaimMail(ctx, t0.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(ms) != 2 || ms[0].Attempts != 2 {
		t.Fatalf("claim after the lease = %v, %v; want both, second attempt", ms, err)
	}
	if err := s.MarkMailSent(ctx, a.ID, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryMail(ctx, b.ID, t0.Add(10*time.Minute), "connection refused"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.OutboxMail(ctx, b.ID); got.LastError != "connection refused" || !got.LeaseUntil.IsZero() || !got.NextAttemptAt.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("after RetryMail: %+v", got)
	}
	// Sent is never claimed again; the retry waits for its time.
	if ms, err := s.ClaimMail(ctx, t0.Add(9*time.Minute), time.Minute, 10); err != nil || len(ms) != 0 {
		t.Errorf("claim before the retry: %d, %v", len(ms), err)
	}
	ms, err = s.ClaimMail(ctx, t0.Add(10*time.Minute), time.Minute, 10)
	if err != nil || len(ms) != 1 || ms[0].ID != b.ID || ms[0].Attempts != 3 {
		t.Fatalf("claim at the retry = %v, %v", ms, err)
	}
	if got, _ := s.OutboxMail(ctx, a.ID); !got.SentAt.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("SentAt = %v", got.SentAt)
	}
	// A retry after the send (a late sender) does not bring it back.
	if err := s.MarkMailSent(ctx, b.ID, t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryMail(ctx, b.ID, t0, "late"); err != nil {
		t.Fatal(err)
	}
	if ms, err := s.ClaimMail(ctx, t0.Add(time.Hour), time.Minute, 10); err != nil || len(ms) != 0 {
		t.Errorf("claim after everything was sent: %d, %v", len(ms), err)
	}
	// Pruning: sent messages before the time only, never unsent ones.
	newMail(t, s, "c", t0)
	if n := pruneAll(t, s, portal.PruneSentMail, t0.Add(5*time.Minute), t0.Add(5*time.Minute)); n != 1 {
		t.Errorf("pruned %d sent messages, want a only", n)
	}
	if n := pruneAll(t, s, portal.PruneSentMail, t0.Add(24*time.Hour), t0.Add(24*time.Hour)); n != 1 {
		t.Errorf("pruned %d sent messages, want b only", n)
	}
	if n := countRows(t, s, "outbox"); n != 1 {
		t.Errorf("%d outbox rows left, want the unsent c", n)
	}
}

func testOutboxRollBack(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	boom := errors.New("boom")
	err := s.Atomic(ctx, func(tx portal.Store) error {
		if err := tx.SetEmailPending(ctx, joe.ID, "joe@example.com"); err != nil {
			return err
		}
		if err := tx.EnqueueMail(ctx, &portal.Mail{MessageID: "x@twofold.test", To: "joe@example.com", CreatedAt: t0}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Atomic: %v", err)
	}
	if n := countRows(t, s, "outbox"); n != 0 {
		t.Errorf("a rolled-back message was kept (%d rows)", n)
	}
	if get(t, s, joe.ID).EmailPending != "" {
		t.Error("a rolled-back address was kept")
	}
}

// testOutboxClaimConcurrent: senders claiming at once get each message
// exactly once between them.
func testOutboxClaimConcurrent(t *testing.T, s portal.Store) {
	ctx := context.Background()
	const n = 40
	for i := range n {
		newMail(t, s, fmt.Sprintf("m%d", i), t0)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ms, err := s.ClaimMail(ctx, t0.Add(time.Second), time.Hour, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("ClaimMail: %v", err)
	}
	if len(seen) != n {
		t.Errorf("%d messages claimed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("message %d claimed %d times", id, c)
		}
	}
}
