// Command twofold-bench is `make bench` (issue 7): it measures each speed
// and memory figure of Twofold against its physical limit or a peer in
// the same run, prints figure, baseline, ratio and whether the target is
// met, and writes the lot to bench/RESULTS.md with the date and machine.
//
// It expects the binaries twofold, twofold-portal and barewindow in -bin
// and runs inside scripts/with-keyring.sh (a private Secret Service);
// it starts its own Xvfb and PostgreSQL. Groups: 1 TOTP verification,
// 2 QR decoding, 3 portal logins, 4 portal code checks, 5 desktop at rest,
// 6 portal growth (1,000 against -growth-accounts accounts),
// 7 desktop growth (a thousand accounts).
// Group 4 pins itself to core 0 and the servers it measures to core 1
// with taskset (util-linux), and needs two cores.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "twofold-bench:", err)
		os.Exit(1)
	}
}

// Config is what the flags say.
type Config struct {
	Bin     string // directory with twofold, twofold-portal, barewindow
	Samples string // directory with ga-example_export.png, may be missing
	Out     string // Markdown report; empty: none
	Groups  map[int]bool
	Runs    int           // whole-process runs per program and file
	Idle    time.Duration // desktop idle window
	Work    string        // scratch directory
	// GrowthAccounts is group 6's larger size; GrowthPruneArgs are
	// portal flags that make its own loop prune during group 6's pruning
	// run (empty: the bench runs the portal's pruning itself).
	GrowthAccounts  int
	GrowthPruneArgs string
	GrowthDatabases []string // "sqlite", "postgres"
}

func parseFlags(args []string, stderr io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("twofold-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &Config{Groups: map[int]bool{}}
	fs.StringVar(&cfg.Bin, "bin", "bin", "`directory` of the built binaries")
	fs.StringVar(&cfg.Samples, "samples", "../shared/samples", "`directory` of the real-world samples (camera photo)")
	fs.StringVar(&cfg.Out, "out", "bench/RESULTS.md", "Markdown `file` for the results (empty: none)")
	groups := fs.String("groups", "1,2,3,4,5,6,7", "comma-separated `groups` to run")
	fs.IntVar(&cfg.Runs, "runs", 9, "runs of each program per file (medians)")
	fs.DurationVar(&cfg.Idle, "idle", 60*time.Second, "desktop idle measurement window")
	fs.IntVar(&cfg.GrowthAccounts, "growth-accounts", 1_000_000, "group 6: `accounts` seeded for the larger size (the baseline is 1000)")
	growthDBs := fs.String("growth-databases", "sqlite,postgres", "group 6: comma-separated `databases` to measure")
	fs.StringVar(&cfg.GrowthPruneArgs, "growth-prune-args", "--prune-interval 1s", "group 6: portal `flags` that make the portal's own loop prune continuously during the pruning run (empty: the bench calls the portal's pruning itself, from another process)")
	if len(args) > 0 {
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, g := range strings.Split(*groups, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(g), &n); err != nil || n < 1 || n > 7 {
			return nil, fmt.Errorf("-groups: %q is not 1 to 7", g)
		}
		cfg.Groups[n] = true
	}
	for _, db := range strings.Split(*growthDBs, ",") {
		if db = strings.TrimSpace(db); db != "sqlite" && db != "postgres" {
			return nil, fmt.Errorf("-growth-databases: %q is neither sqlite nor postgres", db)
		}
		cfg.GrowthDatabases = append(cfg.GrowthDatabases, db)
	}
	if cfg.Runs < 3 {
		return nil, errors.New("-runs: at least 3")
	}
	var err error
	if cfg.Bin, err = filepath.Abs(cfg.Bin); err != nil {
		return nil, err
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.Work, err = os.MkdirTemp("", "twofold-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(cfg.Work)
	start := time.Now()
	rep := newReport(stdout)
	steps := []struct {
		n  int
		fn func(context.Context, *Config, *Report) error
	}{{1, benchTOTP}, {2, benchQR}, {3, benchLogins}, {4, benchCodeChecks}, {5, benchDesktop}, {6, benchGrowth}, {7, benchDesktopGrowth}}
	var failed []error
	for _, s := range steps {
		if !cfg.Groups[s.n] {
			continue
		}
		rep.Group(s.n)
		if err := s.fn(ctx, cfg, rep); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rep.Failed(s.n, err)
			failed = append(failed, fmt.Errorf("group %d: %w", s.n, err))
		}
	}
	rep.Summary(time.Since(start))
	if cfg.Out != "" {
		if err := rep.WriteMarkdown(cfg.Out, time.Since(start)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", cfg.Out)
	}
	return errors.Join(failed...)
}
