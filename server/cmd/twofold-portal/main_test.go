package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/server/sqlite"
)

// logWatcher collects run's log and reports the listening address.
type logWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	sent bool
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

func (w *logWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := listeningRE.FindSubmatch(w.buf.Bytes()); m != nil && !w.sent {
		w.sent = true
		w.addr <- string(m[1])
	}
	return len(p), nil
}

func (w *logWatcher) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.buf.String() }

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRunServesAndShutsDown(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &logWatcher{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"twofold-portal", "--addr", "127.0.0.1:0"}, env(map[string]string{"TWOFOLD_DATA": dir, "TWOFOLD_ISSUER": "Acme"}), strings.NewReader(""), io.Discard, logs)
	}()
	var addr string
	select {
	case addr = <-logs.addr:
	case err := <-done:
		t.Fatalf("run returned early: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("not listening after 30 s:\n%s", logs)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("/healthz: %d %q", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("/login: %d %v", resp.StatusCode, resp.Header)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no graceful shutdown within 15 s")
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key file: %v %v", err, fi)
	}
	if _, err := os.Stat(filepath.Join(dir, "portal.db")); err != nil {
		t.Errorf("no database: %v", err)
	}
	if !strings.Contains(logs.String(), "path=/healthz") || !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("log:\n%s", logs)
	}
}

// initData makes what the server makes on its first run: the database
// and the key file.
func initData(t *testing.T, dir string) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := portal.LoadOrCreateKeyFile(rand.Reader, filepath.Join(dir, "secret.key"), true); err != nil {
		t.Fatal(err)
	}
}

// adminCLI runs twofold-portal's admin commands on the data in dir with
// empty stdin, as a person at a shell would; it returns what they print.
func adminCLI(t *testing.T, dir string) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(t.Context(), append([]string{"twofold-portal", "--data", dir}, args...), env(nil), strings.NewReader(""), &out, &errb)
		return out.String() + errb.String(), err
	}
}

