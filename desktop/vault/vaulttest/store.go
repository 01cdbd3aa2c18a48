package vaulttest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// CheckPin is the pinning contract every vault.Store keeps. st must be
// empty; reopen returns the store as a restarted program would see it
// (a new Store on the same data; a store that keeps nothing across
// restarts returns st itself). secret(i) is the secret of the i'th
// account added, distinct for each i.
func CheckPin(t *testing.T, st vault.Store, reopen func() vault.Store, secret func(i int) []byte) {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i, name := range []string{"alpha", "bravo", "charlie", "delta"} {
		a, err := st.Add(ctx, &totp.Key{Type: totp.TOTP, Issuer: "Pin", Account: name, Secret: secret(i), Digits: 6, Period: 30})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	order := func(s vault.Store) string {
		t.Helper()
		list, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		for _, a := range vault.PinnedFirst(list) {
			mark := ""
			if a.Pinned {
				mark = "*"
			}
			out += fmt.Sprintf("%s%s ", mark, a.Account)
		}
		return out
	}
	if err := st.Pin(ctx, ids[2], true); err != nil {
		t.Fatal(err)
	}
	if err := st.Pin(ctx, ids[3], true); err != nil {
		t.Fatal(err)
	}
	if got, want := order(reopen()), "*charlie *delta alpha bravo "; got != want {
		t.Fatalf("after pinning charlie and delta, reopened: %q, want %q", got, want)
	}
	// Pinning again changes nothing; the stored order is the user's.
	if err := st.Pin(ctx, ids[2], true); err != nil {
		t.Fatal(err)
	}
	list, err := reopen().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range list {
		if a.ID != ids[i] {
			t.Fatalf("pinning moved accounts in the stored list: %v", list)
		}
	}
	// Unpinned, charlie goes back between bravo and delta's old place.
	if err := st.Pin(ctx, ids[2], false); err != nil {
		t.Fatal(err)
	}
	if got, want := order(reopen()), "*delta alpha bravo charlie "; got != want {
		t.Fatalf("after unpinning charlie, reopened: %q, want %q", got, want)
	}
	// A pinned account keeps its mark through a rename and a move.
	if err := st.Rename(ctx, ids[3], "Pin", "echo"); err != nil {
		t.Fatal(err)
	}
	if err := st.Move(ctx, ids[3], 0); err != nil {
		t.Fatal(err)
	}
	if got, want := order(reopen()), "*echo alpha bravo charlie "; got != want {
		t.Fatalf("after renaming and moving delta, reopened: %q, want %q", got, want)
	}
	if err := st.Pin(ctx, "no-such-id", true); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("Pin of an unknown id: %v, want ErrNotFound", err)
	}
}
