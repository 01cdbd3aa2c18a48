package vault

import (
	"errors"
	"fmt"
	"image"
	"regexp"
	"strings"

	"twofold.dev/shared/migration"
	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

// Found is what one piece of text (typed, pasted or read from a QR code)
// holds: one key for an otpauth URI, every key of a batch for a Google
// Authenticator export.
type Found struct {
	Keys []*totp.Key
	// Batch and Batches number a Google Authenticator export's QR codes
	// (1-based); both are 0 for a plain otpauth URI.
	Batch, Batches int
	// Skipped names the entries of a backup file that were not read, and why.
	Skipped []string
	// Pinned holds the keys that a backup marks pinned (Aegis's favourites).
	Pinned map[*totp.Key]bool
}

// ErrNoKey is returned for text that is neither an otpauth:// nor an
// otpauth-migration:// URI.
var ErrNoKey = errors.New("not an authenticator key")

// ParseText reads an otpauth:// or otpauth-migration:// URI, or several,
// one per line (blank lines and # comments are passed over, as in a .txt
// file of URIs). A bad line among good ones is named by its number in
// Skipped; when no line holds a key, the error names every bad line.
func ParseText(s string) (*Found, error) {
	if t := strings.TrimSpace(s); !strings.ContainsAny(t, "\r\n") {
		return parseOne(t)
	}
	return parseLines(s) // untrimmed, so line numbers are the file's

}

func parseLines(s string) (*Found, error) {
	all := &Found{}
	var bad []error
	for i, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f, err := parseOne(line)
		if err != nil {
			err = fmt.Errorf("line %d: %w", i+1, err)
			bad = append(bad, err)
			all.Skipped = append(all.Skipped, err.Error())
			continue
		}
		all.Keys = append(all.Keys, f.Keys...)
	}
	switch {
	case len(all.Keys) > 0:
		return all, nil
	case len(bad) == 1:
		return nil, bad[0]
	case len(bad) > 1:
		return nil, fmt.Errorf("%w: no line holds a key: %w", ErrNoKey, errors.Join(bad...))
	}
	return nil, fmt.Errorf("%w: the text is empty", ErrNoKey)
}

func parseOne(s string) (*Found, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, fmt.Errorf("%w: the text is empty", ErrNoKey)
	case migration.IsMigration(s):
		b, err := migration.Decode(s)
		if err != nil {
			return nil, fmt.Errorf("reading Google Authenticator export: %w", err)
		}
		if len(b.Keys) == 0 {
			return nil, fmt.Errorf("reading Google Authenticator export: it holds no accounts")
		}
		f := &Found{Keys: b.Keys}
		if b.Size > 1 {
			f.Batch, f.Batches = int(b.Index)+1, int(b.Size)
		}
		return f, nil
	case strings.HasPrefix(strings.ToLower(s), "otpauth://"):
		k, err := totp.ParseURI(s)
		if err != nil {
			return nil, fmt.Errorf("reading otpauth URI: %w", err)
		}
		return &Found{Keys: []*totp.Key{k}}, nil
	}
	if bareSecret(s) {
		return nil, fmt.Errorf("%w: the text looks like a bare secret key, not an otpauth:// URI: add it with Enter key manually in the window, or as otpauth://totp/Issuer:account?secret=…", ErrNoKey)
	}
	return nil, fmt.Errorf("%w: the text %q is not an otpauth:// or otpauth-migration:// URI", ErrNoKey, abbreviate(hideSecrets(s), 40))
}

// bareSecret says whether s is base32 alone, as a site shows a secret for
// manual entry: in one piece, or in groups of one length (the last may be
// shorter) split by spaces or dashes. Such text is named, never echoed,
// in an error.
func bareSecret(s string) bool {
	groups := strings.FieldsFunc(strings.TrimRight(strings.ToUpper(s), "="), func(r rune) bool { return r == ' ' || r == '-' })
	n := 0
	for i, g := range groups {
		for _, r := range g {
			if (r < 'A' || r > 'Z') && (r < '2' || r > '7') {
				return false
			}
		}
		if len(groups) > 1 && (len(g) > len(groups[0]) || i < len(groups)-1 && len(g) != len(groups[0])) {
			return false
		}
		n += len(g)
	}
	return n >= 16
}

// longBase32 is a run of characters that may be a secret.
var longBase32 = regexp.MustCompile(`(?i)[a-z2-7]{16,}`)

// hideSecrets cuts what may be a secret out of text quoted back to the
// user: a secret= or data= value, and any long base32 run.
func hideSecrets(s string) string {
	lower := strings.ToLower(s)
	for _, p := range []string{"secret=", "data="} {
		if i := strings.Index(lower, p); i >= 0 {
			s, lower = s[:i+len(p)]+"…", lower[:i+len(p)]+"…"
		}
	}
	return longBase32.ReplaceAllString(s, "…")
}

func abbreviate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// Scan is the result of reading keys from QR codes: the keys found and,
// for every QR code that held no usable key, why.
type Scan struct {
	Keys    []*totp.Key
	Notes   []string // e.g. "Google Authenticator export, batch 1 of 3"
	Refused []error  // one per QR code that is not a usable key
	// Pinned holds the keys a backup marks pinned (Found.Pinned).
	Pinned map[*totp.Key]bool
}

// ParseTexts reads every QR code text; codes that are not keys are kept in
// Refused so the caller can name them.
func ParseTexts(texts []string) *Scan {
	s := &Scan{}
	for _, t := range texts {
		f, err := ParseText(t)
		if err != nil {
			s.Refused = append(s.Refused, fmt.Errorf("QR code: %w", err))
			continue
		}
		s.Keys = append(s.Keys, f.Keys...)
		if f.Batches > 1 {
			s.Notes = append(s.Notes, fmt.Sprintf("Google Authenticator export: batch %d of %d (add the other batches too)", f.Batch, f.Batches))
		}
	}
	return s
}

// Err is nil when the scan found at least one key, and otherwise says why
// nothing can be added.
func (s *Scan) Err() error {
	if len(s.Keys) > 0 {
		return nil
	}
	if len(s.Refused) == 1 {
		return s.Refused[0]
	}
	if len(s.Refused) > 1 {
		return fmt.Errorf("found %d QR codes, none of them an authenticator key: %w", len(s.Refused), errors.Join(s.Refused...))
	}
	return qr.ErrNotFound
}

// ParseImageBytes reads every key in the QR codes of a PNG, JPEG or GIF
// image (a saved QR code, a screenshot, an export screen).
func ParseImageBytes(data []byte) (*Scan, error) {
	texts, err := qr.DecodeBytes(data)
	if err != nil {
		return nil, imageErr(err, "in the picture")
	}
	s := ParseTexts(texts)
	return s, s.Err()
}

// ParseImages reads every key in the QR codes of the images (one per display).
func ParseImages(imgs []image.Image) (*Scan, error) {
	var texts []string
	for _, img := range imgs {
		t, err := qr.Decode(img)
		if errors.Is(err, qr.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, imageErr(err, "on the screen")
		}
		texts = append(texts, t...)
	}
	if len(texts) == 0 {
		return nil, imageErr(qr.ErrNotFound, "on the screen")
	}
	s := ParseTexts(texts)
	return s, s.Err()
}

func imageErr(err error, where string) error {
	switch {
	case errors.Is(err, qr.ErrNotFound):
		return fmt.Errorf("%w %s", err, where)
	case errors.Is(err, qr.ErrNotImage):
		return fmt.Errorf("reading picture: %w", err)
	}
	return err
}
