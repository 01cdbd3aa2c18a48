package keyring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"twofold.dev/desktop/keyring"
	"twofold.dev/desktop/vault"
	"twofold.dev/desktop/vault/vaulttest"
	"twofold.dev/shared/totp"
)

// secretService fails the test, never skips it, when no Secret Service
// answers: these tests are about the real keyring.
func secretService(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("secret-tool"); err != nil {
		t.Fatalf("secret-tool not found (Debian package libsecret-tools; make deps installs it): %v", err)
	}
	done := make(chan error, 1)
	go func() {
		if err := gokeyring.Set("twofold-probe", "probe", "x"); err != nil {
			done <- err
			return
		}
		done <- gokeyring.Delete("twofold-probe", "probe")
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("no Secret Service reachable (run the tests through scripts/with-keyring.sh, as make test-desktop does): %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Secret Service did not answer in 10 s (locked keyring? run through scripts/with-keyring.sh)")
	}
}

func open(t *testing.T, dir string) *keyring.Store {
	t.Helper()
	// Long: a busy machine may make the real keyring slow; a hung one
	// still ends within the test's timeout.
	s, err := keyring.Open(keyring.Options{Dir: dir, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func key(t *testing.T, uri string) *totp.Key {
	t.Helper()
	k, err := totp.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// lookup asks secret-tool, not go-keyring, what the keyring holds.
func lookup(t *testing.T, id string) (string, bool) {
	t.Helper()
	out, err := exec.Command("secret-tool", "lookup", "service", keyring.Service, "username", id).Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return "", false // secret-tool exits 1 when nothing matches
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out)), true
}

// A fresh secret per test, so parallel packages sharing the keyring and
// the grep for secrets in files cannot be fooled by another test's data.
func freshSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return (&totp.Key{Secret: b}).SecretBase32()
}

func TestAddKeepsSecretInKeyringOnly(t *testing.T) {
	secretService(t)
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	secret := freshSecret(t)
	k := key(t, "otpauth://totp/ACME:alice@example.com?secret="+secret+"&algorithm=SHA256&digits=8&period=20")
	a, err := s.Add(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := lookup(t, a.ID)
	if !ok || got != secret {
		t.Fatalf("secret-tool lookup service twofold username %s = %q, %v; want the secret", a.ID, got, ok)
	}
	// Searched by this store's dir: a search that also matched another
	// package's items could fail when one is deleted while it is read.
	out, err := exec.Command("secret-tool", "search", "--all", "service", "twofold", "dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "attribute.username = "+a.ID) {
		t.Fatalf("secret-tool search --all service twofold dir %s does not list %s: %v\n%s", dir, a.ID, err, out)
	}

	// Nothing in the config directory may hold the secret, in any spelling.
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 3 || filepath.Base(files[0]) != keyring.IndexFile || filepath.Base(files[1]) != keyring.AddingFile || filepath.Base(files[2]) != keyring.LockFile {
		t.Fatalf("config dir holds %v, want only %s and its two empty lock files (no temp files left)", files, keyring.IndexFile)
	}
	if hidden, _ := filepath.Glob(filepath.Join(dir, ".*")); len(hidden) != 0 {
		t.Fatalf("temp files left: %v", hidden)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{secret, strings.ToLower(secret), string(k.Secret), hex.EncodeToString(k.Secret)} {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s contains the secret (%q)", f, s)
			}
		}
		if filepath.Base(f) == keyring.IndexFile && !bytes.Contains(data, []byte("alice@example.com")) {
			t.Errorf("%s does not list the account:\n%s", f, data)
		}
		fi, _ := os.Stat(f)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
	}

	// A second store (a restart) reads the secret back from the keyring.
	code, err := open(t, dir).Code(ctx, a.ID, time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := k.Code(time.Unix(1_700_000_000, 0))
	if code != want {
		t.Fatalf("code after reopening = %s, want %s", code, want)
	}
}

func TestDeleteRemovesKeyringItem(t *testing.T) {
	secretService(t)
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	a, err := s.Add(ctx, key(t, "otpauth://totp/Del:me?secret="+freshSecret(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lookup(t, a.ID); !ok {
		t.Fatal("item not in the keyring after Add")
	}
	if err := s.Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := lookup(t, a.ID); ok {
		t.Fatal("item still in the keyring after Delete")
	}
	if list, _ := open(t, dir).List(ctx); len(list) != 0 {
		t.Fatalf("index after Delete lists %v", list)
	}
	if err := s.Delete(ctx, a.ID); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("deleting again: %v, want ErrNotFound", err)
	}
}

func TestVanishedItemIsMarkedNotDropped(t *testing.T) {
	secretService(t)
	ctx := context.Background()
	dir := t.TempDir()
	a, err := open(t, dir).Add(ctx, key(t, "otpauth://totp/Gone:bob?secret="+freshSecret(t)))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("secret-tool", "clear", "service", "twofold", "username", a.ID).CombinedOutput(); err != nil {
		t.Fatalf("secret-tool clear: %v %s", err, out)
	}
	s := open(t, dir) // a restart: nothing cached
	if _, err := s.Code(ctx, a.ID, time.Now()); !errors.Is(err, vault.ErrSecretMissing) {
		t.Fatalf("Code of a vanished item: %v, want ErrSecretMissing", err)
	}
	list, err := open(t, dir).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !list[0].Missing || list[0].Label() != "Gone:bob" {
		t.Fatalf("after the item vanished the index lists %+v, want Gone:bob marked missing", list)
	}
	// The user can still delete it.
	if err := s.Delete(ctx, a.ID); err != nil {
		t.Fatalf("deleting a missing account: %v", err)
	}
}

func TestDuplicateRefused(t *testing.T) {
	secretService(t)
	ctx := context.Background()
	s := open(t, t.TempDir())
	secret, other := freshSecret(t), freshSecret(t)
	if _, err := s.Add(ctx, key(t, "otpauth://totp/Dup:carol?secret="+secret)); err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, t.TempDir()).Add(ctx, key(t, "otpauth://totp/Dup:carol?secret="+secret)); err != nil {
		t.Fatalf("another index is another store: %v", err)
	}
	_, err := s.Add(ctx, key(t, "otpauth://totp/Dup:carol?secret="+strings.ToLower(secret)))
	if !errors.Is(err, vault.ErrDuplicate) {
		t.Fatalf("same label and secret: %v, want ErrDuplicate", err)
	}
	_, err = s.Add(ctx, key(t, "otpauth://totp/dup:Carol?secret="+other))
	var taken *vault.LabelTakenError
	if !errors.As(err, &taken) || !errors.Is(err, vault.ErrLabelTaken) || taken.Existing.Label() != "Dup:carol" {
		t.Fatalf("same label (case aside), other secret: %v, want a LabelTakenError naming Dup:carol", err)
	}
	if _, err := s.AddWith(ctx, key(t, "otpauth://totp/Dup:carol?secret="+other), vault.KeepBoth); err != nil {
		t.Fatalf("same label, other secret, keep both: %v", err)
	}
	if _, err := s.Add(ctx, key(t, "otpauth://totp/Dup:dave?secret="+secret)); err != nil {
		t.Fatalf("same secret, other label: %v", err)
	}
	list, _ := s.List(ctx)
	if len(list) != 3 {
		t.Fatalf("%d accounts, want 3", len(list))
	}
}

func TestManageAndHOTPCounterSavedFirst(t *testing.T) {
	secretService(t)
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	h := key(t, "otpauth://hotp/Bank:erin?secret="+freshSecret(t)+"&counter=7&digits=8&algorithm=SHA512")
	ha, err := s.Add(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	ta, err := s.Add(ctx, key(t, "otpauth://totp/Mail:erin?secret="+freshSecret(t)))
	if err != nil {
		t.Fatal(err)
	}
	for n := uint64(7); n < 10; n++ {
		code, err := s.NextHOTP(ctx, ha.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := h.HOTPCode(n)
		if code != want {
			t.Fatalf("HOTP #%d = %s, want %s", n, code, want)
		}
		// By the time the code is returned the counter is on disk.
		list, _ := open(t, dir).List(ctx)
		if list[0].Counter != n+1 {
			t.Fatalf("stored counter %d after code #%d, want %d", list[0].Counter, n, n+1)
		}
	}
	if _, err := s.NextHOTP(ctx, ta.ID); !errors.Is(err, vault.ErrWrongType) {
		t.Fatalf("NextHOTP of a TOTP account: %v", err)
	}
	if _, err := s.Code(ctx, ha.ID, time.Now()); !errors.Is(err, vault.ErrWrongType) {
		t.Fatalf("Code of an HOTP account: %v", err)
	}

	if err := s.Rename(ctx, ta.ID, "Post", "erin@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, ta.ID, "Post", " "); err == nil {
		t.Fatal("renaming to an empty account name succeeded")
	}
	if err := s.Move(ctx, ta.ID, 0); err != nil {
		t.Fatal(err)
	}
	list, _ := open(t, dir).List(ctx)
	if len(list) != 2 || list[0].Label() != "Post:erin@example.com" || list[1].ID != ha.ID {
		t.Fatalf("after rename and move: %+v", list)
	}
	if _, err := s.Code(ctx, "nope", time.Now()); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("Code of unknown id: %v", err)
	}
}

// fakeBackend is a keyring that hangs (a locked keyring waiting for its
// password prompt) or fails, for what the real one cannot be made to do.
type fakeBackend struct {
	block chan struct{}
	err   error
}

func (f fakeBackend) wait() error {
	if f.block != nil {
		<-f.block
	}
	return f.err
}
func (f fakeBackend) Get(string, string) (string, error) { return "", f.wait() }
func (f fakeBackend) Set(string, string, string) error   { return f.wait() }
func (f fakeBackend) Delete(string, string) error        { return f.wait() }

func TestKeyringTroubleSavesNothing(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	for _, tc := range []struct {
		name    string
		backend fakeBackend
		want    error
	}{
		{"locked keyring hangs", fakeBackend{block: hang}, vault.ErrKeyringTimeout},
		{"no secret service", fakeBackend{err: errors.New("The name org.freedesktop.secrets was not provided by any .service files")}, vault.ErrKeyringUnavailable},
		{"locked collection", fakeBackend{err: errors.New("Cannot create an item in a locked collection")}, vault.ErrKeyringLocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := keyring.Open(keyring.Options{Dir: dir, Timeout: 50 * time.Millisecond, Backend: tc.backend})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = s.Add(context.Background(), key(t, "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP"))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Add: %v, want %v", err, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("Add took %v", d)
			}
			if msg := vault.Message(err); !strings.Contains(msg, "keyring") || !(strings.Contains(msg, "Unlock") || strings.Contains(msg, "Install")) {
				t.Errorf("message %q does not say what to do", msg)
			}
			// Only the empty lock an add holds while its item is written.
			files, _ := os.ReadDir(dir)
			if len(files) != 1 || files[0].Name() != keyring.AddingFile {
				t.Fatalf("a failed Add left files: %v", files)
			}
			if fi, err := files[0].Info(); err != nil || fi.Size() != 0 {
				t.Fatalf("the lock file holds data: %v %v", fi, err)
			}
		})
	}
}

// D-Bus's own words (a missing dbus-launch, a socket path) reach the user
// as what they mean.
func TestNoSessionBusIsSaidInWords(t *testing.T) {
	for cause, want := range map[string]string{
		`exec: "dbus-launch": executable file not found in $PATH`:                 "no session bus (D-Bus)",
		`dial unix /tmp/TestX/007/no-bus: connect: no such file or directory`:     "no session bus (D-Bus)",
		`The name org.freedesktop.secrets was not provided by any .service files`: "no program provides the Secret Service",
	} {
		s, err := keyring.Open(keyring.Options{Dir: t.TempDir(), Timeout: time.Second, Backend: fakeBackend{err: errors.New(cause)}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Add(context.Background(), key(t, "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP"))
		msg := vault.Message(err)
		if !errors.Is(err, vault.ErrKeyringUnavailable) || !strings.Contains(msg, want) || strings.Contains(msg, "exec:") || strings.Contains(msg, "dial unix") {
			t.Errorf("%s: %q", cause, msg)
		}
	}
}

func TestDamagedIndexIsReportedInWords(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"garbage", "{not json", "is not an account list"},
		{"truncated", `{"version": 1, "accounts": [{"id": "ab`, "is cut short"},
		{"empty", "", "is empty"},
		{"unknown version", `{"version": 9, "accounts": []}`, "has version 9"},
		{"binary", "\x00\x01PNG", "is not an account list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, keyring.IndexFile), []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := keyring.Open(keyring.Options{Dir: dir, Backend: newMemBackend()})
			if err != nil {
				t.Fatalf("Open of a damaged index: %v (the window must open to offer repair)", err)
			}
			_, err = s.List(context.Background())
			if !errors.Is(err, vault.ErrIndexDamaged) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "JSON") {
				t.Fatalf("List: %v, want ErrIndexDamaged saying %q in words", err, tc.want)
			}
			if msg := vault.Message(err); !strings.Contains(msg, "twofold repair") {
				t.Errorf("message %q does not say how to repair", msg)
			}
			// No change may overwrite it.
			_, err = s.Add(context.Background(), key(t, "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP"))
			if !errors.Is(err, vault.ErrIndexDamaged) {
				t.Fatalf("Add on a damaged index: %v", err)
			}
			if data, _ := os.ReadFile(filepath.Join(dir, keyring.IndexFile)); string(data) != tc.data {
				t.Fatalf("the damaged index was changed to %q", data)
			}
		})
	}
}

