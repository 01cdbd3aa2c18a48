package keyring

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// IndexFile is the name of the index inside the config directory.
const IndexFile = "accounts.json"

// index is the non-secret list of accounts on disk. It keeps the last list
// read or written with the file's size and time, and parses the file again
// only when another process has changed it. Callers hold the store's lock.
type index struct {
	dir    string
	cached []vault.Account
	stamp  stamp
}

type stamp struct {
	size int64
	mod  time.Time
	ok   bool
}

func (x *index) statFile() stamp {
	fi, err := os.Stat(x.path())
	if err != nil {
		return stamp{}
	}
	return stamp{size: fi.Size(), mod: fi.ModTime(), ok: true}
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
}

type file struct {
	Version  int      `json:"version"`
	Accounts []record `json:"accounts"`
}

func (x *index) path() string { return filepath.Join(x.dir, IndexFile) }

func (x *index) load() ([]vault.Account, error) {
	if st := x.statFile(); st.ok && st == x.stamp {
		return slices.Clone(x.cached), nil
	}
	list, err := x.read()
	if err != nil {
		return nil, err
	}
	x.cached, x.stamp = slices.Clone(list), x.statFile()
	return list, nil
}

func (x *index) read() ([]vault.Account, error) {
	data, err := os.ReadFile(x.path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading account index: %w", err)
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("reading account index %s: %w", x.path(), err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("reading account index %s: unknown version %d", x.path(), f.Version)
	}
	list := make([]vault.Account, 0, len(f.Accounts))
	for _, r := range f.Accounts {
		alg, err := totp.ParseAlgorithm(r.Algorithm)
		if err != nil {
			return nil, fmt.Errorf("reading account index: %s: %w", r.ID, err)
		}
		a := vault.Account{
			ID: r.ID, Issuer: r.Issuer, Account: r.Account, Algorithm: alg,
			Digits: r.Digits, Period: r.Period, Counter: r.Counter, Missing: r.Missing,
		}
		switch r.Type {
		case "totp":
			a.Type = totp.TOTP
		case "hotp":
			a.Type = totp.HOTP
		default:
			return nil, fmt.Errorf("reading account index: %s: unknown type %q", r.ID, r.Type)
		}
		list = append(list, a)
	}
	return list, nil
}

func (x *index) save(list []vault.Account) error {
	f := file{Version: 1, Accounts: make([]record, 0, len(list))}
	for _, a := range list {
		f.Accounts = append(f.Accounts, record{
			ID: a.ID, Issuer: a.Issuer, Account: a.Account, Type: a.Type.String(),
			Algorithm: a.Algorithm.String(), Digits: a.Digits, Period: a.Period,
			Counter: a.Counter, Missing: a.Missing,
		})
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("writing account index: %w", err)
	}
	if err := writeAtomic(x.dir, IndexFile, append(data, '\n')); err != nil {
		x.stamp = stamp{}
		return fmt.Errorf("writing account index: %w", err)
	}
	x.cached, x.stamp = slices.Clone(list), x.statFile()
	return nil
}

// writeAtomic replaces dir/name with data so that a crash leaves either the
// old file or the new one: temp file, fsync, rename, fsync of the directory.
func writeAtomic(dir, name string, data []byte) (err error) {
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
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: not every filesystem syncs directories
		d.Close()
	}
	return nil
}
