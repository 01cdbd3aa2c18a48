// Command twofold-portal serves the Twofold client portal: accounts,
// password sign-in and TOTP two-factor authentication. With "user" it
// administers accounts in the same database.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"twofold.dev/server/mail"
	"twofold.dev/server/portal"
	"twofold.dev/server/postgres"
	"twofold.dev/server/sqlite"
	"twofold.dev/server/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cores := tuneRuntime(os.Getenv)
	getenv := func(name string) string {
		if v := os.Getenv(name); v != "" || name != "TWOFOLD_HASH_SLOTS" {
			return v
		}
		return strconv.Itoa(cores)
	}
	if err := run(ctx, os.Args, getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "twofold-portal:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// tuneRuntime sets the process-wide runtime knobs for serving, unless the
// operator set them, and returns the number of cores Go found (its default
// GOMAXPROCS: the CPU quota, else the CPUs this process may use).
//
// Password hashes run one per core (--hash-slots); as many Ps again keep
// the other requests running beside them under a flood of sign-ins
// (measured: code-check p99 under a flood 1.3–2.7× its quiet value, 3–8×
// without). Each argon2id hash allocates 19 MiB and drops it at once while
// the live heap is a few MiB: at the default GOGC nearly every hash starts
// a collection; 400 makes them four times rarer (sign-ins/s from 0.69 to
// 0.84 of the raw hash rate) for a heap of tens of MiB.
func tuneRuntime(getenv func(string) string) int {
	cores := runtime.GOMAXPROCS(0)
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * cores)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	return cores
}

// Config is what the flags and environment say.
type Config struct {
	Addr            string
	Data            string
	Issuer          string
	Signup          bool
	SecretKeyFile   string
	TLSCert         string
	TLSKey          string
	TrustedProxies  []netip.Prefix
	Database        string // postgres:// URL; empty: SQLite in Data
	DebugAddr       string // listener for /debug/vars; empty: none
	HashSlots       int    // password hashes at once; 0: GOMAXPROCS
	SignupRate      int    // sign-ups per hour per address; 0: no limit
	Require2FA      bool
	Require2FAGrace time.Duration // 0: no grace period
	// Retention: what Service.Prune keeps, and how often it runs.
	ActivityRetention time.Duration // 0: forever
	AuditRetention    time.Duration // 0: forever
	PruneInterval     time.Duration
	PruneBatch        int // rows per delete statement
	// Mail: off when SMTPAddr is empty.
	SMTPAddr         string
	SMTPTLS          string
	SMTPUser         string
	SMTPPasswordFile string
	MailFrom         string
	PublicURL        string
}

const usage = `Usage:
  twofold-portal [flags]                     serve the portal
  twofold-portal [flags] user add NAME [--display-name NAME] [--email ADDRESS] [--password PASSWORD]
                                             (--email needs the SMTP flags: a confirmation
                                             link is queued, sent by the running portal)
                                             (without --password, the first line of stdin)
  twofold-portal [flags] user list
  twofold-portal [flags] user delete NAME
  twofold-portal [flags] user reset-2fa NAME turn off two-factor authentication
                                             (runs without the key file: see README)
  twofold-portal [flags] user set-password NAME [--password PASSWORD]
                                             new password, read as "user add" reads it;
                                             ends the user's sessions
  twofold-portal [flags] user forget-devices NAME
                                             forget the user's remembered devices: every
                                             browser is asked for a code again
  twofold-portal [flags] user grant-admin NAME
                                             give the admin role (the support console at
                                             /admin); refused unless NAME has 2FA on, which
                                             then cannot be turned off while NAME is admin
  twofold-portal [flags] user revoke-admin NAME
                                             take the admin role away
  twofold-portal [flags] user disable NAME   the account cannot sign in; its sessions end
  twofold-portal [flags] user enable NAME    the account can sign in again

Admin commands never create the data directory, database or key file:
start the portal once first.

Every flag has an environment variable: --addr is TWOFOLD_ADDR, and so on.

Flags:
`

