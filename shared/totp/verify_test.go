package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"
)

func testKey() *Key {
	return &Key{Type: TOTP, Secret: seedSHA1, Algorithm: SHA1, Digits: 6, Period: 30}
}

func TestVerifyReturnsMatchedStep(t *testing.T) {
	k := testKey()
	now := time.Unix(1_700_000_015, 0) // step 56666667
	cur := k.Step(now)
	for _, tt := range []struct {
		offset int64
		skew   int
		ok     bool
	}{
		{0, 0, true}, {-1, 0, false}, {1, 0, false},
		{0, 1, true}, {-1, 1, true}, {1, 1, true}, {-2, 1, false}, {2, 1, false},
		{-2, 2, true}, {2, 2, true}, {3, 2, false},
	} {
		step := uint64(int64(cur) + tt.offset)
		code, err := k.HOTPCode(step)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := k.Verify(code, now, tt.skew)
		if ok != tt.ok || (ok && got != step) {
			t.Errorf("code of step %+d with skew %d: Verify = %d, %v; want %d, %v", tt.offset, tt.skew, got, ok, step, tt.ok)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	k := testKey()
	now := time.Unix(1_700_000_015, 0)
	code, _ := k.Code(now)
	for _, bad := range []string{"", "12345", "1234567", code + "0", code[:5], "abcdef", "      "} {
		if _, ok := k.Verify(bad, now, DefaultSkew); ok {
			t.Errorf("Verify(%q) accepted", bad)
		}
	}
	if _, ok := k.Verify(code[:3]+" "+code[3:], now, DefaultSkew); !ok {
		t.Error("a code typed as '123 456' was refused")
	}
	if _, ok := k.Verify(code, now, -1); ok {
		t.Error("negative skew accepted a code")
	}
	h := &Key{Type: HOTP, Secret: seedSHA1, Algorithm: SHA1, Digits: 6}
	if _, ok := h.Verify(code, now, DefaultSkew); ok {
		t.Error("an HOTP key verified a code by time")
	}
	// Near the epoch a skew must not wrap around to huge steps.
	if _, ok := k.Verify(code, time.Unix(5, 0), DefaultSkew); ok {
		t.Error("verified far from the code's time")
	}
}

func TestCodeChangesAtStepBoundary(t *testing.T) {
	k := testKey()
	k.Period = 20
	t0 := time.Unix(1_700_000_000, 0) // a multiple of 20
	a, _ := k.Code(t0.Add(-time.Nanosecond))
	b, _ := k.Code(t0)
	c, _ := k.Code(t0.Add(19*time.Second + 999*time.Millisecond))
	if a == b || b != c {
		t.Errorf("codes around the boundary: %s %s %s", a, b, c)
	}
}

func TestRemaining(t *testing.T) {
	for _, tt := range []struct {
		at     time.Time
		period int
		want   time.Duration
	}{
		{time.Unix(1_700_000_020, 0), 30, 20 * time.Second},
		{time.Unix(1_700_000_019, 500_000_000), 30, 20*time.Second + 500*time.Millisecond},
		{time.Unix(1_700_000_000, 0), 20, 20 * time.Second},
		{time.Unix(1_700_000_019, 0), 20, time.Second},
		{time.Unix(1_700_000_000, 0), 0, 10 * time.Second}, // default period
	} {
		if got := Remaining(tt.at, tt.period); got != tt.want {
			t.Errorf("Remaining(%v, %d) = %v, want %v", tt.at.Unix(), tt.period, got, tt.want)
		}
	}
}

func TestFormatCode(t *testing.T) {
	for in, want := range map[string]string{"123456": "123 456", "1234567": "1234 567", "12345678": "1234 5678", "12": "12"} {
		if got := FormatCode(in); got != want {
			t.Errorf("FormatCode(%s) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkCode(b *testing.B) {
	k := testKey()
	now := time.Unix(1_700_000_015, 0)
	for b.Loop() {
		if _, err := k.Code(now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify checks a right current-step code; compare it with
// BenchmarkHMACSHA1, the one HMAC that is the floor of any verification.
func BenchmarkVerify(b *testing.B) {
	b.ReportAllocs()
	k := testKey()
	now := time.Unix(1_700_000_015, 0)
	code, _ := k.Code(now)
	for b.Loop() {
		if _, ok := k.Verify(code, now, DefaultSkew); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkVerifyWrong(b *testing.B) {
	k := testKey()
	now := time.Unix(1_700_000_015, 0)
	for b.Loop() {
		k.Verify("000000", now, DefaultSkew)
	}
}

func BenchmarkHMACSHA1(b *testing.B) {
	b.ReportAllocs()
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], 56666667)
	var sum []byte
	for b.Loop() {
		m := hmac.New(sha1.New, seedSHA1)
		m.Write(msg[:])
		sum = m.Sum(sum[:0])
	}
}

// Verify computes codes without pquerna/otp (see hotpValue); they must be
// pquerna's codes for every algorithm, length and secret size, including
// secrets longer than the hash block.
func TestHOTPMatchesPquerna(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // to reproduce a failure
	r := rand.New(rand.NewPCG(seed, 0x70f))
	for i := 0; i < 20000; i++ {
		secret := make([]byte, 1+r.IntN(200))
		for j := range secret {
			secret[j] = byte(r.Uint32())
		}
		k := &Key{Type: TOTP, Secret: secret, Algorithm: Algorithm(r.IntN(3)), Digits: 6 + r.IntN(3), Period: 30}
		counter := r.Uint64()
		if i%2 == 0 {
			counter = r.Uint64N(1 << 36) // steps of real times
		}
		want, err := k.HOTPCode(counter)
		if err != nil {
			t.Fatal(err)
		}
		if !matches([]byte(want), hotpValue(k.Algorithm, k.Secret, counter, k.Digits)) {
			t.Fatalf("%s, %d digits, %d-byte secret, counter %d: hotpValue %d, pquerna %s",
				k.Algorithm, k.Digits, len(secret), counter, hotpValue(k.Algorithm, k.Secret, counter, k.Digits), want)
		}
		// And Verify finds it at its step, for each skew position.
		at := time.Unix(int64(counter%(1<<33))*30, 0)
		code, _ := k.HOTPCode(k.Step(at))
		if step, ok := k.Verify(code, at.Add(30*time.Second), 1); !ok || step != k.Step(at) {
			t.Fatalf("Verify of the previous step's code: %d, %v", step, ok)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, tt := range []struct {
		code string
		v    uint32
		want bool
	}{
		{"000000", 0, true}, {"000042", 42, true}, {"123456", 123456, true}, {"12345678", 12345678, true},
		{"123456", 123457, false}, {"023456", 123456, false}, {"000042", 420000, false},
	} {
		if got := matches([]byte(tt.code), tt.v); got != tt.want {
			t.Errorf("matches(%s, %d) = %v", tt.code, tt.v, got)
		}
	}
}
