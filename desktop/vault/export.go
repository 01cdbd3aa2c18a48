package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"twofold.dev/shared/migration"
	"twofold.dev/shared/totp"
)

// Export is every account of a store with its secret, for a backup or a
// move to another app.
type Export struct {
	Keys []*totp.Key
	// Missing names the accounts whose secret is gone from the keyring:
	// they cannot be exported, and the user is told so.
	Missing []string
	// Pinned holds the keys of pinned accounts.
	Pinned map[*totp.Key]bool
}

// ExportKeys reads every account's full key (HOTP counters included), in
// the list's order.
func ExportKeys(ctx context.Context, st Store) (*Export, error) {
	list, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	ex := &Export{Pinned: map[*totp.Key]bool{}}
	for _, a := range list {
		if a.Missing {
			ex.Missing = append(ex.Missing, a.Label())
			continue
		}
		k, err := st.Key(ctx, a.ID)
		if errors.Is(err, ErrSecretMissing) || errors.Is(err, ErrNotFound) {
			ex.Missing = append(ex.Missing, a.Label())
			continue
		}
		if err != nil {
			return nil, err
		}
		ex.Keys = append(ex.Keys, k)
		if a.Pinned {
			ex.Pinned[k] = true
		}
	}
	return ex, nil
}

// URIList is keys as otpauth:// URIs, one per line: plain text, secrets
// readable by anyone who reads the file.
func URIList(keys []*totp.Key) []byte {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.URI())
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// GAExport is a Google Authenticator transfer: the otpauth-migration URIs
// to show as QR codes, and the accounts left out, each with the reason.
type GAExport struct {
	URIs    []string
	Keys    []*totp.Key // the accounts in URIs, in order
	Refused []string    // "Label: reason"
	// Warnings name accounts that are exported but that older Google
	// Authenticator versions compute wrongly.
	Warnings []string
}

// GoogleAuthenticator prepares the transfer QR codes of keys, at most
// migration.BatchSize accounts per code, as Google's app makes them.
// batchID ties the codes of one export together.
func GoogleAuthenticator(keys []*totp.Key, batchID int32) (*GAExport, error) {
	ex := &GAExport{}
	for _, k := range keys {
		if err := migration.Exportable(k); err != nil {
			ex.Refused = append(ex.Refused, fmt.Sprintf("%s: %v", k.Label(), err))
			continue
		}
		if k.Algorithm != totp.SHA1 {
			ex.Warnings = append(ex.Warnings, fmt.Sprintf("%s uses %s: some Google Authenticator versions refuse it or compute SHA-1 codes for it; check its first code against the service", k.Label(), k.Algorithm))
		}
		ex.Keys = append(ex.Keys, k)
	}
	if len(ex.Keys) == 0 {
		if len(ex.Refused) > 0 {
			return nil, fmt.Errorf("no account can go to Google Authenticator: %s", strings.Join(ex.Refused, "; "))
		}
		return nil, errors.New("no accounts to export")
	}
	uris, err := migration.Encode(ex.Keys, batchID, migration.BatchSize)
	if err != nil {
		return nil, err
	}
	ex.URIs = uris
	return ex, nil
}

// MinSecretBits is the shortest secret accepted without a warning: RFC 4226
// (section 4, R6) asks for 128 bits and requires at least 80.
const MinSecretBits = 80

// SecretWarning is a warning for a key whose secret is shorter than
// MinSecretBits, or "" for a long enough one. Such keys are still added:
// the service chose the secret, and refusing it would lock the user out.
func SecretWarning(k *totp.Key) string {
	if bits := 8 * len(k.Secret); bits < MinSecretBits {
		return fmt.Sprintf("%s: the secret is only %d bits (RFC 4226 asks for 128, at least 80); added anyway, as the service chose it", k.Label(), bits)
	}
	return ""
}