// parseFlags reads flags over environment defaults.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*Config, []string, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("twofold-portal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	cfg := &Config{}
	fs.StringVar(&cfg.Addr, "addr", env("TWOFOLD_ADDR", "127.0.0.1:8080"), "listen address `host:port` (TWOFOLD_ADDR)")
	fs.StringVar(&cfg.Data, "data", env("TWOFOLD_DATA", "./data"), "data `directory`: database and secret key (TWOFOLD_DATA)")
	fs.StringVar(&cfg.Issuer, "issuer", env("TWOFOLD_ISSUER", "Twofold Portal"), "`name` shown in authenticator apps (TWOFOLD_ISSUER)")
	signup, err := strconv.ParseBool(env("TWOFOLD_SIGNUP", "true"))
	if err != nil {
		return nil, nil, fmt.Errorf("TWOFOLD_SIGNUP: %w", err)
	}
	fs.BoolVar(&cfg.Signup, "signup", signup, "allow self-service sign-up (TWOFOLD_SIGNUP)")
	fs.StringVar(&cfg.SecretKeyFile, "secret-key-file", env("TWOFOLD_SECRET_KEY_FILE", ""), "`file` with the key that encrypts TOTP secrets (default: DATA/secret.key, created on first run) (TWOFOLD_SECRET_KEY_FILE)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", env("TWOFOLD_TLS_CERT", ""), "TLS certificate `file`; serves HTTPS with --tls-key (TWOFOLD_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", env("TWOFOLD_TLS_KEY", ""), "TLS key `file` (TWOFOLD_TLS_KEY)")
	fs.StringVar(&cfg.Database, "database", env("TWOFOLD_DATABASE", ""), "PostgreSQL `URL` (postgres://...) shared by several instances; default: SQLite in the data directory (TWOFOLD_DATABASE; prefer the variable: a flag is visible to other local users)")
	fs.StringVar(&cfg.DebugAddr, "debug-addr", env("TWOFOLD_DEBUG_ADDR", ""), "serve runtime counters at /debug/vars on this `host:port` (keep it private; default: off) (TWOFOLD_DEBUG_ADDR)")
	slots, err := strconv.Atoi(env("TWOFOLD_HASH_SLOTS", "0"))
	if err != nil || slots < 0 {
		return nil, nil, fmt.Errorf("TWOFOLD_HASH_SLOTS: want a number of hashes, 0 or more, not %q", getenv("TWOFOLD_HASH_SLOTS"))
	}
	fs.IntVar(&cfg.HashSlots, "hash-slots", slots, "password hashes computed at once, each using one core and 19 MiB (default: one per core) (TWOFOLD_HASH_SLOTS)")
	rate, err := strconv.Atoi(env("TWOFOLD_SIGNUP_RATE", "10"))
	if err != nil || rate < 0 {
		return nil, nil, fmt.Errorf("TWOFOLD_SIGNUP_RATE: want a number of sign-ups an hour, 0 or more, not %q", getenv("TWOFOLD_SIGNUP_RATE"))
	}
	fs.IntVar(&cfg.SignupRate, "signup-rate", rate, "sign-ups an hour from one address (an IPv6 /64), accepted or not, before a wait; 0: no limit, for load tests only (TWOFOLD_SIGNUP_RATE)")
	require2FA, err := strconv.ParseBool(env("TWOFOLD_REQUIRE_2FA", "false"))
	if err != nil {
		return nil, nil, fmt.Errorf("TWOFOLD_REQUIRE_2FA: %w", err)
	}
	fs.BoolVar(&cfg.Require2FA, "require-2fa", require2FA, "require two-factor authentication: a user without it is walked into its set-up and reaches nothing else until done (TWOFOLD_REQUIRE_2FA)")
	grace := fs.String("require-2fa-grace", env("TWOFOLD_REQUIRE_2FA_GRACE", ""), "with --require-2fa, how long each account may skip the set-up, from its first sign-in after the setting or its creation: `duration` such as 14d, 36h or 1d12h (default: no skipping) (TWOFOLD_REQUIRE_2FA_GRACE)")
	fs.StringVar(&cfg.SMTPAddr, "smtp-addr", env("TWOFOLD_SMTP_ADDR", ""), "SMTP server `host:port` for e-mail (confirmation links, security notices, password resets); default: no e-mail (TWOFOLD_SMTP_ADDR)")
	fs.StringVar(&cfg.SMTPTLS, "smtp-tls", env("TWOFOLD_SMTP_TLS", mail.TLSStartTLS), "TLS to the SMTP server: `starttls` (required, not opportunistic), tls (from the first byte, port 465) or none (loopback addresses only) (TWOFOLD_SMTP_TLS)")
	fs.StringVar(&cfg.SMTPUser, "smtp-user", env("TWOFOLD_SMTP_USER", ""), "SMTP `user` for AUTH PLAIN; needs --smtp-password-file (TWOFOLD_SMTP_USER)")
	fs.StringVar(&cfg.SMTPPasswordFile, "smtp-password-file", env("TWOFOLD_SMTP_PASSWORD_FILE", ""), "`file` holding the SMTP password on its first line (never the password as a flag) (TWOFOLD_SMTP_PASSWORD_FILE)")
	fs.StringVar(&cfg.MailFrom, "mail-from", env("TWOFOLD_MAIL_FROM", ""), "From `address` of the portal's mail, e.g. \"Example Portal <no-reply@example.com>\" (TWOFOLD_MAIL_FROM)")
	fs.StringVar(&cfg.PublicURL, "public-url", env("TWOFOLD_PUBLIC_URL", ""), "the portal's public `URL` for links in mail, e.g. https://portal.example.com; required with --smtp-addr (TWOFOLD_PUBLIC_URL)")
	activity := fs.String("activity-retention", env("TWOFOLD_ACTIVITY_RETENTION", "365d"), "how long activity events (the security page's list) are kept: `duration` such as 365d, 90d or 720h; 0 keeps them forever (TWOFOLD_ACTIVITY_RETENTION)")
	audit := fs.String("audit-retention", env("TWOFOLD_AUDIT_RETENTION", "0"), "how long the admin audit log is kept: `duration` such as 730d; 0 keeps it forever (TWOFOLD_AUDIT_RETENTION)")
	interval := fs.String("prune-interval", env("TWOFOLD_PRUNE_INTERVAL", "10m"), "how often the portal deletes what is past its retention (expired sessions, counters, devices, mail tokens, sent mail, old activity): `duration`, 1s or more; 0: this instance never prunes (another instance on the same PostgreSQL does) (TWOFOLD_PRUNE_INTERVAL)")
	batch, err := strconv.Atoi(env("TWOFOLD_PRUNE_BATCH", "0"))
	if err != nil || batch < 0 {
		return nil, nil, fmt.Errorf("TWOFOLD_PRUNE_BATCH: want a number of rows, 1 or more, not %q", getenv("TWOFOLD_PRUNE_BATCH"))
	}
	fs.IntVar(&cfg.PruneBatch, "prune-batch", batch, fmt.Sprintf("rows each delete statement of the pruner removes, in its own short transaction; 0: %d on SQLite, whose one writer a batch holds (about 10 µs a row), %d on PostgreSQL (TWOFOLD_PRUNE_BATCH)", sqlitePruneBatch, portal.DefaultPruneBatch))
	proxies := fs.String("trusted-proxies", env("TWOFOLD_TRUSTED_PROXIES", ""), "comma-separated `IPs or CIDRs` of reverse proxies whose X-Forwarded-For/-Proto are believed (TWOFOLD_TRUSTED_PROXIES)")
	if len(args) > 0 {
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	for _, p := range strings.Split(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, nil, fmt.Errorf("--trusted-proxies: %q is not an IP or CIDR", p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, prefix.Masked())
	}
	if *grace != "" {
		if cfg.Require2FAGrace, err = parseDays(*grace); err != nil {
			return nil, nil, fmt.Errorf("--require-2fa-grace: %w", err)
		}
		if !cfg.Require2FA {
			return nil, nil, errors.New("--require-2fa-grace needs --require-2fa (TWOFOLD_REQUIRE_2FA=true)")
		}
	}
	if cfg.ActivityRetention, err = parseDays(*activity); err != nil {
		return nil, nil, fmt.Errorf("--activity-retention: %w", err)
	}
	if cfg.AuditRetention, err = parseDays(*audit); err != nil {
		return nil, nil, fmt.Errorf("--audit-retention: %w", err)
	}
	if cfg.PruneInterval, err = parseDays(*interval); err != nil {
		return nil, nil, fmt.Errorf("--prune-interval: %w", err)
	}
	if cfg.PruneBatch == 0 {
		cfg.PruneBatch = portal.DefaultPruneBatch
		if cfg.Database == "" {
			cfg.PruneBatch = sqlitePruneBatch
		}
	}
	if cfg.PruneBatch < 1 {
		return nil, nil, fmt.Errorf("--prune-batch %d: want 1 row or more", cfg.PruneBatch)
	}
	if cfg.PruneInterval != 0 && cfg.PruneInterval < time.Second {
		return nil, nil, fmt.Errorf("--prune-interval %s: want 1s or more", *interval)
	}
	if cfg.Database != "" && cfg.SecretKeyFile == "" {
		return nil, nil, errors.New("--database needs --secret-key-file: every instance on one database must use the same key")
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, nil, errors.New("--tls-cert and --tls-key go together")
	}
	if err := checkMailFlags(cfg); err != nil {
		return nil, nil, err
	}
	return cfg, fs.Args(), nil
}

