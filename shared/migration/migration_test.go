package migration

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"twofold.dev/shared/totp"
)

// The payloads below are assembled byte by byte from the MigrationPayload
// schema, independently of the package's own protowire code.
func varint(v uint64) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
func vfield(num int, v uint64) []byte { return append([]byte{byte(num << 3)}, varint(v)...) } // wire type 0: varint
func bfield(num int, b []byte) []byte {
	return append(append([]byte{byte(num<<3 | 2)}, varint(uint64(len(b)))...), b...)
}
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
func uriOf(payload []byte) string {
	return "otpauth-migration://offline?data=" + url.QueryEscape(base64.StdEncoding.EncodeToString(payload))
}

var hello = []byte("Hello!\xde\xad\xbe\xef") // JBSWY3DPEHPK3PXP

func TestDecodeKnownAccounts(t *testing.T) {
	payload := cat(
		bfield(1, cat(bfield(1, hello), bfield(2, []byte("Test1:test1@example1.com")), bfield(3, []byte("Test1")),
			vfield(4, 1), vfield(5, 1), vfield(6, 2))),
		bfield(1, cat(bfield(1, hello), bfield(2, []byte("hotp demo")), vfield(4, 1), vfield(5, 1), vfield(6, 1), vfield(7, 4))),
		bfield(1, cat(bfield(1, []byte("12345678901234567890123456789012")), bfield(2, []byte("encoding: ¿äÄéÉ? (demo)")),
			vfield(4, 2), vfield(5, 2), vfield(6, 2))),
		vfield(2, 1), vfield(3, 1), vfield(4, 0), vfield(5, uint64(0xffffffffffffff85)), // batch id -123
		bfield(99, []byte("a field from a newer app")),
	)
	b, err := Decode(uriOf(payload))
	if err != nil {
		t.Fatal(err)
	}
	want := []*totp.Key{
		{Type: totp.TOTP, Issuer: "Test1", Account: "test1@example1.com", Secret: hello, Algorithm: totp.SHA1, Digits: 6, Period: 30},
		{Type: totp.HOTP, Account: "hotp demo", Secret: hello, Algorithm: totp.SHA1, Digits: 6, Counter: 4},
		{Type: totp.TOTP, Account: "encoding: ¿äÄéÉ? (demo)", Secret: []byte("12345678901234567890123456789012"), Algorithm: totp.SHA256, Digits: 8, Period: 30},
	}
	if !reflect.DeepEqual(b.Keys, want) {
		for i, k := range b.Keys {
			t.Logf("got %d: %+v", i, k)
		}
		t.Fatal("keys differ")
	}
	if b.ID != -123 || b.Size != 1 || b.Index != 0 || b.Version != 1 {
		t.Errorf("batch %+v", b)
	}
	if b.Keys[0].SecretBase32() != "JBSWY3DPEHPK3PXP" {
		t.Errorf("secret %s", b.Keys[0].SecretBase32())
	}
}

// Some tools unescape the data and turn base64's '+' into a space.
func TestDecodePlusInData(t *testing.T) {
	// A secret chosen so that the base64 of the payload contains '+'.
	var payload []byte
	for i := 0; ; i++ {
		payload = cat(bfield(1, cat(bfield(1, []byte{0xfb, 0xef, byte(i)}), bfield(2, []byte("plus")), vfield(6, 2))))
		if strings.Contains(base64.StdEncoding.EncodeToString(payload), "+") {
			break
		}
	}
	raw := base64.StdEncoding.EncodeToString(payload)
	for _, uri := range []string{
		uriOf(payload),
		"otpauth-migration://offline?data=" + raw,
		"otpauth-migration://offline?data=" + strings.ReplaceAll(raw, "+", " "),
		"otpauth-migration://offline?data=" + strings.ReplaceAll(raw, "+", "%20"),
		"otpauth-migration://offline?data=" + strings.TrimRight(raw, "="),
	} {
		b, err := Decode(uri)
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		if b.Keys[0].Account != "plus" || !bytes.Equal(b.Keys[0].Secret, payload[4:7]) {
			t.Errorf("%s: %+v", uri, b.Keys[0])
		}
	}
}

