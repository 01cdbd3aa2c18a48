package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"twofold.dev/server/portal"
)

// The admin role, disabled accounts and the support console's queries.

func withTOTP(t *testing.T, s portal.Store, u *portal.User) {
	t.Helper()
	ctx := context.Background()
	if err := s.SetPendingTOTP(ctx, u.ID, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTOTP(ctx, u.ID, []byte("sealed"), 5, hashes("r", 10)); err != nil {
		t.Fatal(err)
	}
}

func testAdmin(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	if get(t, s, joe.ID).Admin {
		t.Fatal("a new user is an admin")
	}
	if err := s.SetAdmin(ctx, joe.ID, true); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("SetAdmin without 2FA: %v, want ErrConflict", err)
	}
	if get(t, s, joe.ID).Admin {
		t.Fatal("the role was granted without 2FA")
	}
	withTOTP(t, s, joe)
	if err := s.SetAdmin(ctx, joe.ID, true); err != nil {
		t.Fatalf("SetAdmin with 2FA: %v", err)
	}
	if !get(t, s, joe.ID).Admin {
		t.Fatal("SetAdmin(true) did not grant the role")
	}
	if err := s.DisableTOTP(ctx, joe.ID); !errors.Is(err, portal.ErrConflict) {
		t.Errorf("DisableTOTP of an admin: %v, want ErrConflict", err)
	}
	if u := get(t, s, joe.ID); !u.TwoFactor() {
		t.Error("DisableTOTP of an admin turned 2FA off")
	}
	if n, err := s.CountRecoveryCodes(ctx, joe.ID); err != nil || n != 10 {
		t.Errorf("DisableTOTP of an admin: %d recovery codes left, %v; want 10", n, err)
	}
	if err := s.SetAdmin(ctx, joe.ID, false); err != nil {
		t.Fatalf("SetAdmin(false): %v", err)
	}
	if get(t, s, joe.ID).Admin {
		t.Fatal("SetAdmin(false) kept the role")
	}
	if err := s.DisableTOTP(ctx, joe.ID); err != nil {
		t.Errorf("DisableTOTP once revoked: %v", err)
	}
	for _, admin := range []bool{true, false} {
		if err := s.SetAdmin(ctx, 999999, admin); !errors.Is(err, portal.ErrNotFound) {
			t.Errorf("SetAdmin(no user, %v): %v, want ErrNotFound", admin, err)
		}
	}
	if err := s.DisableTOTP(ctx, 999999); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("DisableTOTP(no user): %v, want ErrNotFound", err)
	}
}

func testDisabled(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	ann := newUser(t, s, "ann")
	if get(t, s, joe.ID).Disabled {
		t.Fatal("a new user is disabled")
	}
	if err := s.SetDisabled(ctx, joe.ID, true); err != nil {
		t.Fatal(err)
	}
	if !get(t, s, joe.ID).Disabled || get(t, s, ann.ID).Disabled {
		t.Fatal("SetDisabled(joe, true) did not disable joe alone")
	}
	if err := s.SetDisabled(ctx, joe.ID, false); err != nil {
		t.Fatal(err)
	}
	if get(t, s, joe.ID).Disabled {
		t.Fatal("SetDisabled(false) did not enable")
	}
	if err := s.SetDisabled(ctx, 999999, true); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("SetDisabled(no user): %v, want ErrNotFound", err)
	}
}

func testSearchUsers(t *testing.T, s portal.Store) {
	ctx := context.Background()
	for _, name := range []string{"ann", "anna", "annex", "bob", "a_b", "axb"} {
		newUser(t, s, name)
	}
	bob, err := s.UserByName(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetEmailPending(ctx, bob.ID, "Robert@Example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmEmail(ctx, bob.ID, "Robert@Example.com"); err != nil {
		t.Fatal(err)
	}
	axb, err := s.UserByName(ctx, "axb")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetEmailPending(ctx, axb.ID, "pending@example.org"); err != nil {
		t.Fatal(err)
	}
	names := func(prefix string, limit int) string {
		t.Helper()
		users, err := s.SearchUsers(ctx, prefix, limit)
		if err != nil {
			t.Fatalf("SearchUsers(%q): %v", prefix, err)
		}
		out := ""
		for _, u := range users {
			out += u.Username + " "
		}
		return out
	}
	for _, c := range []struct {
		prefix string
		limit  int
		want   string
	}{
		{"ann", 10, "ann anna annex "},
		{"ann", 2, "ann anna "},
		{"anna", 10, "anna "},
		{"robert@", 10, "bob "},
		{"ROBERT@EXAMPLE.COM", 10, "bob "},
		{"pending@", 10, "axb "},
		{"a_", 10, "a_b "}, // _ is no wildcard
		{"%", 10, ""},
		{"zzz", 10, ""},
	} {
		if got := names(c.prefix, c.limit); got != c.want {
			t.Errorf("SearchUsers(%q, %d) = %q, want %q", c.prefix, c.limit, got, c.want)
		}
	}
}

func testCountSessions(t *testing.T, s portal.Store) {
	ctx := context.Background()
	joe := newUser(t, s, "joe")
	ann := newUser(t, s, "ann")
	for i, uid := range []int64{joe.ID, joe.ID, ann.ID} {
		sess := &portal.Session{ID: []byte(fmt.Sprintf("session-%02d-xxxxxxxxxxxxxxxxxxxxxx", i)), UserID: uid, Stage: portal.StageFull,
			CreatedAt: t0, LastSeenAt: t0, AuthAt: t0, IP: "192.0.2.1"}
		if i == 0 {
			sess.CodeAt = t0.Add(time.Minute)
		}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CountSessions(ctx, joe.ID); err != nil || n != 2 {
		t.Errorf("CountSessions(joe) = %d, %v; want 2", n, err)
	}
	got, err := s.Session(ctx, []byte("session-00-xxxxxxxxxxxxxxxxxxxxxx"))
	if err != nil || !got.CodeAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("CodeAt read back %v, %v; want %v", got, err, t0.Add(time.Minute))
	}
	got, err = s.Session(ctx, []byte("session-01-xxxxxxxxxxxxxxxxxxxxxx"))
	if err != nil || !got.CodeAt.IsZero() {
		t.Errorf("CodeAt never set read back %v, %v; want zero", got, err)
	}
}

func testAudit(t *testing.T, s portal.Store) {
	ctx := context.Background()
	for i := range 5 {
		e := &portal.AuditEntry{Admin: "root", Action: fmt.Sprintf("action %d", i), Target: "joe", IP: "192.0.2.9", At: t0.Add(time.Duration(i) * time.Second)}
		if err := s.AddAudit(ctx, e); err != nil || e.ID == 0 {
			t.Fatalf("AddAudit: %v (id %d)", err, e.ID)
		}
	}
	log, err := s.AuditLog(ctx, 3)
	if err != nil || len(log) != 3 {
		t.Fatalf("AuditLog(3) = %d entries, %v", len(log), err)
	}
	if e := log[0]; e.Action != "action 4" || e.Admin != "root" || e.Target != "joe" || e.IP != "192.0.2.9" || !e.At.Equal(t0.Add(4*time.Second)) {
		t.Errorf("newest entry = %+v", e)
	}
	if log[2].Action != "action 2" {
		t.Errorf("third entry = %+v, want action 2", log[2])
	}
	// The log outlives the accounts it names.
	joe := newUser(t, s, "joe")
	if err := s.DeleteUser(ctx, joe.ID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "admin_audit"); n != 5 {
		t.Errorf("%d audit rows after deleting a user, want 5", n)
	}
}