// checkMailFlags refuses half a mail configuration and plain text SMTP
// beyond loopback, at start rather than at the first message.
func checkMailFlags(cfg *Config) error {
	if cfg.SMTPAddr == "" {
		if cfg.SMTPUser != "" || cfg.SMTPPasswordFile != "" || cfg.MailFrom != "" {
			return errors.New("--smtp-user, --smtp-password-file and --mail-from need --smtp-addr")
		}
		return nil
	}
	if cfg.PublicURL == "" {
		return errors.New("--smtp-addr needs --public-url (TWOFOLD_PUBLIC_URL): the links in mail point there")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("--public-url %q: want the portal's address, such as https://portal.example.com", cfg.PublicURL)
	}
	if cfg.MailFrom == "" {
		return errors.New("--smtp-addr needs --mail-from (TWOFOLD_MAIL_FROM)")
	}
	if (cfg.SMTPUser == "") != (cfg.SMTPPasswordFile == "") {
		return errors.New("--smtp-user and --smtp-password-file go together")
	}
	return mail.SMTPConfig{Addr: cfg.SMTPAddr, TLS: cfg.SMTPTLS, From: cfg.MailFrom}.Check()
}

// smtpClient builds the SMTP client, reading the password file.
func smtpClient(cfg *Config) (*mail.SMTP, error) {
	sc := mail.SMTPConfig{Addr: cfg.SMTPAddr, TLS: cfg.SMTPTLS, User: cfg.SMTPUser, From: cfg.MailFrom}
	if cfg.SMTPPasswordFile != "" {
		b, err := os.ReadFile(cfg.SMTPPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("reading --smtp-password-file: %w", err)
		}
		sc.Password, _, _ = strings.Cut(string(b), "\n")
		sc.Password = strings.TrimRight(sc.Password, "\r")
		if sc.Password == "" {
			return nil, fmt.Errorf("--smtp-password-file %s: the first line is empty", cfg.SMTPPasswordFile)
		}
	}
	return mail.NewSMTP(sc)
}

