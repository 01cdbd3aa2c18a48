// Command twofold-load drives the portal with concurrent virtual users
// doing password + code sign-ins, wrong and replayed codes and session
// checks, for a fixed time, and reports requests/s, latency percentiles
// and errors (4xx and 5xx apart). It checks what must hold under any
// load: no server error, no code accepted twice for one user and step,
// and (with the portal's debug listener) no goroutine or file-descriptor
// growth. It exits 1 when a check fails.
//
// It targets running portals (-url, repeatable) or starts its own:
// -start sqlite, or -start postgres with -instances N portals on one
// database (-database URL, else a throwaway cluster of Debian's
// PostgreSQL). Loopback only: it refuses other hosts.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"twofold.dev/server/cluster"
	"twofold.dev/server/pgtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "twofold-load:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// Config is what the flags say.
type Config struct {
	URLs       []string // targets; empty with Start set
	DebugURLs  []string // their debug listeners, for the counters
	Start      string   // "", "sqlite" or "postgres"
	Instances  int
	Database   string
	Portal     string   // portal binary; built when empty
	PortalArgs []string // more flags for the portals it starts
	cluster.LoadConfig
	Warmup time.Duration
	Slack  int
	JSON   bool
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func parseFlags(args []string, stderr io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("twofold-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &Config{}
	var urls, debug, portalArgs listFlag
	fs.Var(&urls, "url", "portal base `URL` to drive (repeat for several instances)")
	fs.Var(&debug, "debug-url", "debug listener `URL` of a -url instance, for goroutine and descriptor counts (repeatable)")
	fs.StringVar(&cfg.Start, "start", "", "start the portal itself: `sqlite` or postgres")
	fs.IntVar(&cfg.Instances, "instances", 2, "portal instances with -start postgres")
	fs.StringVar(&cfg.Database, "database", "", "PostgreSQL `URL` for -start postgres (default: a throwaway cluster)")
	fs.StringVar(&cfg.Portal, "portal", "", "portal `binary` for -start (default: go build)")
	fs.Var(&portalArgs, "portal-arg", "one more `flag` for the portals -start runs (repeatable), e.g. -portal-arg=--issuer=Bench")
	fs.IntVar(&cfg.Users, "users", 8, "concurrent virtual users")
	fs.IntVar(&cfg.AccountsPerUser, "accounts", 4, "accounts per virtual user (each allows one sign-in per 30 s step)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured run time")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "unmeasured run before the counters are read (it uses up time steps of the accounts)")
	fs.Float64Var(&cfg.WrongRate, "wrong", 0.2, "share of sign-ins with a wrong code first")
	fs.Float64Var(&cfg.ReplayRate, "replay", 0.2, "share of sign-ins with a replayed code first")
	fs.BoolVar(&cfg.IdleWait, "idle-wait", false, "when a user's accounts have used their steps, wait for the next step instead of checking sessions")
	fs.BoolVar(&cfg.ForwardedFor, "forwarded-for", true, "one X-Forwarded-For address per virtual user (the portal must trust 127.0.0.1)")
	fs.IntVar(&cfg.Slack, "slack", 4, "goroutines, and descriptors outside its database and client connection pools, a portal may gain over the run")
	fs.BoolVar(&cfg.JSON, "json", false, "print the summary as JSON")
	if len(args) > 0 {
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.URLs, cfg.DebugURLs, cfg.PortalArgs = urls, debug, portalArgs
	switch {
	case cfg.Start != "" && cfg.Start != "sqlite" && cfg.Start != "postgres":
		return nil, fmt.Errorf("-start: want sqlite or postgres, not %q", cfg.Start)
	case cfg.Start == "" && len(urls) == 0:
		return nil, errors.New("give -url (a running portal) or -start sqlite|postgres")
	case cfg.Start != "" && len(urls) > 0:
		return nil, errors.New("-url and -start exclude each other")
	case len(debug) > 0 && len(debug) != len(urls):
		return nil, errors.New("give one -debug-url per -url, or none")
	case cfg.Users < 1 || cfg.Users > 1000 || cfg.Instances < 1 || cfg.Instances > 16:
		return nil, errors.New("-users is 1 to 1000, -instances 1 to 16")
	}
	for _, u := range append(append([]string{}, urls...), debug...) {
		if err := loopback(u); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// loopback refuses a target that is not on this machine.
func loopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s: only loopback targets (127.0.0.1, ::1, localhost)", raw)
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.Start != "" {
		stopPortals, err := startPortals(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer stopPortals()
	}
	cfg.Targets = cfg.URLs
	fmt.Fprintf(stderr, "preparing %d accounts on %s\n", cfg.Users*max(cfg.AccountsPerUser, 1), strings.Join(cfg.URLs, " "))
	load, err := cluster.PrepareLoad(ctx, cfg.LoadConfig)
	if err != nil {
		return err
	}
	if cfg.Warmup > 0 {
		load.Run(ctx, cfg.Warmup)
	}
	load.CloseIdle()
	before := make([]cluster.Vars, len(cfg.DebugURLs))
	for i, d := range cfg.DebugURLs {
		if before[i], err = cluster.SettledVars(ctx, d, nil, 5*time.Second); err != nil {
			return err
		}
	}
	sum := load.Run(ctx, cfg.Duration)
	load.CloseIdle()
	sum.Slack = cfg.Slack
	for i, d := range cfg.DebugURLs {
		// Settled once back within the bound: what a pool may still open
		// (database connections up to its limit) is not a leak.
		bound := cluster.ServerCounters{Before: before[i], After: before[i]}.FDBound(cfg.Slack)
		limit := cluster.Vars{Goroutines: before[i].Goroutines + cfg.Slack, OpenFDs: bound}
		after, err := cluster.SettledVars(ctx, d, &limit, 15*time.Second)
		if err != nil {
			return err
		}
		sum.Server = append(sum.Server, cluster.ServerCounters{Instance: cfg.URLs[i], Before: before[i], After: after})
	}
	if cfg.JSON {
		if err := sum.JSON(stdout); err != nil {
			return err
		}
	} else {
		fmt.Fprint(stdout, sum)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sum.Check(sum.Slack); err != nil {
		return fmt.Errorf("checks failed:\n%w", err)
	}
	return nil
}

// startPortals builds and starts the portal(s) as -start says, and fills
// in URLs and DebugURLs. The returned function stops everything and
// removes the temporary files.
func startPortals(ctx context.Context, cfg *Config, stderr io.Writer) (func(), error) {
	dir, err := os.MkdirTemp("", "twofold-load-")
	if err != nil {
		return nil, err
	}
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		os.RemoveAll(dir)
	}
	fail := func(err error) (func(), error) { cleanup(); return nil, err }
	bin := cfg.Portal
	if bin == "" {
		fmt.Fprintln(stderr, "building the portal")
		if bin, err = cluster.Build(ctx, dir); err != nil {
			return fail(err)
		}
	}
	key := make([]byte, 32)
	rand.Read(key)
	keyFile := filepath.Join(dir, "secret.key")
	if err := cluster.WriteKeyFile(keyFile, key); err != nil {
		return fail(err)
	}
	n, database := 1, ""
	if cfg.Start == "postgres" {
		n, database = cfg.Instances, cfg.Database
		if database == "" {
			fmt.Fprintln(stderr, "starting a throwaway PostgreSQL")
			pg, err := pgtest.New()
			if err != nil {
				return fail(err)
			}
			cleanups = append(cleanups, func() { pg.Close() })
			if database, err = pg.CreateDB("load"); err != nil {
				return fail(err)
			}
		}
	}
	for i := range n {
		in := &cluster.Instance{
			Bin: bin, Name: string(rune('A' + i)), Data: filepath.Join(dir, fmt.Sprintf("data%d", i)),
			Database: database, SecretKeyFile: keyFile, Args: append([]string{"--trusted-proxies", "127.0.0.1"}, cfg.PortalArgs...),
		}
		if err := in.Start(ctx); err != nil {
			return fail(err)
		}
		cleanups = append(cleanups, func() {
			if err := in.Stop(); err != nil {
				fmt.Fprintf(stderr, "instance %s: %v\n", in.Name, err)
			}
		})
		cfg.URLs = append(cfg.URLs, in.URL())
		cfg.DebugURLs = append(cfg.DebugURLs, in.DebugURL())
	}
	return cleanup, nil
}
