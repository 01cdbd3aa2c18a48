package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"twofold.dev/desktop/keyring"
	"twofold.dev/desktop/release"
	"twofold.dev/desktop/screen"
	"twofold.dev/desktop/ui"
	"twofold.dev/desktop/vault"
	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

const usage = `Usage: twofold [-config DIR] [-timeout DURATION] [COMMAND | LINK]

With no command, opens the authenticator window. With an otpauth:// or
otpauth-migration:// LINK (as a browser passes it), shows it in the
window's add preview. One window per user: a later launch hands its link
to the open window and brings it to the front.

Commands:
  add URI...           add the accounts in otpauth:// or otpauth-migration:// URIs
  add --image FILE...  add the accounts in the QR codes of PNG, JPEG or GIF images
  add --screen         add the accounts in the QR codes shown on the screen
  add --backup FILE... add the accounts of plain Aegis (.json) or 2FAS (.2fas) backups
  list                 list the accounts: label, type and parameters
  code LABEL           print the current code (digits only); for an HOTP
                       account, the code for the stored counter, then advance it
  remove LABEL         delete an account and its keyring item
  decode FILE...       print the text of every QR code in the images; store nothing
  version              print the name and version (also --version)

LABEL is "Issuer:account" as listed, or any part of it that matches one account.

Options:
  -config DIR          where the account index lives
                       (default $TWOFOLD_CONFIG_DIR, else <user config dir>/twofold)
  -timeout DURATION    how long to wait for the keyring (default $TWOFOLD_KEYRING_TIMEOUT, else 10s)

Window shortcuts:
  Ctrl+N add account            Ctrl+Shift+S scan QR codes on the screen
  Ctrl+O open image             Ctrl+V paste a link or a QR image
  Ctrl+F search                 Ctrl+C or Enter copy the selected code
  Ctrl+Q quit                   Enter in the preview adds the accounts found

Secrets are kept in the OS keyring (service "twofold"), never in files.
`

// config is what run reads from the command line and the environment.
type config struct {
	dir     string
	timeout time.Duration
	// traceFirstCode is $TWOFOLD_TRACE_FIRST_CODE: a file the window writes
	// the time of its first painted code to (for `make bench`).
	traceFirstCode string
	version        bool // --version
}

// isLink says whether arg is a link the window opens (a browser runs
// `twofold LINK` for the otpauth and otpauth-migration schemes).
func isLink(arg string) bool {
	scheme, _, ok := strings.Cut(arg, "://")
	return ok && (strings.EqualFold(scheme, "otpauth") || strings.EqualFold(scheme, "otpauth-migration"))
}

// run is the whole program: main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runAt(ctx, time.Now, args, getenv, stdin, stdout, stderr)
}

// runAt is run with the clock the codes are computed at.
func runAt(ctx context.Context, now func() time.Time, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, ui.Keys(usage))
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.version {
		fmt.Fprintln(stdout, release.String())
		return nil
	}
	if len(rest) == 0 {
		return window(ctx, cfg, "")
	}
	if isLink(rest[0]) {
		if len(rest) > 1 {
			return errors.New("give one link to open (to add several at once: twofold add URI...)")
		}
		return window(ctx, cfg, rest[0])
	}
	c := &cli{cfg: cfg, now: now, stdout: stdout, stderr: stderr}
	cmd, rest := rest[0], rest[1:]
	switch cmd {
	case "add":
		return c.add(ctx, rest)
	case "list":
		return c.list(ctx, rest)
	case "code":
		return c.code(ctx, rest)
	case "remove", "rm", "delete":
		return c.remove(ctx, rest)
	case "decode":
		return c.decode(rest)
	case "version":
		fmt.Fprintln(stdout, release.String())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, ui.Keys(usage))
		return nil
	}
	return fmt.Errorf("unknown command %q (try: twofold help)", cmd)
}

func parseConfig(args []string, getenv func(string) string) (*config, []string, error) {
	fs := flag.NewFlagSet("twofold", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := &config{timeout: 10 * time.Second, traceFirstCode: getenv("TWOFOLD_TRACE_FIRST_CODE")}
	if v := getenv("TWOFOLD_KEYRING_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, nil, fmt.Errorf("TWOFOLD_KEYRING_TIMEOUT=%q: want a duration like 10s", v)
		}
		cfg.timeout = d
	}
	fs.StringVar(&cfg.dir, "config", getenv("TWOFOLD_CONFIG_DIR"), "")
	fs.DurationVar(&cfg.timeout, "timeout", cfg.timeout, "")
	fs.BoolVar(&cfg.version, "version", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w (try: twofold help)", err)
	}
	if cfg.dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return nil, nil, fmt.Errorf("finding the config directory: %w (set -config or TWOFOLD_CONFIG_DIR)", err)
		}
		cfg.dir = filepath.Join(base, "twofold")
	}
	return cfg, fs.Args(), nil
}

type cli struct {
	cfg            *config
	now            func() time.Time
	stdout, stderr io.Writer
}

func (c *cli) store() (*keyring.Store, error) {
	return keyring.Open(keyring.Options{Dir: c.cfg.dir, Timeout: c.cfg.timeout})
}

