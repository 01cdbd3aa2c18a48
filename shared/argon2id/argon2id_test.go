package argon2id

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// wide accepts anything sane; the portal and the desktop set tighter bounds.
var wide = Bounds{MinMemory: 8, MaxMemory: 1 << 21, MaxTime: 64, MaxThreads: 64, MinSalt: 8, MaxSalt: 64, MinKey: 16, MaxKey: 128}

// The argon2 command (Debian package argon2, the reference C
// implementation) is the oracle: its PHC strings parse, match the password
// and nothing else, and our hash of the same password and salt is its string.
func TestAgreesWithReferenceArgon2(t *testing.T) {
	bin, err := exec.LookPath("argon2")
	if err != nil {
		t.Fatal("argon2 not found: install the Debian package argon2 (make deps does)")
	}
	for _, c := range []struct {
		password, salt string
		logMemory      int // argon2's -m is log2 of KiB
		time, threads  int
		keyLen         int
	}{
		{"password", "somesalt", 10, 2, 1, 32},
		{"correct horse battery staple", "0123456789abcdef", 12, 3, 2, 16},
		{"ｏｌｄ ｐａｓｓ ｗｏｒｄ", "saltsaltsaltsalt", 14, 1, 4, 64},
		{"x", "a one-letter password", 10, 1, 1, 32}, // the command refuses an empty one
	} {
		cmd := exec.Command(bin, c.salt, "-id", "-t", fmt.Sprint(c.time), "-m", fmt.Sprint(c.logMemory),
			"-p", fmt.Sprint(c.threads), "-l", fmt.Sprint(c.keyLen), "-e")
		cmd.Stdin = strings.NewReader(c.password)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("argon2: %v", err)
		}
		ref := strings.TrimSpace(string(out))
		h, err := Parse(ref, wide)
		if err != nil {
			t.Fatalf("Parse(%s): %v", ref, err)
		}
		if !h.Matches([]byte(c.password)) || h.Matches([]byte(c.password+"x")) {
			t.Fatalf("%s: Matches is wrong", ref)
		}
		p := Params{Memory: 1 << c.logMemory, Time: uint32(c.time), Threads: uint8(c.threads), SaltLen: len(c.salt), KeyLen: uint32(c.keyLen)}
		ours, err := New(strings.NewReader(c.salt), p, []byte(c.password))
		if err != nil || ours != ref {
			t.Fatalf("New = %s, %v; the reference says %s", ours, err, ref)
		}
	}
}

func TestNewRoundTrips(t *testing.T) {
	s, err := New(rand.Reader, OWASP, []byte("hunter22"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := Parse(s, wide)
	if err != nil {
		t.Fatal(err)
	}
	if h.Memory != OWASP.Memory || h.Time != OWASP.Time || h.Threads != OWASP.Threads || len(h.Salt) != 16 || len(h.Key) != 32 {
		t.Fatalf("parsed %+v from %s", h, s)
	}
	if h.String() != s || !h.Matches([]byte("hunter22")) || h.Matches([]byte("hunter23")) {
		t.Fatalf("%s does not round-trip or match", s)
	}
	other, _ := New(rand.Reader, OWASP, []byte("hunter22"))
	if other == s {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if _, err := New(bytes.NewReader(nil), OWASP, []byte("x")); err == nil {
		t.Fatal("New with no randomness succeeded")
	}
}

// Every malformed or out-of-bounds string is refused with ErrMalformed;
// none panics or runs argon2.
func TestParseRefuses(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk"
	good := "$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$" + key
	if _, err := Parse(good, wide); err != nil {
		t.Fatalf("the good string: %v", err)
	}
	for _, s := range []string{
		"",
		"argon2id$v=19$m=1024,t=2,p=1$" + salt + "$" + key,
		"$argon2i$v=19$m=1024,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=1024,t=2,p=1$" + salt + "$" + key,
		"$argon2id$m=1024,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=2,m=1024,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=01024,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+1024,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967296,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key, // 4 GiB: over the bound
		"$argon2id$v=19$m=1024,t=65,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=16,t=2,p=4$" + salt + "$" + key, // under 8 KiB a lane
		"$argon2id$v=19$m=1024,t=2,p=1,x=3$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=2,p=1$" + salt + "=$" + key,
		"$argon2id$v=19$m=1024,t=2,p=1$c29tZQ$" + key, // 4-byte salt
		"$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$" + key[:20],
		"$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$" + strings.Repeat("A", 600),
	} {
		if _, err := Parse(s, wide); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %v, want ErrMalformed", s, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk")
	f.Fuzz(func(t *testing.T, s string) {
		small := Bounds{MinMemory: 8, MaxMemory: 64, MaxTime: 2, MaxThreads: 2, MinSalt: 8, MaxSalt: 64, MinKey: 16, MaxKey: 64}
		h, err := Parse(s, small)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if h.String() != s {
			t.Fatalf("accepted %q, which does not re-encode to itself (%q)", s, h.String())
		}
	})
}
