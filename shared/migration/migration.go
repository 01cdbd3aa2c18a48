// Package migration reads and writes Google Authenticator's "Transfer
// accounts" export: otpauth-migration://offline?data=... URIs whose data is
// a base64 protobuf MigrationPayload. The wire format is read and written
// with google.golang.org/protobuf/encoding/protowire.
package migration

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"twofold.dev/shared/totp"
)

// Batch is one export URI: its accounts and where it stands in the export.
type Batch struct {
	Keys    []*totp.Key
	Version int32
	Size    int32 // how many URIs the whole export has
	Index   int32 // this URI's place in it, from 0
	ID      int32 // the same for every URI of one export
}

// ErrNotMigration is returned for text that is not an otpauth-migration URI.
var ErrNotMigration = errors.New("not a Google Authenticator export (want otpauth-migration://offline?data=...)")

// IsMigration reports whether s looks like an export URI, so callers can
// choose between this package and totp.ParseURI.
func IsMigration(s string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), "otpauth-migration:")
}

// Decode reads one export URI.
func Decode(uri string) (*Batch, error) {
	uri = strings.TrimSpace(uri)
	u, err := url.Parse(uri)
	if err != nil || !strings.EqualFold(u.Scheme, "otpauth-migration") {
		return nil, ErrNotMigration
	}
	if !strings.EqualFold(u.Host, "offline") {
		return nil, fmt.Errorf("export: unsupported kind %q (want offline)", u.Host)
	}
	data, err := dataParam(u.RawQuery)
	if err != nil {
		return nil, err
	}
	raw, err := decodeBase64(data)
	if err != nil {
		return nil, fmt.Errorf("export data: not valid base64")
	}
	b, err := unmarshalPayload(raw)
	if err != nil {
		return nil, fmt.Errorf("export data: %w", err)
	}
	if len(b.Keys) == 0 {
		return nil, fmt.Errorf("export data: no accounts in it")
	}
	return b, nil
}

// dataParam finds data= in the raw query and unescapes it without turning
// '+' into a space: base64 uses '+', and exports are often pasted unescaped.
func dataParam(rawQuery string) (string, error) {
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "data" {
			continue
		}
		s, err := url.PathUnescape(v)
		if err != nil {
			return "", fmt.Errorf("export data: bad escape: %v", err)
		}
		// Some tools did turn '+' into a space; base64 has no spaces.
		s = strings.ReplaceAll(s, " ", "+")
		if s == "" {
			return "", fmt.Errorf("export data: empty")
		}
		return s, nil
	}
	return "", fmt.Errorf("export data: missing (want ?data=...)")
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Field numbers and enum values of Google Authenticator's MigrationPayload.
const (
	payloadOtpParameters = 1
	payloadVersion       = 2
	payloadBatchSize     = 3
	payloadBatchIndex    = 4
	payloadBatchID       = 5

	paramSecret    = 1
	paramName      = 2
	paramIssuer    = 3
	paramAlgorithm = 4
	paramDigits    = 5
	paramType      = 6
	paramCounter   = 7

	algoUnspecified, algoSHA1, algoSHA256, algoSHA512, algoMD5 = 0, 1, 2, 3, 4
	digitsUnspecified, digitsSix, digitsEight                  = 0, 1, 2
	typeUnspecified, typeHOTP, typeTOTP                        = 0, 1, 2
)

// fields walks a message, calling fn for each field with its varint value or
// its bytes; fn ignores what it does not know, as protobuf readers must.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errors.New("malformed protobuf")
		}
		b = b[n:]
		var v uint64
		var bs []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errors.New("malformed protobuf")
		}
		b = b[n:]
		if err := fn(num, typ, v, bs); err != nil {
			return err
		}
	}
	return nil
}

func unmarshalPayload(raw []byte) (*Batch, error) {
	b := &Batch{}
	err := fields(raw, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch {
		case num == payloadOtpParameters && typ == protowire.BytesType:
			k, err := unmarshalParams(bs)
			if err != nil {
				return fmt.Errorf("account %d: %w", len(b.Keys)+1, err)
			}
			b.Keys = append(b.Keys, k)
		case typ != protowire.VarintType:
		case num == payloadVersion:
			b.Version = int32(v)
		case num == payloadBatchSize:
			b.Size = int32(v)
		case num == payloadBatchIndex:
			b.Index = int32(v)
		case num == payloadBatchID:
			b.ID = int32(v) // int32 fields are sign-extended varints
		}
		return nil
	})
	return b, err
}

