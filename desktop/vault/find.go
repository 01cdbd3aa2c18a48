package vault

import (
	"fmt"
	"strings"
)

// Find picks the one account a user means by label: an exact
// "Issuer:account" (case-insensitive), else the only label containing it.
func Find(accounts []Account, label string) (Account, error) {
	want := strings.ToLower(strings.TrimSpace(label))
	if want == "" {
		return Account{}, fmt.Errorf("%w: empty label", ErrNotFound)
	}
	var exact, partial []Account
	for _, a := range accounts {
		l := strings.ToLower(a.Label())
		switch {
		case l == want:
			exact = append(exact, a)
		case strings.Contains(l, want):
			partial = append(partial, a)
		}
	}
	if len(exact) == 1 {
		return exact[0], nil
	}
	all := append(exact, partial...)
	switch len(all) {
	case 0:
		return Account{}, fmt.Errorf("%w matches %q", ErrNotFound, label)
	case 1:
		return all[0], nil
	}
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = a.Label()
	}
	return Account{}, fmt.Errorf("%q matches %d accounts (%s): give more of the label", label, len(all), strings.Join(names, ", "))
}

// Matches reports whether an account's issuer or name contains query
// (case-insensitive), for the search box.
func Matches(a Account, query string) bool {
	q := strings.ToLower(strings.TrimSpace(query))
	return q == "" || strings.Contains(strings.ToLower(a.Issuer), q) || strings.Contains(strings.ToLower(a.Account), q)
}
