package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/server/sqlite"
)

func TestRetentionFlags(t *testing.T) {
	cfg, _, err := parseFlags([]string{"x"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ActivityRetention != 365*24*time.Hour || cfg.AuditRetention != 0 || cfg.PruneInterval != 10*time.Minute || cfg.PruneBatch != sqlitePruneBatch {
		t.Errorf("defaults: activity %v, audit %v, interval %v, batch %d; want 365 days, forever, 10m, 100 (SQLite)",
			cfg.ActivityRetention, cfg.AuditRetention, cfg.PruneInterval, cfg.PruneBatch)
	}
	cfg, _, err = parseFlags([]string{"x", "--activity-retention", "90d", "--audit-retention", "730d", "--prune-interval", "2s", "--prune-batch", "200"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ActivityRetention != 90*24*time.Hour || cfg.AuditRetention != 730*24*time.Hour || cfg.PruneInterval != 2*time.Second || cfg.PruneBatch != 200 {
		t.Errorf("flags: %v %v %v %d", cfg.ActivityRetention, cfg.AuditRetention, cfg.PruneInterval, cfg.PruneBatch)
	}
	cfg, _, err = parseFlags([]string{"x"}, env(map[string]string{"TWOFOLD_ACTIVITY_RETENTION": "0", "TWOFOLD_PRUNE_INTERVAL": "1h"}), io.Discard)
	if err != nil || cfg.ActivityRetention != 0 || cfg.PruneInterval != time.Hour {
		t.Errorf("environment: %+v, %v; want activity kept forever, hourly", cfg, err)
	}
	// PostgreSQL's batch is larger: its deletes do not stop other writers.
	if cfg, _, err = parseFlags([]string{"x", "--database", "postgres://db.example/portal", "--secret-key-file", "/k"}, env(nil), io.Discard); err != nil || cfg.PruneBatch != portal.DefaultPruneBatch {
		t.Errorf("PostgreSQL's batch: %d, %v", cfg.PruneBatch, err)
	}
	// 0: this instance leaves pruning to another.
	if cfg, _, err = parseFlags([]string{"x", "--prune-interval", "0"}, env(nil), io.Discard); err != nil || cfg.PruneInterval != 0 {
		t.Errorf("--prune-interval 0: %v, %v", cfg.PruneInterval, err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"x", "--activity-retention", "a year"}, "--activity-retention"},
		{[]string{"x", "--activity-retention", "-5h"}, "--activity-retention"},
		{[]string{"x", "--audit-retention", "forever"}, "--audit-retention"},
		{[]string{"x", "--prune-interval", "10ms"}, "want 1s or more"},
		{[]string{"x", "--prune-batch", "-5"}, "want 1 row or more"},
	} {
		if _, _, err := parseFlags(tt.args, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error about %s", tt.args, err, tt.want)
		}
	}
}

// The running portal prunes at start (and then every interval) with the
// retention of its flags: an event older than --activity-retention goes,
// a younger one stays.
func TestRunPrunesActivity(t *testing.T) {
	dir := t.TempDir()
	initData(t, dir)
	cli := adminCLI(t, dir)
	if out, err := cli("user", "add", "joe", "--password", "a long enough password"); err != nil {
		t.Fatalf("user add: %v %s", err, out)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	joe, err := db.UserByName(t.Context(), "joe")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old := &portal.Event{UserID: joe.ID, Kind: portal.EventSignIn, IP: "192.0.2.1", At: now.Add(-31 * 24 * time.Hour)}
	young := &portal.Event{UserID: joe.ID, Kind: portal.EventSignIn, IP: "192.0.2.1", At: now.Add(-29 * 24 * time.Hour)}
	for _, e := range []*portal.Event{old, young} {
		if err := db.AddEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &logWatcher{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"twofold-portal", "--addr", "127.0.0.1:0", "--data", dir, "--activity-retention", "30d"}, env(nil), strings.NewReader(""), io.Discard, logs)
	}()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(logs.String(), "msg=pruned") {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, logs)
		case <-deadline:
			t.Fatalf("no prune within 30 s:\n%s", logs)
		case <-time.After(20 * time.Millisecond): // waiting for the log line, not for a time step
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.Contains(logs.String(), "activity=1") || !strings.Contains(logs.String(), "activity_retention=720h0m0s") {
		t.Errorf("log does not say one activity row pruned with a 30-day retention:\n%s", logs)
	}
	events, err := db.Events(t.Context(), joe.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range events {
		if e.Kind == portal.EventSignIn {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) != 1 || ids[0] != young.ID {
		t.Errorf("sign-in events left: %v, want only the 29-day-old one (%d)", ids, young.ID)
	}
}
