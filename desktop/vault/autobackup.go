package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"twofold.dev/shared/totp"
)

// Automatic backups: after every change an encrypted Aegis vault of all
// accounts is written to a folder the user chose, and the newest Keep of
// them are kept. The password is kept by a PasswordKeeper (the OS keyring,
// as a separate item), the folder and count in BackupSettingsFile.

// BackupSettingsFile is where, in the config directory, the backup folder
// and count are kept (no secret in it).
const BackupSettingsFile = "backup.json"

// DefaultKeep is how many automatic backups are kept unless told otherwise.
const DefaultKeep = 10

// ErrNoBackupPassword is returned by a PasswordKeeper that holds none.
var ErrNoBackupPassword = errors.New("no backup password is stored (set the backup folder again to give it)")

// BackupSettings is where automatic backups go; an empty Dir means off.
type BackupSettings struct {
	Dir  string `json:"dir"`
	Keep int    `json:"keep"`
}

// PasswordKeeper keeps the automatic backups' password.
type PasswordKeeper interface {
	Get(ctx context.Context) ([]byte, error) // ErrNoBackupPassword if none
	Set(ctx context.Context, password []byte) error
	Delete(ctx context.Context) error
}

// AutoBackup writes the automatic backups. Its zero value is not usable:
// set ConfigDir, Passwords, Rand and Now.
type AutoBackup struct {
	ConfigDir string
	Passwords PasswordKeeper
	Rand      io.Reader
	Now       func() time.Time
	// BeforeRename, if set, is called with the temporary file's path once
	// it is written and synced, before it takes its final name (tests
	// kill the process there). On Linux the file has no name until then
	// (O_TMPFILE): the path is its /proc/self/fd link.
	BeforeRename func(tmp string)

	write sync.Mutex // one backup written at a time

	mu      sync.Mutex
	cond    *sync.Cond
	running bool // a Notify goroutine is writing
	dirty   bool // a change came while it was
}

// Backup files are named for the time they were written, so that sorting
// by name sorts by age.
const (
	backupPrefix = "twofold-backup-"
	backupSuffix = ".json"
	backupTime   = "20060102-150405.000"
	tempPrefix   = ".twofold-backup-"
	tempSuffix   = ".tmp"
	// staleTemp is how old a temporary file must be before a later backup
	// removes it: one left by a process killed mid-write.
	staleTemp = time.Minute
)

// Settings reads the backup settings; without a settings file backups are
// off.
func (b *AutoBackup) Settings() (BackupSettings, error) {
	data, err := os.ReadFile(filepath.Join(b.ConfigDir, BackupSettingsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return BackupSettings{}, nil
	}
	if err != nil {
		return BackupSettings{}, fmt.Errorf("reading backup settings: %w", err)
	}
	var s BackupSettings
	if err := json.Unmarshal(data, &s); err != nil {
		return BackupSettings{}, fmt.Errorf("reading backup settings %s: %w", filepath.Join(b.ConfigDir, BackupSettingsFile), err)
	}
	if s.Keep <= 0 {
		s.Keep = DefaultKeep
	}
	return s, nil
}

// Enable turns automatic backups on: dir is created if need be, the
// password stored by Passwords, then the settings saved. It writes no
// backup; call Write for the first one.
func (b *AutoBackup) Enable(ctx context.Context, s BackupSettings, password []byte) error {
	if strings.TrimSpace(s.Dir) == "" {
		return errors.New("backup folder: give a folder")
	}
	if len(password) == 0 {
		return fmt.Errorf("backup password: %w", ErrEmptyPassword)
	}
	if s.Keep <= 0 {
		s.Keep = DefaultKeep
	}
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		return fmt.Errorf("backup folder: %w", err)
	}
	s.Dir = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup folder: %w", FileError("create the folder", dir, err))
	}
	if err := b.Passwords.Set(ctx, password); err != nil {
		return fmt.Errorf("storing the backup password: %w", err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.ConfigDir, 0o700); err != nil {
		return fmt.Errorf("saving backup settings: %w", err)
	}
	if _, err := writeFileAtomic(b.ConfigDir, ".backup-settings-", ".tmp", filepath.Join(b.ConfigDir, BackupSettingsFile), append(data, '\n'), false, nil); err != nil {
		return fmt.Errorf("saving backup settings: %w", err)
	}
	return nil
}