func TestEncodeDecodeMultiBatch(t *testing.T) {
	var keys []*totp.Key
	for i := 0; i < 25; i++ {
		k := &totp.Key{Type: totp.TOTP, Issuer: fmt.Sprintf("Issuer %d", i), Account: fmt.Sprintf("user%d@example.com", i),
			Secret: []byte(fmt.Sprintf("secret-%02d-0123456789", i)), Algorithm: totp.Algorithm(i % 3), Digits: []int{6, 8}[i%2], Period: 30}
		if i%5 == 4 {
			k.Type, k.Period, k.Counter, k.Issuer = totp.HOTP, 0, uint64(i*1000), ""
		}
		keys = append(keys, k)
	}
	uris, err := Encode(keys, -42, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(uris) != 3 {
		t.Fatalf("%d URIs, want 3", len(uris))
	}
	var got []*totp.Key
	for i, u := range uris {
		b, err := Decode(u)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if b.Index != int32(i) || b.Size != 3 || b.ID != -42 {
			t.Errorf("batch %d: index %d size %d id %d", i, b.Index, b.Size, b.ID)
		}
		got = append(got, b.Keys...)
	}
	if !reflect.DeepEqual(got, keys) {
		t.Fatalf("round trip changed keys:\n%v\n%v", got, keys)
	}
}

func TestEncodeRefusesWhatGoogleCannotHold(t *testing.T) {
	for _, k := range []*totp.Key{
		{Type: totp.TOTP, Account: "seven", Secret: hello, Digits: 7, Period: 30},
		{Type: totp.TOTP, Account: "sixty", Secret: hello, Digits: 6, Period: 60},
		{Type: totp.TOTP, Account: "nosecret", Digits: 6, Period: 30},
	} {
		if _, err := Encode([]*totp.Key{k}, 1, 10); err == nil || !strings.Contains(err.Error(), k.Account) {
			t.Errorf("Encode(%s) = %v; want an error naming the account", k.Account, err)
		}
	}
	if _, err := Encode(nil, 1, 10); err == nil {
		t.Error("Encode of nothing succeeded")
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := cat(bfield(2, []byte("n")), bfield(1, hello))
	for _, tt := range []struct{ uri, want string }{
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP", "not a Google Authenticator export"},
		{"QR-Code:otpauth-migration://offline?data=CjUKEPql", "not a Google Authenticator export"},
		{"otpauth-migration://online?data=AAAA", "unsupported kind"},
		{"otpauth-migration://offline", "missing"},
		{"otpauth-migration://offline?data=", "empty"},
		{"otpauth-migration://offline?data=XXXX", "malformed protobuf"},
		{"otpauth-migration://offline?data=!!!!", "not valid base64"},
		{"otpauth-migration://offline?data=%zz", "bad escape"},
		{uriOf(vfield(2, 1)), "no accounts"},
		{uriOf(bfield(1, cat(good, vfield(4, 4)))), "MD5"},
		{uriOf(bfield(1, cat(good, vfield(5, 7)))), "digits"},
		{uriOf(bfield(1, cat(good, vfield(6, 9)))), "type"},
		{uriOf(bfield(1, bfield(1, hello))), "name: missing"},
		{uriOf(bfield(1, bfield(2, []byte("no secret")))), "secret: missing"},
		{uriOf([]byte{0x0a, 0x50, 0x01}), "malformed protobuf"},
	} {
		b, err := Decode(tt.uri)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Decode(%s) = %v, %v; want error with %q", tt.uri, b, err, tt.want)
		}
		if b != nil {
			t.Errorf("Decode(%s) returned accounts with its error", tt.uri)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(uriOf(cat(bfield(1, cat(bfield(1, hello), bfield(2, []byte("a:b")), bfield(3, []byte("a")), vfield(6, 2))), vfield(5, 7))))
	f.Add(uriOf(bfield(1, cat(bfield(1, hello), bfield(2, []byte("h")), vfield(6, 1), vfield(7, 4)))))
	f.Add("otpauth-migration://offline?data=XXXX")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Decode(s)
		if err != nil {
			return
		}
		for _, k := range b.Keys {
			if err := k.Validate(); err != nil {
				t.Fatalf("decoded an invalid key %+v: %v", k, err)
			}
			// An imported account shown as a QR code is its URI: the same
			// key must read back from it.
			again, err := totp.ParseURI(k.URI())
			if err != nil {
				t.Fatalf("URI %q of a decoded key refused: %v", k.URI(), err)
			}
			if again.Issuer != k.Issuer || again.Account != k.Account || again.Type != k.Type || !bytes.Equal(again.Secret, k.Secret) ||
				again.Algorithm != k.Algorithm || again.Digits != k.Digits || again.Period != k.Period || again.Counter != k.Counter {
				t.Fatalf("URI round trip changed the key: %q %q %+v -> %q %q %+v (%s)", k.Issuer, k.Account, k, again.Issuer, again.Account, again, k.URI())
			}
		}
		uris, err := Encode(b.Keys, b.ID, len(b.Keys))
		if err != nil {
			return // e.g. an account name that is only whitespace after the issuer
		}
		again, err := Decode(uris[0])
		if err != nil {
			t.Fatalf("own export refused: %v", err)
		}
		if len(again.Keys) != len(b.Keys) {
			t.Fatalf("round trip lost accounts")
		}
	})
}