// joeAndAnn is a fresh data directory with the accounts joe and ann, made
// by the admin CLI (returned), and its database opened beside it.
func joeAndAnn(t *testing.T) (func(args ...string) (string, error), *sqlite.DB) {
	t.Helper()
	dir := t.TempDir()
	initData(t, dir)
	cli := adminCLI(t, dir)
	for _, name := range []string{"joe", "ann"} {
		if out, err := cli("user", "add", name, "--password", "a long enough password"); err != nil {
			t.Fatalf("user add %s: %v %s", name, err, out)
		}
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return cli, db
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	initData(t, dir)
	cli := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(t.Context(), append([]string{"twofold-portal", "--data", dir}, args...), env(nil), strings.NewReader(stdin), &out, &errb)
		return out.String() + errb.String(), err
	}
	const pw = "a long enough password"
	out, err := cli(pw+"\n", "user", "add", "Joe", "--display-name", "Joe Bloggs")
	if err != nil || !strings.Contains(out, "added user joe (Joe Bloggs)") {
		t.Fatalf("user add: %v %q", err, out)
	}
	if strings.Contains(out, pw) {
		t.Error("user add echoed the password")
	}
	if _, err := cli(pw+"\n", "user", "add", "joe"); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("duplicate user add: %v", err)
	}
	if _, err := cli("short\n", "user", "add", "ann"); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("short password: %v", err)
	}
	if _, err := cli("", "user", "add", "ann"); err == nil {
		t.Error("user add without a password worked")
	}
	if out, err := cli("", "user", "add", "ann", "--password", pw); err != nil {
		t.Errorf("user add --password: %v %s", err, out)
	}
	out, err = cli("", "user", "list")
	if err != nil || !strings.Contains(out, "joe") || !strings.Contains(out, "Joe Bloggs") || !strings.Contains(out, "ann") || !strings.Contains(out, "off") {
		t.Errorf("user list: %v\n%s", err, out)
	}
	if out, err := cli("", "user", "reset-2fa", "joe"); err != nil || !strings.Contains(out, "off for joe") {
		t.Errorf("user reset-2fa: %v %s", err, out)
	}
	if _, err := cli("", "user", "reset-2fa", "nobody"); err == nil {
		t.Error("reset-2fa of an unknown user worked")
	}
	if out, err := cli("", "user", "delete", "joe"); err != nil || !strings.Contains(out, "deleted user joe") {
		t.Errorf("user delete: %v %s", err, out)
	}
	if out, _ := cli("", "user", "list"); strings.Contains(out, "joe") {
		t.Errorf("joe still listed:\n%s", out)
	}
	for _, args := range [][]string{{"user"}, {"user", "frobnicate", "x"}, {"user", "delete"}, {"serve"}, {"--nope"}} {
		if _, err := cli("", args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestFlagsAndEnv(t *testing.T) {
	cfg, rest, err := parseFlags([]string{"x", "--signup=false", "--trusted-proxies", "10.0.0.1, 192.168.0.0/16", "user", "list"},
		env(map[string]string{"TWOFOLD_ADDR": ":9999", "TWOFOLD_DATA": "/srv/tf", "TWOFOLD_SIGNUP": "true"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":9999" || cfg.Data != "/srv/tf" || cfg.Signup || cfg.Issuer != "Twofold Portal" || len(cfg.TrustedProxies) != 2 ||
		cfg.TrustedProxies[0].String() != "10.0.0.1/32" || strings.Join(rest, " ") != "user list" {
		t.Errorf("config %+v, rest %v", cfg, rest)
	}
	for _, args := range [][]string{{"x", "--trusted-proxies", "nonsense"}, {"x", "--tls-cert", "c.pem"}} {
		if _, _, err := parseFlags(args, env(nil), io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if _, _, err := parseFlags([]string{"x"}, env(map[string]string{"TWOFOLD_SIGNUP": "maybe"}), io.Discard); err == nil {
		t.Error("TWOFOLD_SIGNUP=maybe accepted")
	}
	// An explicit key file must exist: it is never created silently.
	data := t.TempDir()
	initData(t, data)
	err = run(t.Context(), []string{"x", "--data", data, "--secret-key-file", filepath.Join(t.TempDir(), "missing.key"), "user", "list"}, env(nil), strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "secret key file") {
		t.Errorf("missing --secret-key-file: %v", err)
	}
}

// An operator sees the cause of an internal error, and the plain message
// of a refusal.
func TestAdminError(t *testing.T) {
	cause := errors.New("sqlite: disk I/O error (SQLITE_IOERR)")
	if got := adminError("user add", fmt.Errorf("adding user: %w", cause)).Error(); !strings.Contains(got, "disk I/O error") {
		t.Errorf("internal error hidden from the operator: %q", got)
	}
	refusal := portal.Errorf(portal.ECONFLICT, "That username is taken.")
	if got := adminError("user add", refusal).Error(); got != "user add: That username is taken." {
		t.Errorf("refusal: %q", got)
	}
}

// A mistyped data directory: admin commands refuse it and create nothing.
func TestAdminNeverCreates(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{{"user", "list"}, {"user", "add", "ann", "--password", "a long enough password"}, {"user", "reset-2fa", "ann"}} {
		err := run(t.Context(), append([]string{"x", "--data", missing}, args...), env(nil), strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "no portal database") || !strings.Contains(err.Error(), "--data") {
			t.Errorf("%v on a missing data directory: %v", args, err)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an admin command created %s: %v", missing, err)
	}
	// A database without its key file: no key is made.
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	err = run(t.Context(), []string{"x", "--data", dir, "user", "list"}, env(nil), strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "secret key file") {
		t.Errorf("user list without a key file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an admin command created a key file: %v", err)
	}
}

// keysIn are the portal's keys from the key file in dir.
func keysIn(t *testing.T, dir string) *portal.Keys {
	t.Helper()
	master, err := portal.LoadOrCreateKeyFile(rand.Reader, filepath.Join(dir, "secret.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := portal.NewKeys(master)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// sealOne gives user NAME a pending sealed secret under the key in dir.
func sealOne(t *testing.T, dir, name string) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys := keysIn(t, dir)
	u, err := db.UserByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := keys.Seal(rand.Reader, u.ID, []byte("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetPendingTOTP(t.Context(), u.ID, sealed); err != nil {
		t.Fatal(err)
	}
}

// A database with sealed secrets and no key file, or the wrong one, is
// refused at start; reset-2fa without the key is the way back.
func TestMissingKeyRefused(t *testing.T) {
	dir := t.TempDir()
	initData(t, dir)
	cli := func(args ...string) error {
		return run(t.Context(), append([]string{"x", "--data", dir, "--addr", "127.0.0.1:0"}, args...), env(nil), strings.NewReader(""), io.Discard, io.Discard)
	}
	if err := cli("user", "add", "ann", "--password", "a long enough password"); err != nil {
		t.Fatal(err)
	}
	sealOne(t, dir, "ann")
	keyFile := filepath.Join(dir, "secret.key")
	if err := os.Rename(keyFile, keyFile+".moved"); err != nil {
		t.Fatal(err)
	}
	err := cli()
	if err == nil || !strings.Contains(err.Error(), "is missing but the database holds two-factor secrets") || !strings.Contains(err.Error(), "backup") {
		t.Errorf("start without the key file: %v", err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a new key file was made over a database with secrets: %v", err)
	}
	// Another installation's key: refused too.
	if _, err := portal.LoadOrCreateKeyFile(rand.Reader, keyFile, true); err != nil {
		t.Fatal(err)
	}
	if err := cli(); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Errorf("start with the wrong key file: %v", err)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	// Lost for good: reset-2fa runs without the key, then the server
	// starts and makes a new one.
	if err := cli("user", "reset-2fa", "ann"); err != nil {
		t.Fatalf("reset-2fa without the key: %v", err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reset-2fa made a key file: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	logs := &logWatcher{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"x", "--data", dir, "--addr", "127.0.0.1:0"}, env(nil), strings.NewReader(""), io.Discard, logs)
	}()
	select {
	case <-logs.addr:
	case err := <-done:
		t.Fatalf("start after reset-2fa: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not listening after 30 s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if _, err := os.Stat(keyFile); err != nil {
		t.Errorf("no new key file after start: %v", err)
	}
}

func TestIssuerWithColonRefused(t *testing.T) {
	dir := t.TempDir()
	err := run(t.Context(), []string{"x", "--data", dir, "--issuer", "Acme:Corp"}, env(nil), strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "':'") {
		t.Errorf("--issuer with a colon: %v", err)
	}
}

// set-password reads the password as "user add" does, applies the password
// rule, ends the user's sessions and never echoes the password.
func TestSetPassword(t *testing.T) {
	dir := t.TempDir()
	initData(t, dir)
	cli := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(t.Context(), append([]string{"twofold-portal", "--data", dir}, args...), env(nil), strings.NewReader(stdin), &out, &errb)
		return out.String() + errb.String(), err
	}
	if _, err := cli("a long enough password\n", "user", "add", "weak3"); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByName(t.Context(), "weak3")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := db.CreateSession(t.Context(), &portal.Session{ID: []byte("session-hash-0123456789abcdef012"), UserID: u.ID, Stage: portal.StageFull, CreatedAt: now, LastSeenAt: now, AuthAt: now}); err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]string{"weak3weak3": "close to your username", "12345678": "sequence", "password1": "most common"} {
		if out, err := cli(pw+"\n", "user", "set-password", "weak3"); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(out+err.Error(), pw) && pw != "12345678" {
			t.Errorf("set-password %q: %v %q", pw, err, out)
		}
	}
	const pw = "slate harbour 41 kites"
	out, err := cli(pw+"\n", "user", "set-password", "WEAK3")
	if err != nil || !strings.Contains(out, "password of weak3 changed") || strings.Contains(out, pw) {
		t.Fatalf("set-password: %v %q", err, out)
	}
	got, err := db.UserByName(t.Context(), "weak3")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := portal.CheckPassword(got.PasswordHash, pw); err != nil || !ok {
		t.Errorf("new password does not match the stored hash: %v", err)
	}
	if _, err := db.Session(t.Context(), []byte("session-hash-0123456789abcdef012")); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("the user's session survived set-password: %v", err)
	}
	if _, err := cli(pw+"\n", "user", "set-password", "nobody"); err == nil || !strings.Contains(err.Error(), "No user") {
		t.Errorf("set-password of an unknown user: %v", err)
	}
}
