package keyring

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	gokeyring "github.com/zalando/go-keyring"

	"twofold.dev/desktop/vault"
)

// The catalog is the fallback for a keyring that cannot list its items or
// keep attributes on them (macOS, where go-keyring drives the `security`
// command): the index's accounts, without secrets, kept in the keyring as
// items of their own, so Repair can rebuild a lost index there too. It is
// written inside the lock before the index, so an account the index has
// is always in it. It is JSON split into items of at most catalogShard
// bytes (go-keyring on macOS refuses a command over 4096 bytes), under the
// user names catalog-<hash of the config dir>-<n>; item 0 says how many
// there are. An account whose item was written but whose catalog entry
// was not (a crash before the lock) cannot be found there.
const catalogShard = 2000

type catalogPart struct {
	Shards   int      `json:"shards,omitempty"` // in part 0 only
	Accounts []record `json:"accounts"`
}

func (s *Store) catalogUser(n int) string {
	h := sha256.Sum256([]byte(s.dir))
	return fmt.Sprintf("catalog-%x-%d", h[:4], n)
}

// save writes the list: first to the catalog, when the store keeps one,
// then to the index. The caller holds the file lock.
func (s *Store) save(ctx context.Context, list []vault.Account) error {
	if s.opts.Catalog && s.items == nil {
		if err := s.writeCatalog(ctx, list); err != nil {
			return err
		}
	}
	return s.index.save(list)
}

func (s *Store) writeCatalog(ctx context.Context, list []vault.Account) error {
	parts := []catalogPart{{}}
	size := 0
	for _, a := range list {
		r := recordOf(a)
		r.Missing = false
		b, _ := json.Marshal(r)
		if size+len(b) > catalogShard && len(parts[len(parts)-1].Accounts) > 0 {
			parts = append(parts, catalogPart{})
			size = 0
		}
		parts[len(parts)-1].Accounts = append(parts[len(parts)-1].Accounts, r)
		size += len(b) + 1
	}
	old, err := s.catalogShards(ctx)
	if err != nil {
		return err
	}
	parts[0].Shards = len(parts)
	// Later parts first, part 0 (which counts them) last.
	for i := len(parts) - 1; i >= 0; i-- {
		data, err := json.Marshal(parts[i])
		if err != nil {
			return fmt.Errorf("writing the keyring catalog: %w", err)
		}
		if err := s.call(ctx, "writing the keyring catalog", func() error {
			return s.opts.Backend.Set(s.opts.Service, s.catalogUser(i), string(data))
		}); err != nil {
			return err
		}
	}
	for i := len(parts); i < old; i++ {
		err := s.call(ctx, "writing the keyring catalog", func() error {
			return s.opts.Backend.Delete(s.opts.Service, s.catalogUser(i))
		})
		if err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
			return err
		}
	}
	return nil
}

// catalogPart reads part n; false when there is none.
func (s *Store) catalogPart(ctx context.Context, n int) (catalogPart, bool, error) {
	var data string
	err := s.call(ctx, "reading the keyring catalog", func() (err error) {
		data, err = s.opts.Backend.Get(s.opts.Service, s.catalogUser(n))
		return err
	})
	if errors.Is(err, gokeyring.ErrNotFound) {
		return catalogPart{}, false, nil
	}
	if err != nil {
		return catalogPart{}, false, err
	}
	var p catalogPart
	if err := json.Unmarshal([]byte(data), &p); err != nil {
		return catalogPart{}, false, fmt.Errorf("the keyring catalog (part %d) is damaged: %w", n, vault.ErrCannotList)
	}
	return p, true, nil
}

func (s *Store) catalogShards(ctx context.Context) (int, error) {
	p, ok, err := s.catalogPart(ctx, 0)
	if err != nil || !ok {
		return 0, err
	}
	return p.Shards, nil
}

// catalogItems are the catalog's accounts as the items a listing keyring
// would give; whether their secrets are still there is for withSecrets.
func (s *Store) catalogItems(ctx context.Context) ([]Item, error) {
	n, err := s.catalogShards(ctx)
	if err != nil {
		return nil, err
	}
	var items []Item
	for i := range n {
		p, ok, err := s.catalogPart(ctx, i)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("the keyring catalog lacks part %d of %d: %w", i, n, vault.ErrCannotList)
		}
		for _, r := range p.Accounts {
			a, err := accountOf(r)
			if err != nil {
				continue
			}
			items = append(items, Item{User: a.ID, Label: ItemLabel(a), Attrs: ItemAttrs(s.opts.Service, s.dir, a)})
		}
	}
	return items, nil
}

// withSecrets keeps the accounts whose secret the keyring still has: on a
// keyring that lists its items, all of them; from the catalog, those that
// Get finds (asked only of the few accounts the index lacks).
func (s *Store) withSecrets(ctx context.Context, accounts []vault.Account) ([]vault.Account, error) {
	if s.items != nil {
		return accounts, nil
	}
	return s.fetchable(ctx, accounts)
}

// fetchable keeps the accounts whose secret Get finds.
func (s *Store) fetchable(ctx context.Context, accounts []vault.Account) ([]vault.Account, error) {
	var kept []vault.Account
	for _, a := range accounts {
		_, err := s.fetch(ctx, a)
		if errors.Is(err, vault.ErrSecretMissing) {
			continue
		}
		if err != nil {
			return nil, err
		}
		kept = append(kept, a)
	}
	return kept, nil
}
