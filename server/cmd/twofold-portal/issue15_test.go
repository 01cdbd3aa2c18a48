package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"twofold.dev/server/portal"
)

func TestParseDays(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"14d", 14 * 24 * time.Hour},
		{"0d", 0},
		{"1d12h", 36 * time.Hour},
		{"36h", 36 * time.Hour},
		{"90m", 90 * time.Minute},
		{"0", 0},
	} {
		if got, err := parseDays(tt.in); err != nil || got != tt.want {
			t.Errorf("parseDays(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "d", "14", "14x", "-1d", "-3h", "1.5d", "d12h", "14dd", "99999d", "1d-48h"} {
		if got, err := parseDays(bad); err == nil {
			t.Errorf("parseDays(%q) = %v, want an error", bad, got)
		}
	}
}

func TestRequire2FAFlags(t *testing.T) {
	cfg, _, err := parseFlags([]string{"x", "--require-2fa", "--require-2fa-grace", "14d"}, env(nil), io.Discard)
	if err != nil || !cfg.Require2FA || cfg.Require2FAGrace != 14*24*time.Hour {
		t.Errorf("flags: %+v, %v", cfg, err)
	}
	cfg, _, err = parseFlags([]string{"x"}, env(map[string]string{"TWOFOLD_REQUIRE_2FA": "true", "TWOFOLD_REQUIRE_2FA_GRACE": "1d12h"}), io.Discard)
	if err != nil || !cfg.Require2FA || cfg.Require2FAGrace != 36*time.Hour {
		t.Errorf("variables: %+v, %v", cfg, err)
	}
	cfg, _, err = parseFlags([]string{"x"}, env(nil), io.Discard)
	if err != nil || cfg.Require2FA || cfg.Require2FAGrace != 0 {
		t.Errorf("default: %+v, %v; want off", cfg, err)
	}
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"x", "--require-2fa-grace", "14d"}, nil, "needs --require-2fa"},
		{[]string{"x", "--require-2fa", "--require-2fa-grace", "two weeks"}, nil, "--require-2fa-grace"},
		{[]string{"x"}, map[string]string{"TWOFOLD_REQUIRE_2FA": "sometimes"}, "TWOFOLD_REQUIRE_2FA"},
	} {
		if _, _, err := parseFlags(tt.args, env(tt.env), io.Discard); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: %v, want an error naming %q", tt.args, tt.env, err, tt.want)
		}
	}
}

// "user forget-devices" forgets every remembered device of the user, and
// only theirs, and the user's activity says so.
func TestForgetDevicesCommand(t *testing.T) {
	cli, db := joeAndAnn(t)
	now := time.Now()
	ids := map[string]int64{}
	for i, name := range []string{"joe", "joe", "ann"} {
		u, err := db.UserByName(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = u.ID
		d := &portal.RememberedDevice{UserID: u.ID, TokenHash: portal.HashToken(string(rune('a' + i))), Browser: "Firefox on Linux", CreatedAt: now, LastUsedAt: now, IP: "192.0.2.1"}
		if err := db.AddRememberedDevice(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	out, err := cli("user", "forget-devices", "Joe")
	if err != nil || !strings.Contains(out, "forgot 2 remembered device(s) of joe") {
		t.Fatalf("user forget-devices: %v %q", err, out)
	}
	if devs, err := db.RememberedDevices(t.Context(), ids["joe"]); err != nil || len(devs) != 0 {
		t.Errorf("joe's devices after forget-devices: %v, %v", devs, err)
	}
	if devs, err := db.RememberedDevices(t.Context(), ids["ann"]); err != nil || len(devs) != 1 {
		t.Errorf("ann's devices after joe's forget-devices: %v, %v; want 1", devs, err)
	}
	events, err := db.Events(t.Context(), ids["joe"], 5)
	if err != nil || len(events) == 0 || events[0].Kind != portal.EventDeviceForgotten || events[0].IP != "admin" {
		t.Errorf("joe's activity: %v, %v; want a forgotten device by admin", events, err)
	}
	if _, err := cli("user", "forget-devices", "nobody"); err == nil || !strings.Contains(err.Error(), "No user") {
		t.Errorf("forget-devices of an unknown user: %v", err)
	}
	if _, err := cli("user", "forget-devices"); err == nil {
		t.Error("forget-devices without NAME worked")
	}
}
