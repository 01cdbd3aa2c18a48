package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"twofold.dev/shared/totp"
)

// ErrNotBackup is returned for data that is not a backup file we read.
var ErrNotBackup = errors.New("not an Aegis or 2FAS backup")

// IsBackup reports whether data looks like a JSON backup file rather than
// an image or a URI.
func IsBackup(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && t[0] == '{'
}

// ParseBackup reads the plain (unencrypted) backups of two popular
// authenticators: Aegis (.json) and 2FAS (.2fas). Entries of a kind no
// standard TOTP app can compute (Steam, Yandex, mOTP) are listed in
// Skipped; the others are returned. An encrypted backup is refused with
// ErrPasswordNeeded: read it with ReadBackup.
func ParseBackup(data []byte) (*Found, error) {
	return ReadBackup(data, nil)
}

// BackupEncrypted reports whether data is an encrypted Aegis or 2FAS
// backup, so a caller knows to ask for its password before ReadBackup.
func BackupEncrypted(data []byte) bool {
	p, err := probeBackup(data)
	if err != nil {
		return false
	}
	return p.Enc != "" || (len(p.DB) > 0 && p.DB[0] == '"')
}

type backupProbe struct {
	DB       json.RawMessage `json:"db"`
	Header   json.RawMessage `json:"header"`
	Services json.RawMessage `json:"services"`
	Enc      string          `json:"servicesEncrypted"`
}

func probeBackup(data []byte) (*backupProbe, error) {
	var p backupProbe
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBackup, err)
	}
	return &p, nil
}

// ReadBackup reads a plain or encrypted Aegis or 2FAS backup; password is
// used only for an encrypted one, which without it is refused with
// ErrPasswordNeeded, and with a wrong one with ErrWrongPassword.
func ReadBackup(data, password []byte) (*Found, error) {
	probe, err := probeBackup(data)
	if err != nil {
		return nil, err
	}
	switch {
	case probe.DB != nil:
		db := probe.DB
		if len(db) > 0 && db[0] == '"' {
			var f aegisFile
			if err := json.Unmarshal(data, &f); err != nil {
				return nil, fmt.Errorf("reading Aegis backup: %w", err)
			}
			if db, err = decryptAegis(&f, password); err != nil {
				return nil, fmt.Errorf("reading encrypted Aegis backup: %w", err)
			}
		}
		return parseAegis(db)
	case probe.Enc != "":
		services, err := decrypt2FAS(probe.Enc, password)
		if err != nil {
			return nil, fmt.Errorf("reading encrypted 2FAS backup: %w", err)
		}
		return parse2FAS(services)
	case probe.Services != nil:
		return parse2FAS(probe.Services)
	}
	return nil, ErrNotBackup
}

func parseAegis(raw json.RawMessage) (*Found, error) {
	var db struct {
		Entries []struct {
			Type     string `json:"type"`
			Name     string `json:"name"`
			Issuer   string `json:"issuer"`
			Favorite bool   `json:"favorite"`
			Info     struct {
				Secret  string `json:"secret"`
				Algo    string `json:"algo"`
				Digits  int    `json:"digits"`
				Period  int    `json:"period"`
				Counter uint64 `json:"counter"`
			} `json:"info"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(raw, &db); err != nil {
		return nil, fmt.Errorf("reading Aegis backup: %w", err)
	}
	f := &Found{}
	for i, e := range db.Entries {
		k, err := backupKey(e.Type, e.Issuer, e.Name, e.Info.Secret, e.Info.Algo, e.Info.Digits, e.Info.Period, e.Info.Counter)
		if err != nil {
			f.Skipped = append(f.Skipped, fmt.Sprintf("entry %d (%s): %v", i+1, labelOf(e.Issuer, e.Name), err))
			continue
		}
		f.Keys = append(f.Keys, k)
		if e.Favorite { // Aegis's favourites are listed first, as pins are
			if f.Pinned == nil {
				f.Pinned = map[*totp.Key]bool{}
			}
			f.Pinned[k] = true
		}
	}
	return found(f, "Aegis backup")
}

func parse2FAS(raw json.RawMessage) (*Found, error) {
	var services []struct {
		Name   string `json:"name"`
		Secret string `json:"secret"`
		OTP    struct {
			Account   string `json:"account"`
			Label     string `json:"label"`
			Issuer    string `json:"issuer"`
			Digits    int    `json:"digits"`
			Period    int    `json:"period"`
			Algorithm string `json:"algorithm"`
			Counter   uint64 `json:"counter"`
			TokenType string `json:"tokenType"`
		} `json:"otp"`
	}
	if err := json.Unmarshal(raw, &services); err != nil {
		return nil, fmt.Errorf("reading 2FAS backup: %w", err)
	}
	f := &Found{}
	for i, s := range services {
		issuer, account := s.OTP.Issuer, s.OTP.Account
		if issuer == "" {
			issuer = s.Name
		}
		if account == "" {
			account = s.OTP.Label
		}
		k, err := backupKey(s.OTP.TokenType, issuer, account, s.Secret, s.OTP.Algorithm, s.OTP.Digits, s.OTP.Period, s.OTP.Counter)
		if err != nil {
			f.Skipped = append(f.Skipped, fmt.Sprintf("entry %d (%s): %v", i+1, labelOf(issuer, account), err))
			continue
		}
		f.Keys = append(f.Keys, k)
	}
	return found(f, "2FAS backup")
}

func found(f *Found, what string) (*Found, error) {
	if len(f.Keys) == 0 {
		if len(f.Skipped) > 0 {
			return nil, fmt.Errorf("reading %s: no usable account: %s", what, strings.Join(f.Skipped, "; "))
		}
		return nil, fmt.Errorf("reading %s: it holds no accounts", what)
	}
	return f, nil
}

func labelOf(issuer, account string) string {
	if issuer == "" {
		return account
	}
	return issuer + ":" + account
}

// backupKey builds and checks one key; zero values take the defaults the
// apps use.
func backupKey(typ, issuer, account, secret, algo string, digits, period int, counter uint64) (*totp.Key, error) {
	k := &totp.Key{Issuer: strings.TrimSpace(issuer), Account: strings.TrimSpace(account), Digits: digits, Period: period}
	switch strings.ToLower(typ) {
	case "totp", "":
		k.Type = totp.TOTP
		if k.Period == 0 {
			k.Period = totp.DefaultPeriod
		}
	case "hotp":
		k.Type, k.Period, k.Counter = totp.HOTP, 0, counter
	default:
		return nil, fmt.Errorf("%q codes are not standard TOTP or HOTP", typ)
	}
	if k.Digits == 0 {
		k.Digits = totp.DefaultDigits
	}
	if k.Account == "" {
		k.Account, k.Issuer = k.Issuer, ""
	}
	if k.Account == "" {
		return nil, errors.New("no name")
	}
	var err error
	if algo != "" {
		if k.Algorithm, err = totp.ParseAlgorithm(algo); err != nil {
			return nil, err
		}
	}
	if k.Secret, err = totp.DecodeSecret(secret); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}
