package ui

import (
	"context"
	"slices"
	"time"

	"twofold.dev/desktop/vault"
)

// How often and when each account's code was copied, kept in the app's
// preferences under the account's id: not in the account index, so a copy
// writes no index and starts no automatic backup. Only a count and a time
// are kept, never a code.
//
// The preferences cannot list their keys, so prefUsed lists the ids that
// have a record: an account removed elsewhere (`twofold remove`, another
// window) has its record dropped at the next load (forgetUnlisted).
const (
	prefUseCount = "use-count-" // + account id: copies so far
	prefUseLast  = "use-last-"  // + account id: Unix seconds of the last copy
	prefUsed     = "use-ids"    // the ids with a record
)

// use is what is known of an account's use.
type use struct {
	count int
	last  time.Time // zero: never copied
}

func (u *UI) useOf(id string) use {
	p := u.app.Preferences()
	s := use{count: p.Int(prefUseCount + id)}
	if t := p.Int(prefUseLast + id); t > 0 {
		s.last = time.Unix(int64(t), 0)
	}
	return s
}

// used records that a's code was copied now, and updates the tray's
// recently used accounts.
func (u *UI) used(a vault.Account) {
	p := u.app.Preferences()
	p.SetInt(prefUseCount+a.ID, p.Int(prefUseCount+a.ID)+1)
	p.SetInt(prefUseLast+a.ID, int(u.clock().Unix()))
	if ids := p.StringList(prefUsed); !slices.Contains(ids, a.ID) {
		p.SetStringList(prefUsed, append(ids, a.ID))
	}
	u.updateTray()
}

// forgetUse removes a deleted account's record.
func (u *UI) forgetUse(id string) {
	p := u.app.Preferences()
	p.RemoveValue(prefUseCount + id)
	p.RemoveValue(prefUseLast + id)
	if ids := p.StringList(prefUsed); slices.Contains(ids, id) {
		p.SetStringList(prefUsed, slices.DeleteFunc(ids, func(s string) bool { return s == id }))
	}
}

// forgetUnlisted drops the records of accounts no longer in list (the
// whole list, as loaded), and lists the records kept from before
// prefUsed existed.
func (u *UI) forgetUnlisted(list []vault.Account) {
	p := u.app.Preferences()
	listed := map[string]bool{}
	for _, a := range list {
		listed[a.ID] = true
	}
	ids := p.StringList(prefUsed)
	for _, id := range ids {
		if !listed[id] {
			u.forgetUse(id)
		}
	}
	ids = p.StringList(prefUsed)
	for _, a := range list {
		if !slices.Contains(ids, a.ID) && u.useOf(a.ID).count > 0 {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) != len(p.StringList(prefUsed)) {
		p.SetStringList(prefUsed, ids)
	}
}

// sortByUse puts the most copied accounts first, once, as sortByName puts
// them in alphabetical order; accounts copied as often keep their order.
func (u *UI) sortByUse() {
	sorted := slices.Clone(u.accounts)
	counts := map[string]int{}
	for _, a := range sorted {
		counts[a.ID] = u.useOf(a.ID).count
	}
	slices.SortStableFunc(sorted, func(a, b vault.Account) int { return counts[b.ID] - counts[a.ID] })
	u.storeOrder(sorted, "Cannot sort the accounts")
}

// storeOrder moves the stored accounts into the order of sorted, then
// lists them again.
func (u *UI) storeOrder(sorted []vault.Account, failed string) {
	u.background("sorting", func(ctx context.Context) error {
		for i, a := range sorted {
			if err := u.store.Move(ctx, a.ID, i); err != nil {
				return err
			}
		}
		return nil
	}, func(err error) {
		if err != nil {
			u.showError(failed, err)
		}
		u.reload()
	})
}

// recent are the accounts copied at least once, the last copied first.
func (u *UI) recent() []vault.Account {
	var out []vault.Account
	last := map[string]time.Time{}
	for _, a := range u.accounts {
		if t := u.useOf(a.ID).last; !t.IsZero() {
			out = append(out, a)
			last[a.ID] = t
		}
	}
	slices.SortStableFunc(out, func(a, b vault.Account) int { return last[b.ID].Compare(last[a.ID]) })
	return out
}
