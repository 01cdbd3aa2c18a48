package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// IndexFile is the name of the index inside the config directory.
const IndexFile = "accounts.json"

// index is the non-secret list of accounts on disk. For List, which takes
// no file lock, it keeps the last list read with the file's identity and
// parses the file again only when another process replaced it; under the
// lock, changes always read the file afresh.
type index struct {
	dir string
	// crash is Options.Crash, called at each step of a write.
	crash func(stage string)

	mu     sync.Mutex
	cached []vault.Account
	stamp  os.FileInfo
}

func (x *index) path() string { return filepath.Join(x.dir, IndexFile) }

// same reports whether two stats are of one unchanged file. Every write
// renames a new file into place, so a change is a new file.
func same(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// load returns the list, from the cache when the file is unchanged.
func (x *index) load() ([]vault.Account, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if st, err := os.Stat(x.path()); err == nil && same(st, x.stamp) {
		return slices.Clone(x.cached), nil
	}
	return x.readLocked()
}

// account returns the account with id, from the cache when the file is
// unchanged, without copying the whole list: a window reads a code for
// each of its accounts, and a copy per read made that quadratic (a
// thousand accounts: a million accounts copied per time step).
func (x *index) account(id string) (vault.Account, bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	list := x.cached
	if st, err := os.Stat(x.path()); err != nil || !same(st, x.stamp) {
		var err error
		if list, err = x.readLocked(); err != nil {
			return vault.Account{}, false, err
		}
	}
	if i := indexOf(list, id); i >= 0 {
		return list[i], true, nil
	}
	return vault.Account{}, false, nil
}

// fresh reads the file, whatever the cache holds: the caller holds the
// file lock and is about to change the list.
func (x *index) fresh() ([]vault.Account, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.readLocked()
}

func (x *index) readLocked() ([]vault.Account, error) {
	f, err := os.Open(x.path())
	if errors.Is(err, fs.ErrNotExist) {
		x.cached, x.stamp = nil, nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading account index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading account index: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading account index: %w", err)
	}
	list, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("the account list %s %s: %w", x.path(), err.Error(), vault.ErrIndexDamaged)
	}
	x.cached, x.stamp = slices.Clone(list), st
	return list, nil
}

// record is one account as written to the index: no secret, and types and
// algorithms spelled out so the file reads without this program.
type record struct {
	ID        string `json:"id"`
	Issuer    string `json:"issuer,omitempty"`
	Account   string `json:"account"`
	Type      string `json:"type"`
	Algorithm string `json:"algorithm"`
	Digits    int    `json:"digits"`
	Period    int    `json:"period,omitempty"`
	Counter   uint64 `json:"counter,omitempty"`
	Missing   bool   `json:"missing,omitempty"`
	Pinned    bool   `json:"pinned,omitempty"`
}

type file struct {
	Version  int      `json:"version"`
	Accounts []record `json:"accounts"`
}

// parseIndex reads an index file; its errors say in words what is wrong
// with the file ("is empty", "is cut short"), never a JSON parser's.
func parseIndex(data []byte) ([]vault.Account, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("is empty (a write was cut short?)")
	}
	f, ok := parseFast(data)
	if !ok {
		f = file{}
		if err := json.Unmarshal(data, &f); err != nil {
			var syn *json.SyntaxError
			var typ *json.UnmarshalTypeError
			switch {
			case strings.Contains(err.Error(), "unexpected end of JSON input"):
				return nil, errors.New("is cut short (truncated)")
			case errors.As(err, &syn):
				return nil, fmt.Errorf("is not an account list (unreadable at byte %d)", syn.Offset)
			case errors.As(err, &typ):
				return nil, fmt.Errorf("is not an account list (field %q holds the wrong kind of value)", typ.Field)
			}
			return nil, errors.New("is not an account list")
		}
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("has version %d, which this Twofold cannot read (written by another version, or overwritten)", f.Version)
	}
	list := make([]vault.Account, 0, len(f.Accounts))
	seen := map[string]bool{}
	for i, r := range f.Accounts {
		if r.ID == "" || seen[r.ID] {
			return nil, fmt.Errorf("has an account (number %d) without a unique id", i+1)
		}
		seen[r.ID] = true
		a, err := accountOf(r)
		if err != nil {
			return nil, err
		}
		list = append(list, a)
	}
	return list, nil
}