// parseDays reads a Go duration that may start with whole days: "14d",
// "1d12h", "36h", "90m".
func parseDays(s string) (time.Duration, error) {
	in := s
	if s == "" {
		return 0, errors.New("empty: want a duration such as 14d, 36h or 1d12h")
	}
	var d time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("%q: want a duration such as 14d, 36h or 1d12h", in)
		}
		d, s = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	if s != "" {
		rest, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 14d, 36h or 1d12h", in)
		}
		d += rest
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: want a duration of 0 or more", in)
	}
	return d, nil
}

// run is main with its dependencies as parameters, for tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	if cfg.Issuer == "" || strings.Contains(cfg.Issuer, ":") {
		return fmt.Errorf("--issuer %q: want a non-empty name without ':' (authenticator apps read ':' as the end of the issuer)", cfg.Issuer)
	}
	admin := len(rest) > 0
	if admin {
		// An admin command on a mistyped --data must not answer from a
		// new, empty database: it creates no directory, database or key.
		if err := checkExistingData(cfg); err != nil {
			return err
		}
	} else if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	store, closeStore, err := openStore(ctx, cfg, admin)
	if err != nil {
		return err
	}
	defer closeStore()
	keys, err := loadKeys(ctx, cfg, store, admin, rest)
	if err != nil {
		return err
	}
	pcfg := portal.DefaultConfig()
	pcfg.Issuer, pcfg.Signup = cfg.Issuer, cfg.Signup
	if cfg.HashSlots < 0 {
		return fmt.Errorf("--hash-slots %d: want 0 (one per core) or more", cfg.HashSlots)
	}
	pcfg.HashSlots = cfg.HashSlots
	pcfg.Require2FA, pcfg.Require2FAGrace = cfg.Require2FA, cfg.Require2FAGrace
	pcfg.Retention.Activity, pcfg.Retention.Audit, pcfg.Retention.Batch = cfg.ActivityRetention, cfg.AuditRetention, cfg.PruneBatch
	pcfg.Mail = portal.MailConfig{Enabled: cfg.SMTPAddr != "", PublicURL: strings.TrimRight(cfg.PublicURL, "/")}
	if cfg.SignupRate < 0 {
		return fmt.Errorf("--signup-rate %d: want 0 (no limit) or more", cfg.SignupRate)
	}
	if cfg.SignupRate == 0 {
		pcfg.SignupLimit = portal.Limit{} // never locks
	} else {
		pcfg.SignupLimit.Free = cfg.SignupRate
	}
	svc, err := portal.NewService(store, keys, pcfg, time.Now, rand.Reader)
	if err != nil {
		return err
	}

	if len(rest) > 0 {
		if rest[0] != "user" {
			return fmt.Errorf("unknown command %q (want \"user\"; see --help)", rest[0])
		}
		return userCommand(ctx, svc, rest[1:], stdin, stdout, stderr)
	}
	db, _ := store.(connStats)
	if cfg.SMTPAddr != "" {
		sender, err := smtpClient(cfg)
		if err != nil {
			return err
		}
		outbox := &mail.Outbox{Store: store, Sender: sender, Keys: keys, Logger: logger}
		octx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { outbox.Run(octx); close(done) }()
		defer func() { cancel(); <-done }()
	}
	return serve(ctx, cfg, svc, db, logger)
}

