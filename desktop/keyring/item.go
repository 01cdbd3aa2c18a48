package keyring

import (
	"strconv"
	"strings"

	"twofold.dev/desktop/vault"
	"twofold.dev/shared/totp"
)

// Attributes of every keyring item. service and username are go-keyring's
// (so `secret-tool search --all service twofold` and older Twofolds find
// the items); the others describe the account, so the account list can be
// rebuilt from the keyring alone. The secret is never an attribute.
//
// dir is the absolute path of the config directory whose index lists the
// account: two profiles (-config DIR) may share one keyring, and each
// repairs only its own accounts (and items from before dir was kept).
//
// The HOTP counter is mirrored too: NextHOTP writes counter+1 to the item
// before the index, so a list rebuilt from the keyring never goes back to
// a counter whose code was shown.
const (
	AttrService   = "service"
	AttrUser      = "username"
	AttrIssuer    = "issuer"
	AttrAccount   = "account"
	AttrType      = "type"
	AttrAlgorithm = "algorithm"
	AttrDigits    = "digits"
	AttrPeriod    = "period"
	AttrCounter   = "counter"
	AttrDir       = "dir"
	AttrPinned    = "pinned" // "true" on a pinned account's item, absent otherwise
)

// Item is one keyring item without its secret.
type Item struct {
	User  string // the account id
	Label string
	Attrs map[string]string
}

// ItemBackend is a Backend that also keeps a label and attributes on each
// item and can list a service's items. Stores on a plain Backend work, but
// cannot be repaired from the keyring.
type ItemBackend interface {
	Backend
	// SetItem stores a new item for user, replacing any item user had.
	SetItem(service, user, secret, label string, attrs map[string]string) error
	// Describe changes the label and attributes of user's item and leaves
	// its secret alone; gokeyring.ErrNotFound if there is none.
	Describe(service, user, label string, attrs map[string]string) error
	// Items lists the service's items, never their secrets.
	Items(service string) ([]Item, error)
}

// ItemLabel is the name a keyring manager shows for an account's item:
// "Twofold: GitHub (joe)", or "Twofold: joe" without an issuer.
func ItemLabel(a vault.Account) string {
	if a.Issuer == "" {
		return "Twofold: " + a.Account
	}
	return "Twofold: " + a.Issuer + " (" + a.Account + ")"
}

// ItemAttrs are the attributes of an account's item.
func ItemAttrs(service, dir string, a vault.Account) map[string]string {
	m := map[string]string{
		AttrService:   service,
		AttrDir:       dir,
		AttrUser:      a.ID,
		AttrIssuer:    a.Issuer,
		AttrAccount:   a.Account,
		AttrType:      a.Type.String(),
		AttrAlgorithm: a.Algorithm.String(),
		AttrDigits:    strconv.Itoa(a.Digits),
	}
	if a.Type == totp.HOTP {
		m[AttrCounter] = strconv.FormatUint(a.Counter, 10)
	} else {
		m[AttrPeriod] = strconv.Itoa(a.Period)
	}
	if a.Pinned {
		m[AttrPinned] = "true"
	}
	return m
}

// described reports whether it already carries a's label and attributes.
// Attributes the keyring adds itself (gnome-keyring's xdg:schema) do not
// count.
func described(it Item, service, dir string, a vault.Account) bool {
	want := ItemAttrs(service, dir, a)
	for _, k := range []string{AttrPeriod, AttrCounter, AttrPinned} {
		if _, ok := want[k]; !ok && it.Attrs[k] != "" {
			return false
		}
	}
	for k, v := range want {
		if it.Attrs[k] != v {
			return false
		}
	}
	return it.Label == ItemLabel(a)
}

// accountOfItem reads an account back from its item's attributes; false
// when the item has none (written before Twofold described its items) or
// they do not make a valid account.
func accountOfItem(it Item) (vault.Account, bool) {
	at := it.Attrs
	a := vault.Account{ID: it.User, Issuer: at[AttrIssuer], Account: at[AttrAccount], Pinned: at[AttrPinned] == "true"}
	if a.Account == "" {
		return vault.Account{}, false
	}
	switch at[AttrType] {
	case "totp":
		a.Type = totp.TOTP
	case "hotp":
		a.Type = totp.HOTP
	default:
		return vault.Account{}, false
	}
	alg, err := totp.ParseAlgorithm(at[AttrAlgorithm])
	if err != nil {
		return vault.Account{}, false
	}
	a.Algorithm = alg
	if a.Digits, err = strconv.Atoi(at[AttrDigits]); err != nil {
		return vault.Account{}, false
	}
	if a.Type == totp.HOTP {
		if a.Counter, err = strconv.ParseUint(at[AttrCounter], 10, 64); err != nil {
			return vault.Account{}, false
		}
	} else if a.Period, err = strconv.Atoi(at[AttrPeriod]); err != nil {
		return vault.Account{}, false
	}
	// The same checks a key gets when it is added.
	if err := a.Key([]byte{1}).Validate(); err != nil {
		return vault.Account{}, false
	}
	return a, true
}

// guessed is the account restored for an item with no attributes: it is
// named for its id, with the most common parameters, to be checked.
func guessed(it Item) vault.Account {
	return vault.Account{
		ID: it.User, Issuer: "Restored", Account: vault.ShortID(it.User),
		Type: totp.TOTP, Algorithm: totp.SHA1, Digits: 6, Period: 30,
	}
}

// isHexID reports whether s looks like an id this package made (32 hex
// digits), so that items of other programs under the same service name
// are not taken for accounts.
func isHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}