func (c *cli) add(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	image := fs.Bool("image", false, "")
	scr := fs.Bool("screen", false, "")
	backup := fs.Bool("backup", false, "")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("add: %w", err)
	}
	args = fs.Args()
	var keys []*totp.Key
	switch {
	case btoi(*image)+btoi(*scr)+btoi(*backup) > 1:
		return errors.New("add: give one of --image, --screen or --backup")
	case *backup:
		if len(args) == 0 {
			return errors.New("add --backup: give at least one backup file")
		}
		for _, name := range args {
			data, err := os.ReadFile(name)
			if err != nil {
				return fmt.Errorf("add --backup: %w", err)
			}
			f, err := vault.ParseBackup(data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			for _, s := range f.Skipped {
				fmt.Fprintf(c.stderr, "twofold: %s: skipped %s\n", name, s)
			}
			keys = append(keys, f.Keys...)
		}
	case *scr:
		if len(args) > 0 {
			return errors.New("add --screen takes no arguments")
		}
		imgs, err := screen.Capture()
		if err != nil {
			return err
		}
		scan, err := vault.ParseImages(imgs)
		if err != nil {
			return err
		}
		c.notes(scan)
		keys = scan.Keys
	case *image:
		if len(args) == 0 {
			return errors.New("add --image: give at least one image file")
		}
		for _, name := range args {
			data, err := os.ReadFile(name)
			if err != nil {
				return fmt.Errorf("add --image: %w", err)
			}
			scan, err := vault.ParseImageBytes(data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			c.notes(scan)
			keys = append(keys, scan.Keys...)
		}
	default:
		if len(args) == 0 {
			return errors.New("add: give an otpauth:// or otpauth-migration:// URI, --image FILE, --backup FILE or --screen")
		}
		// Every URI is read before anything is saved: bad input adds nothing.
		for _, s := range args {
			f, err := vault.ParseText(s)
			if err != nil {
				return err
			}
			keys = append(keys, f.Keys...)
		}
	}
	st, err := c.store()
	if err != nil {
		return err
	}
	var added int
	var dups []error
	for _, k := range keys {
		a, err := st.Add(ctx, k)
		if errors.Is(err, vault.ErrDuplicate) {
			dups = append(dups, err)
			continue
		}
		if err != nil {
			return errors.New(vault.Message(err))
		}
		added++
		fmt.Fprintf(c.stdout, "added %s\n", a.Label())
	}
	if added == 0 && len(dups) > 0 {
		return dups[0]
	}
	for _, err := range dups {
		fmt.Fprintf(c.stderr, "twofold: skipped: %v\n", err)
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// notes prints what a scan skipped, so a partly useful picture is explained.
func (c *cli) notes(s *vault.Scan) {
	for _, n := range s.Notes {
		fmt.Fprintf(c.stderr, "twofold: %s\n", n)
	}
	for _, err := range s.Refused {
		fmt.Fprintf(c.stderr, "twofold: skipped %v\n", err)
	}
}

func (c *cli) list(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("list takes no arguments")
	}
	st, err := c.store()
	if err != nil {
		return err
	}
	list, err := st.List(ctx)
	if err != nil {
		return err
	}
	for _, a := range list {
		params := fmt.Sprintf("totp %s %d digits %ds", a.Algorithm, a.Digits, a.Period)
		if a.Type == totp.HOTP {
			params = fmt.Sprintf("hotp %s %d digits counter %d", a.Algorithm, a.Digits, a.Counter)
		}
		if a.Missing {
			params += " (secret missing from the keyring)"
		}
		fmt.Fprintf(c.stdout, "%s\t%s\n", a.Label(), params)
	}
	return nil
}

// find opens the store and resolves a LABEL argument.
func (c *cli) find(ctx context.Context, cmd string, args []string) (*keyring.Store, vault.Account, error) {
	if len(args) != 1 {
		return nil, vault.Account{}, fmt.Errorf("%s: give one LABEL (Issuer:account or a unique part of it)", cmd)
	}
	st, err := c.store()
	if err != nil {
		return nil, vault.Account{}, err
	}
	list, err := st.List(ctx)
	if err != nil {
		return nil, vault.Account{}, err
	}
	a, err := vault.Find(list, args[0])
	if err != nil {
		return nil, vault.Account{}, fmt.Errorf("%s: %w", cmd, err)
	}
	return st, a, nil
}

func (c *cli) code(ctx context.Context, args []string) error {
	st, a, err := c.find(ctx, "code", args)
	if err != nil {
		return err
	}
	var code string
	if a.Type == totp.HOTP {
		code, err = st.NextHOTP(ctx, a.ID)
	} else {
		code, err = st.Code(ctx, a.ID, c.now())
	}
	if err != nil {
		return errors.New(vault.Message(err))
	}
	fmt.Fprintln(c.stdout, code)
	return nil
}

func (c *cli) remove(ctx context.Context, args []string) error {
	st, a, err := c.find(ctx, "remove", args)
	if err != nil {
		return err
	}
	if err := st.Delete(ctx, a.ID); err != nil {
		return errors.New(vault.Message(err))
	}
	fmt.Fprintf(c.stdout, "removed %s\n", a.Label())
	return nil
}

// decode prints every QR code's text, one per line, like zbarimg --raw.
func (c *cli) decode(args []string) error {
	if len(args) == 0 {
		return errors.New("decode: give at least one image file")
	}
	var failed []string
	for _, name := range args {
		data, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		texts, err := qr.DecodeBytes(data)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		for _, t := range texts {
			fmt.Fprintln(c.stdout, t)
		}
	}
	if len(failed) > 0 {
		return errors.New("decode: " + strings.Join(failed, "; "))
	}
	return nil
}