// loadKeys reads the secret key file. The server creates DATA/secret.key
// on first run, but only while the database holds no sealed secret: a
// database with secrets and no key is a lost or misplaced key file, and a
// new key would turn every two-factor sign-in into an error. Admin
// commands never create a key; "user reset-2fa" alone runs without one,
// as it is how an operator recovers from a key that is lost for good.
func loadKeys(ctx context.Context, cfg *Config, store portal.Store, admin bool, rest []string) (*portal.Keys, error) {
	keyFile, create := cfg.SecretKeyFile, false
	if keyFile == "" {
		keyFile, create = filepath.Join(cfg.Data, "secret.key"), true
	}
	master, err := portal.LoadOrCreateKeyFile(rand.Reader, keyFile, false)
	if errors.Is(err, fs.ErrNotExist) {
		switch {
		case admin && len(rest) >= 2 && rest[1] == "reset-2fa":
			// A key in memory only: reset-2fa seals nothing.
			master = make([]byte, portal.MasterKeySize)
			if _, err := io.ReadFull(rand.Reader, master); err != nil {
				return nil, fmt.Errorf("making a temporary key: %w", err)
			}
		case admin || !create:
			return nil, fmt.Errorf("secret key file %s does not exist: check --data and --secret-key-file, or restore it from a backup", keyFile)
		default:
			sealed, err := portal.HasSealedSecrets(ctx, store)
			if err != nil {
				return nil, err
			}
			if sealed {
				return nil, fmt.Errorf("secret key file %s is missing but the database holds two-factor secrets sealed with it: "+
					"restore the key file from a backup (or check --data); if it is lost for good, run \"user reset-2fa NAME\" for every user with 2FA on (see \"user list\"), then start again", keyFile)
			}
			master, err = portal.LoadOrCreateKeyFile(rand.Reader, keyFile, true)
			if err != nil {
				return nil, err
			}
		}
	} else if err != nil {
		return nil, err
	}
	keys, err := portal.NewKeys(master)
	if err != nil {
		return nil, err
	}
	if !admin {
		if err := portal.CheckKeys(ctx, store, keys); errors.Is(err, portal.ErrKeyMismatch) {
			return nil, fmt.Errorf("secret key file %s: %w (a key file from another installation?): use the key this database was made with", keyFile, err)
		} else if err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// checkExistingData refuses an admin command on a data directory or
// SQLite database that does not exist.
func checkExistingData(cfg *Config) error {
	if cfg.Database != "" {
		return nil
	}
	db := filepath.Join(cfg.Data, "portal.db")
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no portal database at %s: check --data (TWOFOLD_DATA), or start the portal once to create it", db)
	} else if err != nil {
		return fmt.Errorf("checking the database: %w", err)
	}
	return nil
}

// openStore opens PostgreSQL when --database is set, else SQLite in the
// data directory, which must be writable: a read-only or full disk is
// refused here rather than found out by the first sign-up. For an admin
// command, a PostgreSQL database without the portal's tables is refused,
// not set up.
func openStore(ctx context.Context, cfg *Config, admin bool) (portal.Store, func() error, error) {
	if cfg.Database != "" {
		open := postgres.Open
		if admin {
			open = postgres.OpenExisting
		}
		db, err := open(ctx, cfg.Database)
		if errors.Is(err, postgres.ErrNoPortal) {
			return nil, nil, fmt.Errorf("no portal database at --database (TWOFOLD_DATABASE): %w; check the database name in the URL, or start the portal once to create its tables", err)
		} else if err != nil {
			return nil, nil, err
		}
		return db, db.Close, nil
	}
	if err := checkWritable(cfg.Data); err != nil {
		return nil, nil, err
	}
	db, err := sqlite.Open(ctx, filepath.Join(cfg.Data, "portal.db"))
	if err != nil {
		return nil, nil, err
	}
	return db, db.Close, nil
}

func serve(ctx context.Context, cfg *Config, svc *portal.Service, db connStats, logger *slog.Logger) error {
	handler, err := web.NewServer(web.Config{TrustedProxies: cfg.TrustedProxies}, svc, logger)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	var clients atomic.Int64
	srv.ConnState = countConns(&clients)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	logger.Info("listening", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String()+"/", "data", cfg.Data, "signup", cfg.Signup,
		"require_2fa", cfg.Require2FA, "require_2fa_grace", cfg.Require2FAGrace.String(), "activity_retention", cfg.ActivityRetention.String(), "prune_interval", cfg.PruneInterval.String(), "smtp", cfg.SMTPAddr, "smtp_tls", cfg.SMTPTLS)

	if cfg.DebugAddr != "" {
		dln, err := net.Listen("tcp", cfg.DebugAddr)
		if err != nil {
			return fmt.Errorf("listening for debug: %w", err)
		}
		dsrv := &http.Server{Handler: debugHandler(db, &clients), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := dsrv.Serve(dln); !errors.Is(err, http.ErrServerClosed) {
				logger.Warn("debug listener stopped", "error", err)
			}
		}()
		defer dsrv.Close()
		logger.Info("debug listener", "addr", dln.Addr().String())
	}

	if cfg.PruneInterval > 0 {
		go pruneLoop(ctx, svc, cfg.PruneInterval, logger)
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable (read-only or full disk?): %w", dir, err)
	}
	_, werr := f.Write([]byte("ok\n"))
	cerr := f.Close()
	os.Remove(f.Name())
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("data directory %s is not writable (read-only or full disk?): %w", dir, err)
	}
	return nil
}