// Disable turns automatic backups off and forgets the password; the backups
// already written stay where they are.
func (b *AutoBackup) Disable(ctx context.Context) error {
	err := os.Remove(filepath.Join(b.ConfigDir, BackupSettingsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("turning backups off: %w", err)
	}
	if err := b.Passwords.Delete(ctx); err != nil && !errors.Is(err, ErrNoBackupPassword) {
		return fmt.Errorf("forgetting the backup password: %w", err)
	}
	return nil
}

// Write writes a backup of every account of st now, if backups are on, and
// returns its path ("" when off). Older backups beyond Keep are removed.
func (b *AutoBackup) Write(ctx context.Context, st Store) (string, error) {
	s, err := b.Settings()
	if err != nil || s.Dir == "" {
		return "", err
	}
	b.write.Lock()
	defer b.write.Unlock()
	password, err := b.Passwords.Get(ctx)
	if err != nil {
		return "", fmt.Errorf("automatic backup: %w", err)
	}
	ex, err := ExportKeys(ctx, st)
	if err != nil {
		return "", fmt.Errorf("automatic backup: %w", err)
	}
	return b.writeKeys(s, ex, password)
}

func (b *AutoBackup) writeKeys(s BackupSettings, ex *Export, password []byte) (string, error) {
	data, err := EncryptAegis(ex.Keys, ex.Pinned, password, b.Rand)
	if err != nil {
		return "", fmt.Errorf("automatic backup: %w", err)
	}
	now := b.Now()
	b.sweepTemp(s.Dir, now)
	name := backupPrefix + now.UTC().Format(backupTime) + backupSuffix
	path, ok, err := writeUnnamed(s.Dir, filepath.Join(s.Dir, name), data, b.BeforeRename)
	if !ok {
		path, err = writeFileAtomic(s.Dir, tempPrefix, tempSuffix, filepath.Join(s.Dir, name), data, true, b.BeforeRename)
	}
	if err != nil {
		return "", fmt.Errorf("automatic backup: %w", err)
	}
	if err := prune(s.Dir, s.Keep); err != nil {
		return path, fmt.Errorf("automatic backup: removing old backups: %w", err)
	}
	return path, nil
}

// Notify asks for a backup of st soon, on its own goroutine, and returns at
// once. Changes that come while one is being written are written together
// in one more backup, so adding ten accounts does not push ten older
// backups out. report, if set, is called after each write.
func (b *AutoBackup) Notify(st Store, report func(path string, err error)) {
	b.mu.Lock()
	if b.cond == nil {
		b.cond = sync.NewCond(&b.mu)
	}
	if b.running {
		b.dirty = true
		b.mu.Unlock()
		return
	}
	b.running = true
	b.mu.Unlock()
	go func() {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			path, err := b.Write(ctx, st)
			cancel()
			if report != nil {
				report(path, err)
			}
			b.mu.Lock()
			if !b.dirty {
				b.running = false
				b.cond.Broadcast()
				b.mu.Unlock()
				return
			}
			b.dirty = false
			b.mu.Unlock()
		}
	}()
}

// Flush waits until no backup asked for by Notify is being written.
func (b *AutoBackup) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.running {
		b.cond.Wait()
	}
}

// Backups lists the automatic backups in dir, oldest first.
func Backups(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, backupPrefix) && strings.HasSuffix(n, backupSuffix) {
			names = append(names, filepath.Join(dir, n))
		}
	}
	sort.Strings(names)
	return names, nil
}

