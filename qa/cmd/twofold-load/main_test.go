package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"twofold.dev/server/cluster"
)

// TestShortRun is the load run of make test: the generator starts the
// portal itself — two instances on a throwaway PostgreSQL, and one on
// SQLite — and its own checks must pass: no server error, no code
// accepted twice for a user and step, no goroutine or descriptor growth.
func TestShortRun(t *testing.T) {
	bin, err := cluster.Build(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"postgres", []string{"-start", "postgres", "-instances", "2", "-users", "6", "-accounts", "4"}},
		{"sqlite", []string{"-start", "sqlite", "-users", "4", "-accounts", "4", "-portal-arg=--issuer=Load Test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"twofold-load", "-portal", bin, "-duration", "4s", "-json"}, tc.args...)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, &stdout, &stderr)
			if err != nil {
				t.Fatalf("%v\nstderr:\n%s\nsummary:\n%s", err, stderr.String(), stdout.String())
			}
			var sum cluster.Summary
			if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
				t.Fatalf("the -json summary: %v\n%s", err, stdout.String())
			}
			t.Logf("%s", sum.String())
			// The checks above passed; make sure they had something to check.
			// How much a 4-second run does depends on the machine, so only
			// what holds on any machine is asserted: the run signed in, and
			// every accepted code belongs to exactly one full sign-in.
			if sum.FullLogins == 0 || sum.AcceptedCodes != sum.FullLogins {
				t.Errorf("the run checked nothing: %d full logins, %d accepted codes, ops %v", sum.FullLogins, sum.AcceptedCodes, keys(sum.Ops))
			}
			if sum.Errors.Total() != 0 {
				t.Errorf("unexpected answers: %+v", sum.Errors)
			}
			if len(sum.Server) != len(sum.Targets) || sum.Server[0].Before.Goroutines == 0 || sum.Server[0].After.OpenFDs == 0 {
				t.Errorf("server counters not read: %+v", sum.Server)
			}
			if sum.Latency.P99 < sum.Latency.P50 || sum.RequestsPerSec <= 0 {
				t.Errorf("latency or rate not measured: %+v, %.1f req/s", sum.Latency, sum.RequestsPerSec)
			}
		})
	}
}

func keys(m map[string]*cluster.OpStats) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{nil, "give -url"},
		{[]string{"-url", "http://192.0.2.1:8080"}, "only loopback"},
		{[]string{"-url", "http://example.com"}, "only loopback"},
		{[]string{"-start", "mysql"}, "want sqlite or postgres"},
		{[]string{"-start", "sqlite", "-url", "http://127.0.0.1:1"}, "exclude each other"},
		{[]string{"-url", "http://127.0.0.1:1", "-debug-url", "http://127.0.0.1:2", "-debug-url", "http://127.0.0.1:3"}, "one -debug-url per -url"},
		{[]string{"-start", "sqlite", "-users", "0"}, "-users is 1 to 1000"},
	} {
		_, err := parseFlags(append([]string{"twofold-load"}, tc.args...), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	cfg, err := parseFlags([]string{"twofold-load", "-url", "http://127.0.0.1:8080", "-url", "http://[::1]:8081", "-users", "32"}, &bytes.Buffer{})
	if err != nil || len(cfg.URLs) != 2 || cfg.Users != 32 {
		t.Errorf("two loopback URLs: %+v, %v", cfg, err)
	}
}
