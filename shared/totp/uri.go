package totp

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// URIError says which part of an otpauth URI is wrong and why.
type URIError = FieldError

func uriErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ParseURI reads an otpauth://totp/... or otpauth://hotp/... key URI in the
// format Google Authenticator defined, accepting what real exporters write:
// lower-case, spaced or padded secrets, URL-encoded labels, and the issuer in
// the label, in the parameter, or both (the parameter wins).
func ParseURI(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return nil, uriErr("uri", "not a URI: %v", unwrapURLError(err))
	}
	if !strings.EqualFold(u.Scheme, "otpauth") {
		return nil, uriErr("scheme", "want otpauth://, got %q", u.Scheme+"://")
	}
	k := &Key{Algorithm: SHA1, Digits: DefaultDigits, Period: DefaultPeriod}
	switch strings.ToLower(u.Host) {
	case "totp":
		k.Type = TOTP
	case "hotp":
		k.Type = HOTP
	case "":
		return nil, uriErr("type", "missing (want otpauth://totp/ or otpauth://hotp/)")
	default:
		return nil, uriErr("type", "unsupported %q (want totp or hotp)", u.Host)
	}

	k.Issuer, k.Account, err = splitLabel(u)
	if err != nil {
		return nil, err
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, uriErr("query", "malformed: %v", err)
	}
	// url.ParseQuery turns '+' into a space; a secret has neither, and an
	// issuer written with '+' for spaces reads right this way.
	if v := strings.TrimSpace(q.Get("issuer")); v != "" {
		k.Issuer = v
	}
	if k.Account == "" {
		return nil, uriErr("label", "missing account name")
	}

	secret := q.Get("secret")
	if secret == "" {
		return nil, uriErr("secret", "missing")
	}
	if k.Secret, err = DecodeSecret(secret); err != nil {
		return nil, uriErr("secret", "%v", err)
	}
	if v := q.Get("algorithm"); v != "" {
		if k.Algorithm, err = ParseAlgorithm(v); err != nil {
			return nil, uriErr("algorithm", "%v", err)
		}
	}
	if v := q.Get("digits"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 6 || n > 8 {
			return nil, uriErr("digits", "must be 6, 7 or 8, got %q", v)
		}
		k.Digits = n
	}
	if v := q.Get("period"); v != "" && k.Type == TOTP {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, uriErr("period", "must be a positive number of seconds, got %q", v)
		}
		k.Period = n
	}
	if k.Type == HOTP {
		v := q.Get("counter")
		if v == "" {
			return nil, uriErr("counter", "missing (an hotp key needs its counter)")
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, uriErr("counter", "must be a non-negative integer, got %q", v)
		}
		k.Counter = n
		k.Period = 0
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// splitLabel reads "Issuer:account". A literal colon in the escaped path is
// the separator, so an issuer may contain an escaped one; failing that, the
// first colon after unescaping is, as many exporters escape the separator.
func splitLabel(u *url.URL) (issuer, account string, err error) {
	raw := strings.TrimPrefix(u.EscapedPath(), "/")
	if i, a, found := strings.Cut(raw, ":"); found {
		if issuer, err = url.PathUnescape(i); err == nil {
			account, err = url.PathUnescape(a)
		}
		if err != nil {
			return "", "", uriErr("label", "bad escape: %v", err)
		}
	} else {
		label := strings.TrimPrefix(u.Path, "/")
		if issuer, account, found = strings.Cut(label, ":"); !found {
			issuer, account = "", label
		}
	}
	return strings.TrimSpace(issuer), strings.TrimSpace(account), nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// URI formats the key as an otpauth URI that Google Authenticator and other
// apps read: label "Issuer:account" and the issuer parameter both set.
func (k *Key) URI() string {
	v := url.Values{}
	v.Set("secret", k.SecretBase32())
	if k.Issuer != "" {
		v.Set("issuer", k.Issuer)
	}
	v.Set("algorithm", k.Algorithm.String())
	v.Set("digits", strconv.Itoa(k.Digits))
	if k.Type == HOTP {
		v.Set("counter", strconv.FormatUint(k.Counter, 10))
	} else {
		v.Set("period", strconv.Itoa(k.Period))
	}
	label := escapeLabel(k.Account)
	if k.Issuer != "" || strings.Contains(k.Account, ":") {
		// Without an issuer, a colon in the account would read back as
		// the separator (exporters often escape it): an empty issuer
		// before a literal one keeps the whole name the account's.
		label = escapeLabel(k.Issuer) + ":" + label
	}
	// url.Values encodes spaces as '+', which some apps show literally.
	return "otpauth://" + k.Type.String() + "/" + label + "?" + strings.ReplaceAll(v.Encode(), "+", "%20")
}

// escapeLabel escapes one side of the label. ':' is escaped so that only the
// separator is a literal colon, and '+' so that no app reads it as a space.
var labelEscaper = strings.NewReplacer(":", "%3A", "+", "%2B")

func escapeLabel(s string) string { return labelEscaper.Replace(url.PathEscape(s)) }
