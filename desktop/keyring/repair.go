package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/gofrs/flock"

	"twofold.dev/desktop/vault"
)

// keyringItems lists the service's items that are this store's accounts:
// ids as Add makes them (another program may use the service name too),
// of this config directory or of none (written before items named it).
func (s *Store) keyringItems(ctx context.Context) ([]Item, error) {
	if s.items == nil {
		if s.opts.Catalog {
			return s.catalogItems(ctx)
		}
		return nil, fmt.Errorf("listing the keyring: %w", vault.ErrCannotList)
	}
	var all []Item
	err := s.call(ctx, "listing the keyring", func() (err error) {
		all, err = s.items.Items(s.opts.Service)
		return err
	})
	if err != nil {
		return nil, err
	}
	var items []Item
	for _, it := range all {
		if d, ok := it.Attrs[AttrDir]; isHexID(it.User) && (!ok || d == s.dir) {
			items = append(items, it)
		}
	}
	return items, nil
}

// Orphans lists the accounts whose items are in the keyring but not in the
// index. The keyring is read first without any lock: at a thousand
// accounts that is thousands of D-Bus calls, seconds during which no add
// or remove, in this process or another, could have run. Only the items
// then missing from the index are looked at again under the locks: the
// index lock shared, so no change of the index happens meanwhile, and
// AddingFile exclusive. An Add writes its item before it takes the index
// lock (a keyring waiting for its password must not hold up every other
// Twofold), holding AddingFile shared meanwhile; while an add is under way
// Orphans does not wait (it is advice, and the add may wait for a keyring
// prompt) but returns ErrAdding. An add that died let go of AddingFile
// with its process, so its item is listed at once.
func (s *Store) Orphans(ctx context.Context) ([]vault.Account, error) {
	list, err := s.index.fresh()
	if err != nil {
		return nil, err
	}
	items, err := s.keyringItems(ctx)
	if err != nil {
		return nil, err
	}
	candidates, _ := orphansOf(list, items)
	if len(candidates) == 0 {
		return nil, nil
	}
	if !s.noFileLock {
		if err := os.MkdirAll(s.opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("opening account store: %w", err)
		}
		fl := flock.New(filepath.Join(s.opts.Dir, AddingFile), flock.SetPermissions(0o600))
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("looking for accounts being added: %w", err)
		}
		if !ok {
			return nil, ErrAdding
		}
		defer fl.Close()
	}
	var orphans []vault.Account
	err = s.locked(ctx, false, func() error {
		list, err := s.index.fresh()
		if err != nil {
			return err
		}
		orphans, err = s.stillOrphaned(ctx, candidates, list)
		return err
	})
	return orphans, err
}

// stillOrphaned are the candidates list lacks and whose secret the
// keyring still holds (an item removed since it was listed is gone).
func (s *Store) stillOrphaned(ctx context.Context, candidates, list []vault.Account) ([]vault.Account, error) {
	listed := map[string]bool{}
	for _, a := range list {
		listed[a.ID] = true
	}
	var unlisted []vault.Account
	for _, a := range candidates {
		if !listed[a.ID] {
			unlisted = append(unlisted, a)
		}
	}
	return s.fetchable(ctx, unlisted)
}

// ErrAdding: another Twofold is adding an account, so the keyring and the
// index cannot be compared now.
var ErrAdding = fmt.Errorf("another Twofold is adding an account: %w", vault.ErrBusy)

// orphansOf returns the accounts of items not in list, in a stable order
// (by label), and those among them that had to be guessed.
func orphansOf(list []vault.Account, items []Item) (orphans, guesses []vault.Account) {
	seen := map[string]bool{}
	for _, a := range list {
		seen[a.ID] = true
	}
	for _, it := range items {
		if seen[it.User] {
			continue
		}
		seen[it.User] = true // an id with two items is one account
		a, ok := accountOfItem(it)
		if !ok {
			a = guessed(it)
			guesses = append(guesses, a)
		}
		orphans = append(orphans, a)
	}
	sort.SliceStable(orphans, func(i, j int) bool { return orphans[i].Label() < orphans[j].Label() })
	return orphans, guesses
}

// Repair rebuilds the index from the keyring, under the lock: a damaged
// index is renamed aside (never overwritten), orphaned items are added at
// the end, listed accounts whose item is gone are marked missing, and
// items without a label and attributes (written by an older Twofold) get
// them. An HOTP counter mirrored higher in the keyring than in the index
// (a crash between the two writes) is taken, so no code is shown twice.
func (s *Store) Repair(ctx context.Context) (vault.RepairReport, error) {
	var r vault.RepairReport
	err := s.locked(ctx, true, func() error {
		items, err := s.keyringItems(ctx)
		if err != nil {
			return err
		}
		list, err := s.index.fresh()
		if errors.Is(err, vault.ErrIndexDamaged) {
			r.Damage = err.Error()
			if r.KeptAside, err = s.index.keepAside(s.opts.Now()); err != nil {
				return err
			}
			list = nil
		} else if err != nil {
			return err
		}
		byID := map[string]Item{}
		for _, it := range items {
			byID[it.User] = it
		}
		for i, a := range list {
			it, ok := byID[a.ID]
			if !ok && s.items == nil {
				// The catalog may predate the account: ask for its secret.
				_, err := s.fetch(ctx, a)
				if err == nil {
					list[i].Missing = false
					r.Kept++
					continue
				}
				if !errors.Is(err, vault.ErrSecretMissing) {
					return err
				}
			}
			if !ok {
				list[i].Missing = true
				r.Missing = append(r.Missing, list[i])
				continue
			}
			list[i].Missing = false
			if c, err := strconv.ParseUint(it.Attrs[AttrCounter], 10, 64); err == nil && c > a.Counter && it.Attrs[AttrType] == a.Type.String() {
				list[i].Counter = c
			}
			if s.items != nil && !described(it, s.opts.Service, s.dir, list[i]) {
				if err := s.describe(ctx, list[i]); err != nil {
					return err
				}
				r.Described++
			}
			r.Kept++
		}
		r.Restored, r.Guessed = orphansOf(list, items)
		if r.Restored, err = s.withSecrets(ctx, r.Restored); err != nil {
			return err
		}
		list = append(list, r.Restored...)
		return s.save(ctx, list)
	})
	return r, err
}