func unmarshalParams(raw []byte) (*totp.Key, error) {
	k := &totp.Key{Type: totp.TOTP, Algorithm: totp.SHA1, Digits: 6, Period: totp.DefaultPeriod}
	var name string
	err := fields(raw, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		if typ == protowire.BytesType {
			switch num {
			case paramSecret:
				k.Secret = append([]byte(nil), bs...)
			case paramName:
				name = string(bs)
			case paramIssuer:
				k.Issuer = string(bs)
			}
			return nil
		}
		if typ != protowire.VarintType {
			return nil
		}
		switch num {
		case paramAlgorithm:
			switch v {
			case algoUnspecified, algoSHA1:
				k.Algorithm = totp.SHA1
			case algoSHA256:
				k.Algorithm = totp.SHA256
			case algoSHA512:
				k.Algorithm = totp.SHA512
			case algoMD5:
				return &totp.FieldError{Field: "algorithm", Reason: "MD5 is not supported"}
			default:
				return &totp.FieldError{Field: "algorithm", Reason: fmt.Sprintf("unknown value %d", v)}
			}
		case paramDigits:
			switch v {
			case digitsUnspecified, digitsSix:
				k.Digits = 6
			case digitsEight:
				k.Digits = 8
			default:
				return &totp.FieldError{Field: "digits", Reason: fmt.Sprintf("unknown value %d", v)}
			}
		case paramType:
			switch v {
			case typeUnspecified, typeTOTP:
				k.Type = totp.TOTP
			case typeHOTP:
				k.Type = totp.HOTP
			default:
				return &totp.FieldError{Field: "type", Reason: fmt.Sprintf("unknown value %d", v)}
			}
		case paramCounter:
			k.Counter = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Google writes the name as "Issuer:account" when it has an issuer.
	// Names are trimmed as ParseURI trims them, so a key reads the same
	// from its export and from its URI.
	k.Issuer = strings.TrimSpace(k.Issuer)
	k.Account = strings.TrimSpace(name)
	if k.Issuer != "" {
		k.Account = strings.TrimSpace(strings.TrimPrefix(k.Account, k.Issuer+":"))
	}
	// Each type keeps only its own moving part: an exporter may fill in
	// both fields, and a TOTP key with a counter would not survive its URI.
	if k.Type == totp.HOTP {
		k.Period = 0
	} else {
		k.Counter = 0
	}
	if k.Account == "" {
		return nil, &totp.FieldError{Field: "name", Reason: "missing"}
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// BatchSize is how many accounts Google Authenticator puts in one QR code.
const BatchSize = 10

// Encode writes keys as export URIs of at most perBatch accounts each, all
// with the same batch id. Google Authenticator knows only 6 or 8 digits and
// 30-second periods; a key it cannot hold is refused by name.
func Encode(keys []*totp.Key, batchID int32, perBatch int) ([]string, error) {
	if len(keys) == 0 {
		return nil, errors.New("export: no accounts to export")
	}
	if perBatch <= 0 {
		perBatch = BatchSize
	}
	for _, k := range keys {
		if err := Exportable(k); err != nil {
			return nil, fmt.Errorf("export %q: %w", k.Label(), err)
		}
	}
	n := (len(keys) + perBatch - 1) / perBatch
	uris := make([]string, 0, n)
	for i := 0; i < n; i++ {
		end := min((i+1)*perBatch, len(keys))
		var b []byte
		for _, k := range keys[i*perBatch : end] {
			b = protowire.AppendTag(b, payloadOtpParameters, protowire.BytesType)
			b = protowire.AppendBytes(b, marshalParams(k))
		}
		for _, f := range []struct {
			num protowire.Number
			v   int32
		}{{payloadVersion, 1}, {payloadBatchSize, int32(n)}, {payloadBatchIndex, int32(i)}, {payloadBatchID, batchID}} {
			b = protowire.AppendTag(b, f.num, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(int64(f.v))) // int32: sign-extended
		}
		uris = append(uris, "otpauth-migration://offline?data="+url.QueryEscape(base64.StdEncoding.EncodeToString(b)))
	}
	return uris, nil
}

// Exportable reports why Google Authenticator's export cannot hold k, or
// nil when it can: the format has no period (every code is 30 s) and knows
// only 6 or 8 digits.
func Exportable(k *totp.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if k.Digits == 7 {
		return &totp.FieldError{Field: "digits", Reason: "Google Authenticator export holds only 6 or 8 digits"}
	}
	if k.Type == totp.TOTP && k.Period != totp.DefaultPeriod {
		return &totp.FieldError{Field: "period", Reason: "Google Authenticator export holds only 30-second periods"}
	}
	return nil
}

func marshalParams(k *totp.Key) []byte {
	var b []byte
	str := func(num protowire.Number, s []byte) {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, s)
	}
	varint := func(num protowire.Number, v uint64) {
		b = protowire.AppendTag(b, num, protowire.VarintType)
		b = protowire.AppendVarint(b, v)
	}
	str(paramSecret, k.Secret)
	str(paramName, []byte(k.Label()))
	if k.Issuer != "" {
		str(paramIssuer, []byte(k.Issuer))
	}
	varint(paramAlgorithm, map[totp.Algorithm]uint64{totp.SHA1: algoSHA1, totp.SHA256: algoSHA256, totp.SHA512: algoSHA512}[k.Algorithm])
	digits := uint64(digitsSix)
	if k.Digits == 8 {
		digits = digitsEight
	}
	varint(paramDigits, digits)
	if k.Type == totp.HOTP {
		varint(paramType, typeHOTP)
		varint(paramCounter, k.Counter)
	} else {
		varint(paramType, typeTOTP)
	}
	return b
}
