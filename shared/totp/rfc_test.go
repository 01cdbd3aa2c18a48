package totp

import (
	"testing"
	"time"
)

// RFC 6238 Appendix B: the seeds are the ASCII digits repeated to the
// hash's natural key length.
var (
	seedSHA1   = []byte("12345678901234567890")
	seedSHA256 = []byte("12345678901234567890123456789012")
	seedSHA512 = []byte("1234567890123456789012345678901234567890123456789012345678901234")
)

func TestRFC6238AppendixB(t *testing.T) {
	tests := []struct {
		unix int64
		alg  Algorithm
		want string
	}{
		{59, SHA1, "94287082"}, {59, SHA256, "46119246"}, {59, SHA512, "90693936"},
		{1111111109, SHA1, "07081804"}, {1111111109, SHA256, "68084774"}, {1111111109, SHA512, "25091201"},
		{1111111111, SHA1, "14050471"}, {1111111111, SHA256, "67062674"}, {1111111111, SHA512, "99943326"},
		{1234567890, SHA1, "89005924"}, {1234567890, SHA256, "91819424"}, {1234567890, SHA512, "93441116"},
		{2000000000, SHA1, "69279037"}, {2000000000, SHA256, "90698825"}, {2000000000, SHA512, "38618901"},
		{20000000000, SHA1, "65353130"}, {20000000000, SHA256, "77737706"}, {20000000000, SHA512, "47863826"},
	}
	seeds := map[Algorithm][]byte{SHA1: seedSHA1, SHA256: seedSHA256, SHA512: seedSHA512}
	for _, tt := range tests {
		k := &Key{Type: TOTP, Secret: seeds[tt.alg], Algorithm: tt.alg, Digits: 8, Period: 30}
		at := time.Unix(tt.unix, 0).UTC()
		got, err := k.Code(at)
		if err != nil {
			t.Fatalf("%s at %d: %v", tt.alg, tt.unix, err)
		}
		if got != tt.want {
			t.Errorf("%s at %d: code %s, want %s", tt.alg, tt.unix, got, tt.want)
		}
		step, ok := k.Verify(tt.want, at, 0)
		if !ok || step != uint64(tt.unix/30) {
			t.Errorf("%s at %d: Verify(%s) = %d, %v; want step %d", tt.alg, tt.unix, tt.want, step, ok, tt.unix/30)
		}
	}
}

func TestRFC4226AppendixD(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	k := &Key{Type: HOTP, Secret: seedSHA1, Algorithm: SHA1, Digits: 6}
	for counter, w := range want {
		got, err := k.HOTPCode(uint64(counter))
		if err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("counter %d: %s, want %s", counter, got, w)
		}
	}
}
