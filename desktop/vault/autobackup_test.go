package vault_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"twofold.dev/desktop/vault"
	"twofold.dev/desktop/vault/vaulttest"
	"twofold.dev/shared/totp"
)

// stepClock moves one second at each call.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

const backupPassword = "backup pass"

func newAutoBackup(t *testing.T, keep int) (*vault.AutoBackup, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "backups")
	b := &vault.AutoBackup{ConfigDir: t.TempDir(), Passwords: &vaulttest.Passwords{}, Rand: rand.Reader,
		Now: (&stepClock{t: time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}).Now}
	if err := b.Enable(context.Background(), vault.BackupSettings{Dir: dir, Keep: keep}, []byte(backupPassword)); err != nil {
		t.Fatal(err)
	}
	return b, dir
}

// checkBackup opens a backup with the password, checks that nothing of a
// secret or a name is readable without it, and returns its keys.
func checkBackup(t *testing.T, path string, keys []*totp.Key) []*totp.Key {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, info.Mode().Perm())
	}
	// Searched for: the secrets, raw and base32, in the whole file, and
	// the names in the file without its base64 ciphertext, where a short
	// name such as "joe" turns up by chance (a few runs in a hundred).
	var file struct {
		DB string `json:"db"`
	}
	if err := json.Unmarshal(data, &file); err != nil || file.DB == "" {
		t.Fatalf("%s is not a vault with a db: %v", path, err)
	}
	clear := bytes.Replace(data, []byte(file.DB), nil, 1)
	for _, k := range keys {
		for _, needle := range [][]byte{k.Secret, []byte(k.SecretBase32())} {
			if bytes.Contains(data, needle) {
				t.Fatalf("%s holds %s's secret in plain", path, k.Label())
			}
		}
		if bytes.Contains(clear, []byte(k.Account)) {
			t.Fatalf("%s holds %s's name in plain", path, k.Label())
		}
	}
	if _, err := vault.ReadBackup(data, []byte("not the password")); !errors.Is(err, vault.ErrWrongPassword) {
		t.Fatalf("%s with a wrong password: %v", path, err)
	}
	f, err := vault.ReadBackup(data, []byte(backupPassword))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f.Keys
}

