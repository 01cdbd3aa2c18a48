package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
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
  add --backup FILE... add the accounts of Aegis (.json) or 2FAS (.2fas) backups,
                       plain or encrypted (the password is asked), or of a .txt
                       file of otpauth URIs, one per line
  add --replace ...    an account whose label is taken replaces the one that has it
  add --keep-both ...  an account whose label is taken is added beside it
  list                 list the accounts: id, label, type and parameters; pinned
                       accounts first, marked (pinned), as the window shows them
  code LABEL           print the current code (digits only); for an HOTP
                       account, the code for the stored counter, then advance it
  remove LABEL         delete an account and its keyring item
  pin LABEL            pin an account: the window and list show it first
  unpin LABEL          unpin it: it goes back to its place among the others
  repair               rebuild the account list from the keyring: a damaged list
                       is kept aside, accounts found only in the keyring are added
  decode FILE...       print the text of every QR code in the images; store nothing
  export --encrypted FILE
                       write every account to an encrypted Aegis vault (password
                       asked twice); restore it with add --backup, or in Aegis
  export --google-authenticator DIR
                       write Google Authenticator transfer QR codes (PNG, at most
                       10 accounts each); accounts it cannot hold are named
  export --uris FILE --i-understand-plain
                       write otpauth URIs, one per line, secrets in PLAIN text (0600)
  backup-dir [--keep N] DIR
                       after every change, write an encrypted backup to DIR and
                       keep the last N (default 10); asks for the backup password
                       once and keeps it in the keyring (service twofold-backup)
  backup-dir           show where automatic backups go
  backup-dir --off     stop automatic backups (the files stay)
  version              print the name and version (also --version)

LABEL is the id list shows (or any 4 or more of its first digits), "Issuer:account"
as listed, or any part of it that matches one account. Adding an account whose
label (case aside) is already taken, with another secret, is refused unless
--replace or --keep-both (before or after the URIs) says what to do.

Every change to the account list takes a lock (accounts.json.lock beside it), so
the window and any number of commands can run at once; a command waits up to 30s
(or three times -timeout, if longer) for another Twofold to finish, then says so.

Options:
  -config DIR          where the account index lives
                       (default $TWOFOLD_CONFIG_DIR, else <user config dir>/twofold)
  -timeout DURATION    how long to wait for the keyring (default $TWOFOLD_KEYRING_TIMEOUT, else 10s)

Window shortcuts:
  Ctrl+N add account            Ctrl+Shift+S scan QR codes on the screen
  Ctrl+O open image             Ctrl+V paste a link or a QR image
  Ctrl+F search                 Ctrl+C or Enter copy the selected code
  Ctrl+Q quit                   Enter in the preview adds the accounts found

Passwords are read without echo on a terminal, or as one line of stdin
otherwise. A secret shorter than 80 bits is added with a warning.