// barrierBackend holds every Get until the test has seen all of them in
// flight at once: a store that reads the keyring under its lock never
// gets there.
type barrierBackend struct {
	mem     map[string]string
	arrived chan struct{}
	release chan struct{}
}

func (b *barrierBackend) Get(service, user string) (string, error) {
	b.arrived <- struct{}{}
	<-b.release
	return b.mem[user], nil
}
func (b *barrierBackend) Set(service, user, secret string) error { b.mem[user] = secret; return nil }
func (b *barrierBackend) Delete(service, user string) error      { delete(b.mem, user); return nil }

func TestSecretsAreReadInParallel(t *testing.T) {
	const n = 4
	b := &barrierBackend{mem: map[string]string{}, arrived: make(chan struct{}, n), release: make(chan struct{})}
	dir := t.TempDir()
	setup, err := keyring.Open(keyring.Options{Dir: dir, Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < n; i++ {
		a, err := setup.Add(context.Background(), &totp.Key{Type: totp.TOTP, Issuer: "P", Account: string(rune('a' + i)), Secret: []byte{byte(i + 1), 2, 3}, Digits: 6, Period: 30})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	// A fresh store, as a window has at start: nothing cached.
	s, err := keyring.Open(keyring.Options{Dir: dir, Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, n)
	for _, id := range ids {
		go func() {
			_, err := s.Code(context.Background(), id, time.Unix(1_700_000_015, 0))
			done <- err
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case <-b.arrived:
		case <-time.After(10 * time.Second):
			close(b.release)
			t.Fatalf("only %d of %d keyring reads were in flight together: reads are serialized", i, n)
		}
	}
	close(b.release)
	for i := 0; i < n; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// The index is cached between reads; a change by another process (the
// command line while the window runs) must still be seen.
func TestIndexCacheSeesOtherWriters(t *testing.T) {
	b := &barrierBackend{mem: map[string]string{}, arrived: make(chan struct{}, 8), release: make(chan struct{})}
	close(b.release)
	dir := t.TempDir()
	window, err := keyring.Open(keyring.Options{Dir: dir, Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := keyring.Open(keyring.Options{Dir: dir, Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, name := range []string{"one", "two", "three"} {
		if _, err := cli.Add(ctx, &totp.Key{Type: totp.TOTP, Issuer: "P", Account: name, Secret: []byte{byte(i + 1)}, Digits: 6, Period: 30}); err != nil {
			t.Fatal(err)
		}
		list, err := window.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != i+1 || list[i].Account != name {
			t.Fatalf("after adding %s elsewhere, the window's store lists %v", name, list)
		}
	}
	list, _ := window.List(ctx)
	if err := window.Rename(ctx, list[0].ID, "Q", "uno"); err != nil {
		t.Fatal(err)
	}
	if got, _ := cli.List(ctx); got[0].Label() != "Q:uno" {
		t.Fatalf("rename not seen by the other store: %v", got)
	}
}

// secretTool returns what `secret-tool search --all` prints for an item.
func secretTool(t *testing.T, id string) string {
	t.Helper()
	out, err := exec.Command("secret-tool", "search", "--all", "service", keyring.Service, "username", id).CombinedOutput()
	if err != nil {
		t.Fatalf("secret-tool search: %v %s", err, out)
	}
	return string(out)
}

// On the real Secret Service: items carry a label and the account's
// attributes, an item written by go-keyring alone (an older Twofold) is
// found, described by repair, and the index is rebuilt from the keyring.
func TestSecretServiceItemsRebuildTheIndex(t *testing.T) {
	secretService(t)
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	secret := freshSecret(t)
	a, err := s.Add(ctx, key(t, "otpauth://hotp/GitHub:joe?secret="+secret+"&algorithm=SHA1&digits=8&counter=12"))
	if err != nil {
		t.Fatal(err)
	}
	out := secretTool(t, a.ID)
	for _, w := range []string{"label = Twofold: GitHub (joe)", "attribute.issuer = GitHub", "attribute.account = joe", "attribute.type = hotp", "attribute.algorithm = SHA1", "attribute.digits = 8", "attribute.counter = 12", "secret = " + secret} {
		if !strings.Contains(out, w) {
			t.Errorf("secret-tool does not show %q:\n%s", w, out)
		}
	}
	if strings.Count(out, secret) != 1 {
		t.Errorf("the secret appears outside the secret:\n%s", out)
	}
	if _, err := s.NextHOTP(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if out := secretTool(t, a.ID); !strings.Contains(out, "attribute.counter = 13") || strings.Count(out, "[/") != 1 {
		t.Errorf("after one code the item should mirror counter 13, as one item:\n%s", out)
	}
	// A pin is mirrored as well, and unpinning takes it off.
	for _, pinned := range []bool{false, true} {
		if err := s.Pin(ctx, a.ID, pinned); err != nil {
			t.Fatal(err)
		}
		if out := secretTool(t, a.ID); strings.Contains(out, "attribute.pinned = true") != pinned || !strings.Contains(out, "attribute.counter = 13") {
			t.Errorf("pinned %v, the item says:\n%s", pinned, out)
		}
	}

	// An item as go-keyring writes it, listed in the index.
	oldSecret := freshSecret(t)
	oldID := strings.Repeat("ab", 16)
	if err := gokeyring.Set(keyring.Service, oldID, oldSecret); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gokeyring.Delete(keyring.Service, oldID) })
	idx := filepath.Join(dir, keyring.IndexFile)
	data, _ := os.ReadFile(idx)
	data = bytes.Replace(data, []byte(`"accounts": [`), []byte(`"accounts": [{"id": "`+oldID+`", "issuer": "Old", "account": "timer", "type": "totp", "algorithm": "SHA1", "digits": 6, "period": 30},`), 1)
	if err := os.WriteFile(idx, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := s.Repair(ctx)
	if err != nil || r.Described != 1 || r.Kept != 2 {
		t.Fatalf("repair: %+v %v\n%s", r, err, secretTool(t, a.ID))
	}
	if out := secretTool(t, oldID); !strings.Contains(out, "label = Twofold: Old (timer)") || !strings.Contains(out, "attribute.period = 30") || strings.Count(out, "[/") != 1 {
		t.Fatalf("old item after repair:\n%s", out)
	}

	// Lose the index: repair restores both, with codes oathtool agrees with.
	if err := os.WriteFile(idx, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := open(t, dir)
	if _, err := fresh.List(ctx); !errors.Is(err, vault.ErrIndexDamaged) {
		t.Fatalf("List of a truncated index: %v", err)
	}
	r, err = fresh.Repair(ctx)
	if err != nil || len(r.Restored) != 2 || r.KeptAside == "" {
		t.Fatalf("repair of a truncated index: %+v %v", r, err)
	}
	list, err := fresh.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("after repair: %+v %v", list, err)
	}
	for _, got := range list {
		switch got.ID {
		case a.ID:
			if !got.Pinned {
				t.Error("the restored account lost its pin")
			}
			code, err := fresh.NextHOTP(ctx, a.ID)
			if want := oathtoolOut(t, "--hotp", "-d", "8", "-c", "13", "-b", secret); err != nil || code != want {
				t.Errorf("restored HOTP code %q %v, oathtool at counter 13 %q", code, err, want)
			}
		case oldID:
			code, err := fresh.Code(ctx, oldID, time.Unix(1_700_000_000, 0))
			if want := oathtoolOut(t, "--totp", "-b", "-N", "@1700000000", oldSecret); err != nil || code != want {
				t.Errorf("restored TOTP code %q %v, oathtool %q", code, err, want)
			}
		default:
			t.Errorf("unexpected account %+v", got)
		}
	}
	if err := fresh.Delete(ctx, oldID); err != nil {
		t.Fatal(err)
	}
	if _, ok := lookup(t, oldID); ok {
		t.Fatal("the old item survived Delete")
	}
}

func oathtoolOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("oathtool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool (Debian package oathtool) %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestPinSurvivesRestart keeps the pin contract on the real keyring: every
// check reads through a newly opened store, as after a restart.
func TestPinSurvivesRestart(t *testing.T) {
	secretService(t)
	dir := t.TempDir()
	s := open(t, dir)
	secrets := map[int][]byte{}
	vaulttest.CheckPin(t, s, func() vault.Store { return open(t, dir) }, func(i int) []byte {
		b, err := totp.DecodeSecret(freshSecret(t))
		if err != nil {
			t.Fatal(err)
		}
		secrets[i] = b
		return b
	})
	data, err := os.ReadFile(filepath.Join(dir, keyring.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte(`"pinned": true`)); n != 1 {
		t.Fatalf("index has %d pinned accounts, want 1:\n%s", n, data)
	}
	// Unpinned accounts are written as before pins existed: an older
	// Twofold reads the file unchanged.
	if bytes.Contains(data, []byte(`"pinned": false`)) {
		t.Fatalf("index spells out unpinned accounts:\n%s", data)
	}
}

// TestOldIndexReadsUnpinned reads an index written before pins existed.
func TestOldIndexReadsUnpinned(t *testing.T) {
	dir := t.TempDir()
	old := `{"version": 1, "accounts": [{"id": "0123456789abcdef0123456789abcdef", "issuer": "Old", "account": "joe", "type": "totp", "algorithm": "SHA1", "digits": 6, "period": 30}]}`
	if err := os.WriteFile(filepath.Join(dir, keyring.IndexFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := keyring.Open(keyring.Options{Dir: dir, Backend: fakeBackend{err: errors.New("not used")}})
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := list.List(context.Background())
	if err != nil || len(accounts) != 1 || accounts[0].Pinned || accounts[0].Label() != "Old:joe" {
		t.Fatalf("old index read as %+v, %v", accounts, err)
	}
}