func TestAutoBackupKeepsTheLastN(t *testing.T) {
	ctx := context.Background()
	b, dir := newAutoBackup(t, 3)
	mem := vault.NewMemory()
	var writeErr error
	st := &vault.Notifying{Store: mem, Changed: func() {
		if _, err := b.Write(ctx, mem); err != nil {
			writeErr = err
		}
	}}
	keys := exportKeys(t)
	var ids []string
	for _, k := range keys {
		a, err := st.Add(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	if err := st.Rename(ctx, ids[0], "GitHub", "joe2"); err != nil {
		t.Fatal(err)
	}
	if err := st.Move(ctx, ids[4], 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.NextHOTP(ctx, ids[3]); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	// A failed change writes nothing.
	if err := st.Delete(ctx, "no-such-id"); err == nil {
		t.Fatal("deleting a missing account succeeded")
	}
	if writeErr != nil {
		t.Fatal(writeErr)
	}
	names, err := vault.Backups(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 3 {
		t.Fatalf("%d backups after 9 changes, want the last 3: %q", len(names), names)
	}
	for _, n := range names {
		checkBackup(t, n, keys)
	}
	ex, err := vault.ExportKeys(ctx, mem)
	if err != nil {
		t.Fatal(err)
	}
	last := checkBackup(t, names[2], keys)
	sameKeys(t, last, ex.Keys)
	if last[3].Type != totp.HOTP || last[3].Counter != 43 {
		t.Errorf("HOTP counter in the last backup: %s, want 43", describeKey(last[3]))
	}
	// The one before holds the account deleted last.
	if prev := checkBackup(t, names[1], keys); len(prev) != len(last)+1 {
		t.Errorf("the backup before the delete has %d accounts, want %d", len(prev), len(last)+1)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("the folder holds %d files, want only the 3 backups", len(entries))
	}
}

func TestAutoBackupOffWritesNothing(t *testing.T) {
	b, dir := newAutoBackup(t, 3)
	if err := b.Disable(context.Background()); err != nil {
		t.Fatal(err)
	}
	mem := vault.NewMemory()
	mem.Add(context.Background(), exportKeys(t)[0])
	path, err := b.Write(context.Background(), mem)
	if err != nil || path != "" {
		t.Fatalf("backups off: wrote %q, %v", path, err)
	}
	if names, _ := vault.Backups(dir); len(names) != 0 {
		t.Errorf("backups off: %q", names)
	}
	if _, err := b.Passwords.Get(context.Background()); !errors.Is(err, vault.ErrNoBackupPassword) {
		t.Errorf("password kept after turning backups off: %v", err)
	}
}

// TestAutoBackupNotifyCoalesces: changes made while a backup is being
// written make one more backup, not one each; the last has every account.
func TestAutoBackupNotifyCoalesces(t *testing.T) {
	ctx := context.Background()
	b, dir := newAutoBackup(t, 10)
	// The first backup waits before its rename until every change is
	// made, as a slow disk would: the other nine make exactly one more.
	release := make(chan struct{})
	b.BeforeRename = func(string) { <-release }
	mem := vault.NewMemory()
	var mu sync.Mutex
	var reports []error
	st := &vault.Notifying{Store: mem, Changed: func() {
		b.Notify(mem, func(_ string, err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() })
	}}
	keys := exportKeys(t)
	for i := 0; i < 10; i++ {
		k := *keys[i%len(keys)]
		k.Account += "-" + itoa(i)
		if _, err := st.Add(ctx, &k); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	b.Flush()
	names, _ := vault.Backups(dir)
	if len(names) != 2 {
		t.Fatalf("%d backups for 10 changes during one write, want 2", len(names))
	}
	for _, err := range reports {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := checkBackup(t, names[len(names)-1], keys); len(got) != 10 {
		t.Errorf("last backup holds %d accounts, want 10", len(got))
	}
}

// TestAutoBackupKill9 kills a process (this test binary, run again) while
// it is between writing the temporary file and renaming it: the backups
// already there are untouched, no half backup appears under a backup's
// name, and no file is left at all on Linux (the file had no name yet);
// elsewhere the next backup removes the temporary file.
func TestAutoBackupKill9(t *testing.T) {
	if dir := os.Getenv("TWOFOLD_KILL9_DIR"); dir != "" {
		kill9Helper(t, dir)
		return
	}
	ctx := context.Background()
	b, dir := newAutoBackup(t, 5)
	mem := vault.NewMemory()
	keys := exportKeys(t)
	for _, k := range keys {
		mem.Add(ctx, k)
	}
	if _, err := b.Write(ctx, mem); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAutoBackupKill9$", "-test.count=1")
	// The child's config dir is ours: a t.TempDir of its own would be left
	// behind in /tmp, as the kill stops its cleanup.
	cmd.Env = append(os.Environ(), "TWOFOLD_KILL9_DIR="+dir, "TWOFOLD_KILL9_CONFIG="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var tmp string
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "TEMP "); ok {
			tmp = p
			break
		}
	}
	if tmp == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the helper never reached the rename")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	names, _ := vault.Backups(dir)
	if len(names) != 1 {
		t.Fatalf("after the kill: %d backups, want the 1 written before", len(names))
	}
	sameKeys(t, checkBackup(t, names[0], keys), keys)
	if runtime.GOOS == "linux" {
		// The file had no name yet (O_TMPFILE): the kill leaves nothing.
		if !strings.HasPrefix(tmp, "/proc/self/fd/") {
			t.Fatalf("the backup was written as %s, not as an unnamed file", tmp)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("after the kill the folder holds %d files, want only the backup written before", len(entries))
		}
	} else {
		if _, err := os.Stat(tmp); err != nil {
			t.Fatalf("the killed write left no temporary file to clean (%v): the hook did not stop it mid-write", err)
		}
		checkBackup(t, tmp, keys) // only ciphertext in it too
	}

	// The next backup, a few minutes later, sweeps the orphan away.
	later := time.Now().Add(5 * time.Minute)
	b.Now = func() time.Time { return later }
	if _, err := b.Write(ctx, mem); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left after the next backup", e.Name())
		}
	}
	if names, _ := vault.Backups(dir); len(names) != 2 {
		t.Errorf("%d backups, want 2", len(names))
	}
}

// kill9Helper writes one backup and stops before its rename until killed.
func kill9Helper(t *testing.T, dir string) {
	cfg := os.Getenv("TWOFOLD_KILL9_CONFIG")
	b := &vault.AutoBackup{ConfigDir: cfg, Passwords: &vaulttest.Passwords{}, Rand: rand.Reader, Now: time.Now,
		BeforeRename: func(tmp string) {
			os.Stdout.WriteString("TEMP " + tmp + "\n")
			select {} // killed here
		}}
	if err := b.Enable(context.Background(), vault.BackupSettings{Dir: dir, Keep: 5}, []byte(backupPassword)); err != nil {
		t.Fatal(err)
	}
	mem := vault.NewMemory()
	for _, k := range exportKeys(t) {
		mem.Add(context.Background(), k)
	}
	b.Write(context.Background(), mem)
	t.Fatal("the hook returned")
}