func prune(dir string, keep int) error {
	names, err := Backups(dir)
	if err != nil {
		return err
	}
	var errs []error
	for len(names) > keep {
		if err := os.Remove(names[0]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		names = names[1:]
	}
	return errors.Join(errs...)
}

// sweepTemp removes temporary files a killed process left behind. Young
// ones may belong to another process writing right now.
func (b *AutoBackup) sweepTemp(dir string, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, tempPrefix) || !strings.HasSuffix(n, tempSuffix) {
			continue
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleTemp {
			os.Remove(filepath.Join(dir, n))
		}
	}
}

// writeFileAtomic writes data to a new temporary file in dir (mode 0600),
// syncs it, and renames it to path: a reader, or a crash, sees the old
// file or the new one, never half of one. With unique, an existing path is
// not replaced: a numbered name is taken instead. It returns the path
// written.
func writeFileAtomic(dir, tmpPrefix, tmpSuffix, path string, data []byte, unique bool, beforeRename func(string)) (_ string, err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*"+tmpSuffix)
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if beforeRename != nil {
		beforeRename(tmp)
	}
	if unique {
		base, ext := strings.TrimSuffix(path, filepath.Ext(path)), filepath.Ext(path)
		for i := 2; ; i++ {
			if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
				break
			}
			path = fmt.Sprintf("%s-%d%s", base, i, ext)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself survives a power cut; best effort
		d.Close()
	}
	return path, nil
}

// WriteNewFile writes data to path atomically with mode 0600, refusing to
// replace a file that is already there (an export never overwrites).
func WriteNewFile(path string, data []byte) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s already exists: choose another name or remove it first", path)
	}
	dir := filepath.Dir(path)
	if _, err := writeFileAtomic(dir, "."+filepath.Base(path)+"-", ".tmp", path, data, false, nil); err != nil {
		return FileError("write", path, err) // names path, not the temporary file
	}
	return nil
}

// Notifying is a Store that calls Changed after every change that
// succeeded, e.g. to write an automatic backup. Store is a named field, not
// embedded: a method added to the Store interface must be written here
// too (or it does not compile), so no change can slip past a backup.
type Notifying struct {
	Store   Store
	Changed func()
}

var _ Store = (*Notifying)(nil)

func (n *Notifying) List(ctx context.Context) ([]Account, error) { return n.Store.List(ctx) }

func (n *Notifying) Key(ctx context.Context, id string) (*totp.Key, error) {
	return n.Store.Key(ctx, id)
}

func (n *Notifying) Code(ctx context.Context, id string, now time.Time) (string, error) {
	return n.Store.Code(ctx, id, now)
}

func (n *Notifying) Orphans(ctx context.Context) ([]Account, error) { return n.Store.Orphans(ctx) }

func (n *Notifying) Add(ctx context.Context, k *totp.Key) (Account, error) {
	a, err := n.Store.Add(ctx, k)
	return a, n.after(err)
}

func (n *Notifying) AddWith(ctx context.Context, k *totp.Key, taken OnLabelTaken) (Account, error) {
	a, err := n.Store.AddWith(ctx, k, taken)
	return a, n.after(err)
}

func (n *Notifying) Rename(ctx context.Context, id, issuer, account string) error {
	return n.after(n.Store.Rename(ctx, id, issuer, account))
}

func (n *Notifying) Delete(ctx context.Context, id string) error {
	return n.after(n.Store.Delete(ctx, id))
}

func (n *Notifying) Move(ctx context.Context, id string, to int) error {
	return n.after(n.Store.Move(ctx, id, to))
}

func (n *Notifying) Pin(ctx context.Context, id string, pinned bool) error {
	return n.after(n.Store.Pin(ctx, id, pinned))
}

func (n *Notifying) NextHOTP(ctx context.Context, id string) (string, error) {
	code, err := n.Store.NextHOTP(ctx, id)
	return code, n.after(err)
}

func (n *Notifying) Repair(ctx context.Context) (RepairReport, error) {
	r, err := n.Store.Repair(ctx)
	return r, n.after(err)
}

func (n *Notifying) after(err error) error {
	if err == nil {
		n.Changed()
	}
	return err
}
