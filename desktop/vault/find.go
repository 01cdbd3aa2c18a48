package vault

import (
	"fmt"
	"strings"
)

// minIDPrefix is the shortest id prefix Find accepts, so that a short
// label fragment like "ab" is not taken for an id.
const minIDPrefix = 4

// Find picks the one account a user means: an exact "Issuer:account"
// (case-insensitive), else a unique prefix of an account id (at least 4
// hex digits, as list shows them), else the only label containing it.
// Two accounts with one label are told apart by their ids.
func Find(accounts []Account, label string) (Account, error) {
	want := strings.ToLower(strings.TrimSpace(label))
	if want == "" {
		return Account{}, fmt.Errorf("%w: empty label", ErrNotFound)
	}
	var exact, byID, partial []Account
	for _, a := range accounts {
		l := strings.ToLower(a.Label())
		switch {
		case l == want:
			exact = append(exact, a)
		case len(want) >= minIDPrefix && isHex(want) && strings.HasPrefix(strings.ToLower(a.ID), want):
			byID = append(byID, a)
		case strings.Contains(l, want):
			partial = append(partial, a)
		}
	}
	switch {
	case len(exact) == 1:
		return exact[0], nil
	case len(exact) > 1:
		return Account{}, ambiguous(label, exact)
	case len(byID) == 1:
		return byID[0], nil
	}
	all := append(byID, partial...)
	switch len(all) {
	case 0:
		return Account{}, fmt.Errorf("%w matches %q", ErrNotFound, label)
	case 1:
		return all[0], nil
	}
	return Account{}, ambiguous(label, all)
}

func ambiguous(label string, all []Account) error {
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = ShortID(a.ID) + " " + a.Label()
	}
	return fmt.Errorf("%q matches %d accounts (%s): give the id shown first, or more of the label", label, len(all), strings.Join(names, ", "))
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// Matches reports whether an account's issuer or name contains query
// (case-insensitive), for the search box.
func Matches(a Account, query string) bool {
	q := strings.ToLower(strings.TrimSpace(query))
	return q == "" || strings.Contains(strings.ToLower(a.Issuer), q) || strings.Contains(strings.ToLower(a.Account), q)
}

// Accounts is "1 account" or "n accounts", for messages.
func Accounts(n int) string {
	if n == 1 {
		return "1 account"
	}
	return fmt.Sprintf("%d accounts", n)
}
