package vault_test

import (
	"errors"
	"strings"
	"testing"

	"twofold.dev/desktop/vault"
	"twofold.dev/desktop/vault/vaulttest"
	"twofold.dev/shared/totp"
)

func TestParseBackupAegis(t *testing.T) {
	f, err := vault.ParseBackup([]byte(vaulttest.AegisPlain))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(labels(f.Keys), " "); got != "Acme:mason=KRUGS4ZANFZSAYJAONSWG4TFOQ Orbit:james=5QXNMOMVZ4GYFRD3LGEI3J7SKE Blue Sky Air:benjamin=HU2VGQ4KMZ7XW3EDLYFBTNRPOA" {
		t.Fatalf("keys %s", got)
	}
	if k := f.Keys[1]; k.Algorithm != totp.SHA256 || k.Digits != 7 || k.Period != 20 {
		t.Errorf("Orbit %+v", k)
	}
	if k := f.Keys[2]; k.Type != totp.HOTP || k.Counter != 50 || k.Algorithm != totp.SHA512 || k.Digits != 8 {
		t.Errorf("Blue Sky Air %+v", k)
	}
	if len(f.Skipped) != 1 || !strings.Contains(f.Skipped[0], "Valve:sophia") || !strings.Contains(f.Skipped[0], "steam") {
		t.Errorf("skipped %q, want the steam entry named", f.Skipped)
	}
}

func TestParseBackup2FAS(t *testing.T) {
	f, err := vault.ParseBackup([]byte(vaulttest.TwoFASPlain))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(labels(f.Keys), " "); got != "Acme:mason=KRUGS4ZANFZSAYJAONSWG4TFOQ Quill:james=PB3DGYRAO5K7MNZ2XH4SLEWQTI Harbor:elijah=NZQ4EQ3TB6GV2DKXRL5IHOYWMU" {
		t.Fatalf("keys %s", got)
	}
	if k := f.Keys[1]; k.Type != totp.HOTP || k.Counter != 1 {
		t.Errorf("Quill %+v", k)
	}
	if k := f.Keys[2]; k.Algorithm != totp.SHA512 || k.Digits != 8 || k.Period != 50 {
		t.Errorf("Harbor %+v", k)
	}
}

func TestParseBackupRefusesClearly(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"version":1,"header":{"slots":[{"type":1}],"params":{}},"db":"c2VjcmV0"}`, "encrypted"},
		{`{"services":[],"servicesEncrypted":"abc:def","schemaVersion":4}`, "encrypted"},
		{`{"db":{"entries":[]}}`, "holds no accounts"},
		{`{"db":{"entries":[{"type":"yandex","name":"a","info":{"secret":"JBSWY3DPEHPK3PXP"}}]}}`, "no usable account"},
		{`{"services":[{"name":"x","secret":"not base32!","otp":{"tokenType":"TOTP"}}]}`, "secret"},
		{`{"something":"else"}`, "not an Aegis or 2FAS backup"},
		{`{"db": [1, 2]}`, "reading Aegis backup"},
		{`not json`, "not an Aegis or 2FAS backup"},
	} {
		f, err := vault.ParseBackup([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || f != nil {
			t.Errorf("ParseBackup(%.50s) = %v, %v; want an error with %q", tc.in, f, err, tc.want)
		}
	}
	if _, err := vault.ParseBackup([]byte("nope")); !errors.Is(err, vault.ErrNotBackup) {
		t.Errorf("not JSON: %v", err)
	}
	if !vault.IsBackup([]byte(" \n{\"db\":{}}")) || vault.IsBackup([]byte("\x89PNG")) {
		t.Error("IsBackup")
	}
}