Secrets are kept in the OS keyring (service "twofold"), never in files.
`

// config is what run reads from the command line and the environment.
type config struct {
	dir     string
	timeout time.Duration
	// crashAt names a step inside the account list's lock at which the
	// process kills itself (keyring.Options.Crash), to show a crash there
	// loses nothing: $TWOFOLD_TEST_CRASH, read only by a binary built with
	// the crashtest tag (crash_test_build.go); a shipped one ignores it.
	crashAt string
	version bool // --version
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
		return window(ctx, cfg, "", getenv)
	}
	if isLink(rest[0]) {
		if len(rest) > 1 {
			return errors.New("give one link to open (to add several at once: twofold add URI...)")
		}
		return window(ctx, cfg, rest[0], getenv)
	}
	c := &cli{cfg: cfg, now: now, stdin: stdin, stdout: stdout, stderr: stderr}
	cmd, rest := rest[0], rest[1:]
	defer c.backupIfChanged(ctx, c.indexStamp()) // after any command that changed the accounts (backupdir.go)
	switch cmd {
	case "add":
		return c.add(ctx, rest)
	case "list":
		return c.list(ctx, rest)
	case "code":
		return c.code(ctx, rest)
	case "remove", "rm", "delete":
		return c.remove(ctx, rest)
	case "pin":
		return c.pin(ctx, "pin", rest, true)
	case "unpin":
		return c.pin(ctx, "unpin", rest, false)
	case "repair":
		return c.repair(ctx, rest)
	case "decode":
		return c.decode(rest)
	case "export":
		return c.export(ctx, rest)
	case "backup-dir":
		return c.backupDir(ctx, rest)
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
	cfg := &config{timeout: 10 * time.Second, crashAt: crashStep(getenv)}
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
		return nil, nil, optionError("twofold", err)
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
	stdin          io.Reader
	stdout, stderr io.Writer
	pw             *passwords // asks for backup passwords (export.go)
}

func (c *cli) store() (*keyring.Store, error) {
	return keyring.Open(keyring.Options{Dir: c.cfg.dir, Timeout: c.cfg.timeout, Crash: crashHook(c.cfg.crashAt)})
}

// crashHook kills the process, as a power cut would, at the named step.
func crashHook(at string) func(string) {
	if at == "" {
		return nil
	}
	return func(stage string) {
		if stage != at {
			return
		}
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			p.Kill()
		}
		select {} // the kill is on its way
	}
}

func (c *cli) add(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	image := fs.Bool("image", false, "")
	scr := fs.Bool("screen", false, "")
	backup := fs.Bool("backup", false, "")
	replace := fs.Bool("replace", false, "")
	keepBoth := fs.Bool("keep-both", false, "")
	// Options may follow the URIs: the refusal of a taken label says to
	// add again with --replace, and a user appends it.
	args, err := parseAnywhere(fs, args)
	if err != nil {
		return optionError("add", err)
	}
	taken := vault.RefuseTaken
	switch {
	case *replace && *keepBoth:
		return errors.New("add: give --replace or --keep-both, not both")
	case *replace:
		taken = vault.ReplaceTaken
	case *keepBoth:
		taken = vault.KeepBoth
	}
	var keys []*totp.Key
	pinned := map[*totp.Key]bool{} // a backup's favourites
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
				return fmt.Errorf("add --backup: %w", vault.FileError("read", name, err))
			}
			f, err := c.readBackup(name, data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			for _, s := range f.Skipped {
				fmt.Fprintf(c.stderr, "twofold: %s: skipped %s\n", name, s)
			}
			keys = append(keys, f.Keys...)
			maps.Copy(pinned, f.Pinned)
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
				return fmt.Errorf("add --image: %w", vault.FileError("read", name, err))
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
			c.skippedLines(f) // several URIs in one argument: bad lines named (export.go)
			keys = append(keys, f.Keys...)
		}
	}
	c.warnShortSecrets(keys)
	st, err := c.store()
	if err != nil {
		return err
	}
	var added int
	var dups []error
	var refused []*vault.LabelTakenError
	for _, k := range keys {
		a, err := st.AddWith(ctx, k, taken)
		var lt *vault.LabelTakenError
		switch {
		case errors.Is(err, vault.ErrDuplicate):
			dups = append(dups, err)
			continue
		case errors.As(err, &lt):
			refused = append(refused, lt)
			continue
		case err != nil:
			return errors.New(vault.Message(err))
		}
		added++
		if pinned[k] {
			if err := st.Pin(ctx, a.ID, true); err != nil {
				return fmt.Errorf("added %s, but could not pin it: %s", a.Label(), vault.Message(err))
			}
			fmt.Fprintf(c.stdout, "added %s (pinned)\n", a.Label())
			continue
		}
		fmt.Fprintf(c.stdout, "added %s\n", a.Label())
	}
	if len(refused) == 1 {
		return fmt.Errorf("not added: %v: add it again with --replace to replace that account, or --keep-both to keep both", refused[0])
	}
	if len(refused) > 1 {
		names := make([]string, len(refused))
		for i, lt := range refused {
			names[i] = lt.Label
		}
		return fmt.Errorf("not added: %d labels are already taken by accounts with other secrets (%s): add them again with --replace to replace those accounts, or --keep-both to keep both", len(refused), strings.Join(names, ", "))
	}
	if added == 0 && len(dups) == 1 {
		return dups[0]
	}
	if added == 0 && len(dups) > 1 {
		return fmt.Errorf("nothing added: the %d accounts are already there, with the same labels and secrets", len(dups))
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
		return errors.New(vault.Message(err))
	}
	for _, a := range vault.PinnedFirst(list) {
		params := fmt.Sprintf("totp %s %d digits %ds", a.Algorithm, a.Digits, a.Period)
		if a.Type == totp.HOTP {
			params = fmt.Sprintf("hotp %s %d digits counter %d", a.Algorithm, a.Digits, a.Counter)
		}
		if a.Pinned {
			params += " (pinned)"
		}
		if a.Missing {
			params += " (secret missing from the keyring)"
		}
		fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", vault.ShortID(a.ID), a.Label(), params)
	}
	c.orphans(ctx, st)
	return nil
}

// orphans says on stderr how many accounts are in the keyring but not in
// the list. It is advice: a keyring that cannot answer does not stop list.
func (c *cli) orphans(ctx context.Context, st *keyring.Store) {
	orphans, err := st.Orphans(ctx)
	switch {
	case errors.Is(err, vault.ErrCannotList), errors.Is(err, keyring.ErrAdding):
	case err != nil:
		fmt.Fprintf(c.stderr, "twofold: could not look for accounts missing from the list: %s\n", vault.Message(err))
	case len(orphans) == 1:
		fmt.Fprintf(c.stderr, "twofold: 1 account in the keyring is not in the list (%s): twofold repair adds it back\n", orphans[0].Label())
	case len(orphans) > 1:
		fmt.Fprintf(c.stderr, "twofold: %d accounts in the keyring are not in the list: twofold repair adds them back\n", len(orphans))
	}
}

func (c *cli) repair(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("repair takes no arguments")
	}
	st, err := c.store()
	if err != nil {
		return err
	}
	r, err := st.Repair(ctx)
	if err != nil {
		return fmt.Errorf("repair: %s", vault.Message(err))
	}
	if r.KeptAside != "" {
		fmt.Fprintf(c.stdout, "kept the damaged account list aside as %s\n", r.KeptAside)
	}
	guessed := map[string]bool{}
	for _, a := range r.Guessed {
		guessed[a.ID] = true
	}
	for _, a := range r.Restored {
		note := ""
		if guessed[a.ID] {
			note = "\t(its keyring item has no name or parameters: assumed TOTP SHA1, 6 digits, 30s; check its code, then rename it)"
		}
		fmt.Fprintf(c.stdout, "restored %s\t%s%s\n", vault.ShortID(a.ID), a.Label(), note)
	}
	for _, a := range r.Missing {
		fmt.Fprintf(c.stdout, "missing %s\t%s\t(its secret is gone from the keyring: remove it and add it again from the site)\n", vault.ShortID(a.ID), a.Label())
	}
	if r.Described > 0 {
		fmt.Fprintf(c.stdout, "named %d keyring items after their accounts\n", r.Described)
	}
	fmt.Fprintf(c.stdout, "%s kept, %d restored from the keyring\n", vault.Accounts(r.Kept), len(r.Restored))
	return nil
}

// find opens the store and resolves a LABEL argument.
func (c *cli) find(ctx context.Context, cmd string, args []string) (*keyring.Store, vault.Account, error) {
	if len(args) != 1 {
		return nil, vault.Account{}, fmt.Errorf("%s: give one LABEL (the id list shows, Issuer:account or a unique part of it)", cmd)
	}
	st, err := c.store()
	if err != nil {
		return nil, vault.Account{}, err
	}
	list, err := st.List(ctx)
	if err != nil {
		return nil, vault.Account{}, errors.New(vault.Message(err))
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

// pin pins (pinned) or unpins the account LABEL names.
func (c *cli) pin(ctx context.Context, cmd string, args []string, pinned bool) error {
	st, a, err := c.find(ctx, cmd, args)
	if err != nil {
		return err
	}
	if a.Pinned == pinned {
		fmt.Fprintf(c.stdout, "%s is already %sned\n", a.Label(), cmd)
		return nil
	}
	if err := st.Pin(ctx, a.ID, pinned); err != nil {
		return errors.New(vault.Message(err))
	}
	fmt.Fprintf(c.stdout, "%sned %s\n", cmd, a.Label())
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
			return fmt.Errorf("decode: %w", vault.FileError("read", name, err))
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

// parseAnywhere parses fs's options wherever they are among the arguments
// and returns the other arguments in order.
func parseAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// flagValue is the flag package's "invalid value" error.
var flagValue = regexp.MustCompile(`^invalid (?:boolean )?value (".*") for flag (-\S+?):`)

// optionError puts the flag package's errors in the command line's words:
// "unknown option -x", not "flag provided but not defined: -x".
func optionError(cmd string, err error) error {
	msg := err.Error()
	if m := flagValue.FindStringSubmatch(msg); m != nil {
		msg = m[1] + " is not a valid value for " + m[2]
	} else if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		msg = "unknown option " + name
	} else if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		msg = name + " needs a value"
	}
	return fmt.Errorf("%s: %s (try: twofold help)", cmd, msg)
}