// sqlitePruneBatch is the pruner's batch on SQLite: a code check queued
// behind a batch waits about 1 ms (bench group 6 measures it).
const sqlitePruneBatch = 100

// pruneLoop deletes what is past its retention now and every interval,
// until ctx ends. Every instance on a shared database runs it: the
// deletes are idempotent and skip the rows another instance holds.
func pruneLoop(ctx context.Context, svc *portal.Service, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := svc.Prune(ctx)
		if err != nil && ctx.Err() == nil {
			logger.Warn("pruning", "error", err)
		}
		if n.Total() > 0 {
			attrs := []any{"rows", n.Total()}
			for _, kind := range portal.PruneKinds() {
				if n[kind] > 0 {
					attrs = append(attrs, string(kind), n[kind])
				}
			}
			logger.Info("pruned", attrs...)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// adminError is what an operator at a shell sees: the customer-facing
// message for a refusal (a taken name, an unknown user), and the cause
// itself for anything else (a database error is not "try again").
func adminError(what string, err error) error {
	if code := portal.ErrorCode(err); code == portal.EINTERNAL || code == portal.EUNAVAILABLE {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %s", what, portal.ErrorMessage(err))
}

func userCommand(ctx context.Context, svc *portal.Service, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("user: want add, list, delete, set-password, reset-2fa, forget-devices, grant-admin, revoke-admin, disable or enable")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	display := fs.String("display-name", "", "display name (add; default: the username)")
	email := fs.String("email", "", "e-mail address (add; confirmed by a link, so it needs the SMTP flags)")
	password := fs.String("password", "", "password (add, set-password; default: read the first line of stdin; a flag is visible to other local users)")
	// Accept the name before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if cmd != "list" && name == "" {
		return fmt.Errorf("user %s: missing NAME", cmd)
	}
	switch cmd {
	case "add":
		pw := *password
		if pw == "" {
			var err error
			if pw, err = readPassword(stdin, stderr); err != nil {
				return fmt.Errorf("user add: %w", err)
			}
		}
		u, err := svc.AddUser(ctx, name, *display, *email, pw)
		if err != nil {
			return adminError("user add", err)
		}
		fmt.Fprintf(stdout, "added user %s (%s)\n", u.Username, u.DisplayName)
		if u.EmailPending != "" {
			fmt.Fprintf(stdout, "a confirmation link to %s is queued: the running portal sends it\n", u.EmailPending)
		}
	case "list":
		users, err := svc.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tDISPLAY NAME\t2FA\tE-MAIL\tCREATED\tSTATE")
		for _, u := range users {
			twofa := "off"
			if u.TwoFactor() {
				twofa = "on"
			}
			email := u.Email
			switch {
			case email == "" && u.EmailPending != "":
				email = u.EmailPending + " (unconfirmed)"
			case email == "":
				email = "-"
			}
			var state []string
			if u.Admin {
				state = append(state, "admin")
			}
			if u.Disabled {
				state = append(state, "disabled")
			}
			if state == nil {
				state = []string{"-"}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, u.DisplayName, twofa, email, u.CreatedAt.UTC().Format(time.DateTime), strings.Join(state, ","))
		}
		return tw.Flush()
	case "delete":
		if err := svc.DeleteUser(ctx, name); err != nil {
			return adminError("user delete", err)
		}
		fmt.Fprintf(stdout, "deleted user %s\n", portal.NormalizeUsername(name))
	case "set-password":
		pw := *password
		if pw == "" {
			var err error
			if pw, err = readPassword(stdin, stderr); err != nil {
				return fmt.Errorf("user set-password: %w", err)
			}
		}
		if err := svc.SetPassword(ctx, name, pw); err != nil {
			return adminError("user set-password", err)
		}
		fmt.Fprintf(stdout, "password of %s changed; their sessions were ended\n", portal.NormalizeUsername(name))
	case "reset-2fa":
		if err := svc.ResetTwoFactor(ctx, name); err != nil {
			return adminError("user reset-2fa", err)
		}
		fmt.Fprintf(stdout, "two-factor authentication is off for %s; their sessions were ended and their remembered devices forgotten\n", portal.NormalizeUsername(name))
	case "forget-devices":
		n, err := svc.ForgetDevicesOf(ctx, name)
		if err != nil {
			return adminError("user forget-devices", err)
		}
		fmt.Fprintf(stdout, "forgot %d remembered device(s) of %s: each is asked for a code at its next sign-in\n", n, portal.NormalizeUsername(name))
	case "grant-admin":
		if err := svc.GrantAdmin(ctx, name); err != nil {
			return adminError("user grant-admin", err)
		}
		fmt.Fprintf(stdout, "%s is an admin: the support console is at /admin\n", portal.NormalizeUsername(name))
	case "revoke-admin":
		if err := svc.RevokeAdmin(ctx, name); err != nil {
			return adminError("user revoke-admin", err)
		}
		fmt.Fprintf(stdout, "%s is no longer an admin\n", portal.NormalizeUsername(name))
	case "disable", "enable":
		if err := svc.SetDisabled(ctx, name, cmd == "disable", "admin"); err != nil {
			return adminError("user "+cmd, err)
		}
		if cmd == "disable" {
			fmt.Fprintf(stdout, "%s is disabled: it cannot sign in, and its sessions were ended\n", portal.NormalizeUsername(name))
		} else {
			fmt.Fprintf(stdout, "%s is enabled again\n", portal.NormalizeUsername(name))
		}
	default:
		return fmt.Errorf("user: unknown command %q (want add, list, delete, set-password, reset-2fa, forget-devices, grant-admin, revoke-admin, disable or enable)", cmd)
	}
	return nil
}

// readPassword reads the new password: from a terminal without echo, and
// twice; otherwise the first line of stdin.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		fmt.Fprint(stderr, "Password again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		if string(pw) != string(again) {
			return "", errors.New("the two passwords do not match")
		}
		return string(pw), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("give the password on the first line of stdin or with --password")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