// accountOf reads a record; its errors say what is wrong in words.
func accountOf(r record) (vault.Account, error) {
	alg, err := totp.ParseAlgorithm(r.Algorithm)
	if err != nil {
		return vault.Account{}, fmt.Errorf("has an account (%s) with an unknown algorithm %q", vault.ShortID(r.ID), r.Algorithm)
	}
	a := vault.Account{
		ID: r.ID, Issuer: r.Issuer, Account: r.Account, Algorithm: alg,
		Digits: r.Digits, Period: r.Period, Counter: r.Counter, Missing: r.Missing, Pinned: r.Pinned,
	}
	switch r.Type {
	case "totp":
		a.Type = totp.TOTP
	case "hotp":
		a.Type = totp.HOTP
	default:
		return vault.Account{}, fmt.Errorf("has an account (%s) of unknown type %q", vault.ShortID(r.ID), r.Type)
	}
	return a, nil
}

func recordOf(a vault.Account) record {
	return record{
		ID: a.ID, Issuer: a.Issuer, Account: a.Account, Type: a.Type.String(),
		Algorithm: a.Algorithm.String(), Digits: a.Digits, Period: a.Period,
		Counter: a.Counter, Missing: a.Missing, Pinned: a.Pinned,
	}
}

// save writes the list. The caller holds the file lock.
func (x *index) save(list []vault.Account) error {
	f := file{Version: 1, Accounts: make([]record, 0, len(list))}
	for _, a := range list {
		f.Accounts = append(f.Accounts, recordOf(a))
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("writing account index: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.cached, x.stamp = nil, nil
	if err := writeAtomic(x.dir, IndexFile, append(data, '\n'), x.crash); err != nil {
		return fmt.Errorf("writing account index: %w", err)
	}
	if st, err := os.Stat(x.path()); err == nil {
		x.cached, x.stamp = slices.Clone(list), st
	}
	return nil
}

// keepAside renames a damaged index to accounts.json.damaged-<time>, so a
// repair never overwrites it. The caller holds the file lock.
func (x *index) keepAside(now time.Time) (string, error) {
	name := x.path() + ".damaged-" + now.UTC().Format("20060102T150405Z")
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			break
		}
		name = fmt.Sprintf("%s.damaged-%s-%d", x.path(), now.UTC().Format("20060102T150405Z"), i)
	}
	if err := os.Rename(x.path(), name); err != nil {
		return "", fmt.Errorf("keeping the damaged account list aside: %w", err)
	}
	syncDir(x.dir)
	x.mu.Lock()
	x.cached, x.stamp = nil, nil
	x.mu.Unlock()
	return name, nil
}

// tempPrefix starts the name of an index being written.
const tempPrefix = "." + IndexFile + ".tmp"

// removeTemps deletes index files a killed writer left half-written. Only
// the lock holder writes them, so under the lock none is in progress.
func (x *index) removeTemps() {
	names, _ := filepath.Glob(filepath.Join(x.dir, tempPrefix+"*"))
	for _, n := range names {
		os.Remove(n)
	}
}

// writeAtomic replaces dir/name with data so that a crash leaves either the
// old file or the new one: temp file, fsync, rename, fsync of the directory.
// os.Rename is rename(2) on Unix, atomic over an existing file; on Windows
// it is MoveFileEx with MOVEFILE_REPLACE_EXISTING, which replaces the
// target in one step on NTFS (the file is never absent; see replaceFile
// for readers holding it open). crash, when not
// nil, is called between the steps (tests kill the process there).
func writeAtomic(dir, name string, data []byte, crash func(string)) (err error) {
	if crash == nil {
		crash = func(string) {}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	half := len(data) / 2
	if _, err = f.Write(data[:half]); err != nil {
		return err
	}
	crash("index-half-written")
	if _, err = f.Write(data[half:]); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	crash("index-before-rename")
	if err = replaceFile(f.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	syncDir(dir)
	crash("index-renamed")
	return nil
}

// syncDir makes a rename durable; best effort, as not every filesystem
// (nor Windows) syncs directories.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
