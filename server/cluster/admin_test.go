package cluster

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// runOnce runs the portal binary of in with args to its exit and returns
// its output and whether it exited non-zero.
func runOnce(t *testing.T, in *Instance, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := like(in)
	run.Args = append(run.Args, args...)
	if run.Addr == "" {
		run.Addr = "127.0.0.1:0"
	}
	if run.DebugAddr == "" {
		run.DebugAddr = "127.0.0.1:0"
	}
	out, err := run.Command(ctx).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the portal: %v", err)
	}
	if strings.Contains(string(out), "goroutine ") {
		t.Errorf("the portal panicked:\n%s", out)
	}
	return string(out), err != nil
}

// like returns a new, stopped Instance configured as in.
func like(in *Instance) *Instance {
	return &Instance{Bin: in.Bin, Name: in.Name, Data: in.Data, Database: in.Database, SecretKeyFile: in.SecretKeyFile,
		Args: append([]string{}, in.Args...), Addr: in.Addr, DebugAddr: in.DebugAddr}
}

// hasTables tells whether the database at url holds the portal's tables.
func hasTables(t *testing.T, url string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	must(t, err)
	defer conn.Close(ctx)
	var exists bool
	must(t, conn.QueryRow(ctx, `SELECT to_regclass('users') IS NOT NULL`).Scan(&exists))
	return exists
}

// On PostgreSQL: admin commands create no tables and no key; a database
// with two-factor secrets is refused at start without its key file, or
// with another installation's; reset-2fa runs without the key.
func TestAdminAndKeyOnPostgres(t *testing.T) {
	ctx := context.Background()
	key := keyFile(t)

	// A mistyped database name, and an empty database: user list exits
	// non-zero with a clear message, and sets nothing up.
	empty := newDatabase(t, pg)
	for _, tc := range []struct{ url, want string }{
		{empty, "no portal database at --database"},
		{strings.Replace(empty, "/cluster_", "/clustr_", 1), "database"},
	} {
		in := &Instance{Bin: portalBin, Name: "admin", Data: filepath.Join(t.TempDir(), "data"), Database: tc.url, SecretKeyFile: key}
		out, failed := runOnce(t, in, "user", "list")
		if !failed || !strings.Contains(out, tc.want) || strings.Contains(out, dbPassword) {
			t.Errorf("user list on %s: failed %v, said %q; want a non-zero exit saying %q", tc.url, failed, out, tc.want)
		}
		if _, err := os.Stat(in.Data); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("user list made the data directory: %v", err)
		}
	}
	if hasTables(t, empty) {
		t.Error("user list created the portal's tables in an empty database")
	}

	// A portal with a user whose 2FA is on.
	database := newDatabase(t, pg)
	in := &Instance{Bin: portalBin, Name: "A", Data: t.TempDir(), Database: database, SecretKeyFile: key}
	must(t, in.Start(ctx))
	_, _, _, err := NewClient(nil).Enroll(ctx, in.URL(), "hana", password)
	must(t, err)
	must(t, in.Stop())

	missing := filepath.Join(t.TempDir(), "secret.key")
	lost := like(in)
	lost.SecretKeyFile = missing
	for _, args := range [][]string{nil, {"user", "list"}} {
		out, failed := runOnce(t, lost, args...)
		if !failed || !strings.Contains(out, "secret key file "+missing+" does not exist") || !strings.Contains(out, "backup") {
			t.Errorf("%v without the key file: failed %v, said %q", args, failed, out)
		}
	}
	// Another installation's key: refused at start.
	other := like(in)
	other.SecretKeyFile = keyFile(t)
	if out, failed := runOnce(t, other); !failed || !strings.Contains(out, "does not open") {
		t.Errorf("start with another key: failed %v, said %q", failed, out)
	}
	// Lost for good: reset-2fa runs without it and makes none.
	if out, failed := runOnce(t, lost, "user", "reset-2fa", "hana"); failed {
		t.Fatalf("reset-2fa without the key: %s", out)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an admin command made a key file: %v", err)
	}
	if req, err := NewClient(nil).Login(ctx, func() string { must(t, in.Start(ctx)); return in.URL() }(), "hana", password); err != nil || req {
		t.Errorf("sign-in after reset-2fa: code required %v, %v; want none", req, err)
	}
}
