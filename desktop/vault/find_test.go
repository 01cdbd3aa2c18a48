package vault_test

import (
	"errors"
	"strings"
	"testing"

	"twofold.dev/desktop/vault"
)

func TestFindByLabelOrID(t *testing.T) {
	list := []vault.Account{
		{ID: "3f2a9c1b00000000000000000000aaaa", Issuer: "Twofold Portal", Account: "joe"},
		{ID: "77e0d4c200000000000000000000bbbb", Issuer: "Twofold Portal", Account: "joe"},
		{ID: "3f2b000000000000000000000000cccc", Issuer: "Mail", Account: "joe@example.com"},
		{ID: "dead000000000000000000000000dddd", Issuer: "Beef", Account: "dead"},
	}
	for _, tc := range []struct{ arg, want, err string }{
		{"3f2a9c1b", list[0].ID, ""},
		{"77E0", list[1].ID, ""},                              // ids are hex; case aside
		{"3f2a", list[0].ID, ""},                              // the shortest id prefix accepted
		{"3f2", "", "no such account"},                        // shorter than 4: only labels are searched
		{"mail", list[2].ID, ""},                              // a part of one label
		{"twofold portal:JOE", "", "give the id shown first"}, // two exact labels: ids offered
		{"Beef:dead", list[3].ID, ""},                         // an exact label wins over an id prefix
		{"dead", list[3].ID, ""},                              // id prefix and label part: the same account
	} {
		a, err := vault.Find(list, tc.arg)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Find(%q): %v, want an error saying %q", tc.arg, err, tc.err)
		case tc.err == "" && (err != nil || a.ID != tc.want):
			t.Errorf("Find(%q) = %s, %v; want %s", tc.arg, a.ID, err, tc.want)
		}
	}
	_, err := vault.Find(list, "Twofold Portal:joe")
	if err == nil || !strings.Contains(err.Error(), "3f2a9c1b Twofold Portal:joe, 77e0d4c2 Twofold Portal:joe") {
		t.Fatalf("ambiguous label: %v", err)
	}
	if _, err := vault.Find(list, "nobody"); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}
