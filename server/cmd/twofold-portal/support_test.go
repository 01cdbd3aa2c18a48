package main

import (
	"strings"
	"testing"

	"twofold.dev/server/portal"
)

// "user grant-admin" needs 2FA on; an admin's 2FA cannot be reset until
// the role is revoked; "user disable" and "enable" flip the account, and
// "user list" shows both states.
func TestAdminRoleCommands(t *testing.T) {
	cli, db := joeAndAnn(t)
	joe, err := db.UserByName(t.Context(), "joe")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := cli("user", "grant-admin", "joe"); err == nil || !strings.Contains(err.Error(), "two-factor authentication off") {
		t.Errorf("grant-admin without 2FA: %v, want a refusal naming 2FA", err)
	}
	if u, _ := db.UserByID(t.Context(), joe.ID); u.Admin {
		t.Fatal("the role was granted without 2FA")
	}
	// 2FA on, as an enrollment leaves it (the command opens no secret).
	if err := db.SetPendingTOTP(t.Context(), joe.ID, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := db.EnableTOTP(t.Context(), joe.ID, []byte("sealed"), 1, nil); err != nil {
		t.Fatal(err)
	}
	if out, err := cli("user", "grant-admin", "Joe"); err != nil || !strings.Contains(out, "joe is an admin") {
		t.Fatalf("grant-admin: %v %q", err, out)
	}
	if _, err := cli("user", "grant-admin", "joe"); err == nil || !strings.Contains(err.Error(), "admin already") {
		t.Errorf("grant-admin twice: %v", err)
	}
	if out, err := cli("user", "list"); err != nil || !strings.Contains(out, "STATE") || !adminLine(out, "joe", "admin") {
		t.Errorf("user list with an admin: %v\n%s", err, out)
	}
	if _, err := cli("user", "reset-2fa", "joe"); err == nil || !strings.Contains(err.Error(), "revoke") {
		t.Errorf("reset-2fa of an admin: %v, want a refusal saying to revoke the role", err)
	}
	if u, _ := db.UserByID(t.Context(), joe.ID); !u.TwoFactor() {
		t.Fatal("reset-2fa turned an admin's 2FA off")
	}
	if out, err := cli("user", "revoke-admin", "joe"); err != nil || !strings.Contains(out, "no longer an admin") {
		t.Fatalf("revoke-admin: %v %q", err, out)
	}
	if _, err := cli("user", "revoke-admin", "joe"); err == nil || !strings.Contains(err.Error(), "not an admin") {
		t.Errorf("revoke-admin twice: %v", err)
	}
	if out, err := cli("user", "reset-2fa", "joe"); err != nil || !strings.Contains(out, "off for joe") {
		t.Errorf("reset-2fa once revoked: %v %q", err, out)
	}
	events, err := db.Events(t.Context(), joe.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[portal.EventKind]bool{}
	for _, e := range events {
		kinds[e.Kind] = true
	}
	if !kinds[portal.EventAdminGranted] || !kinds[portal.EventAdminRevoked] {
		t.Errorf("joe's activity %v lacks the grant and the revocation", kinds)
	}

	if out, err := cli("user", "disable", "ann"); err != nil || !strings.Contains(out, "ann is disabled") {
		t.Fatalf("disable: %v %q", err, out)
	}
	if out, _ := cli("user", "list"); !adminLine(out, "ann", "disabled") {
		t.Errorf("user list with a disabled account:\n%s", out)
	}
	if _, err := cli("user", "disable", "ann"); err == nil || !strings.Contains(err.Error(), "disabled already") {
		t.Errorf("disable twice: %v", err)
	}
	if out, err := cli("user", "enable", "ann"); err != nil || !strings.Contains(out, "ann is enabled again") {
		t.Fatalf("enable: %v %q", err, out)
	}
	if ann, err := db.UserByName(t.Context(), "ann"); err != nil || ann.Disabled {
		t.Errorf("ann after enable: %+v, %v", ann, err)
	}
	for _, cmd := range []string{"grant-admin", "revoke-admin", "disable", "enable"} {
		if _, err := cli("user", cmd, "nobody"); err == nil || !strings.Contains(err.Error(), "No user") {
			t.Errorf("%s of an unknown user: %v", cmd, err)
		}
		if _, err := cli("user", cmd); err == nil || !strings.Contains(err.Error(), "missing NAME") {
			t.Errorf("%s without NAME: %v", cmd, err)
		}
	}
}

// adminLine reports whether the "user list" line of name ends in state.
func adminLine(out, name, state string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == name {
			return f[len(f)-1] == state
		}
	}
	return false
}
