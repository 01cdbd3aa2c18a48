package totp

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// oathtool (Debian package oathtool) is an independent C implementation;
// every random case must give the same code.
func TestAgreesWithOathtool(t *testing.T) {
	oathtool := lookTool(t, "oathtool", "oathtool")
	const cases = 1000
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // to reproduce a failure
	r := rand.New(rand.NewPCG(seed, 0x2f0))
	algs := []Algorithm{SHA1, SHA256, SHA512}
	mismatches := 0
	for i := 0; i < cases; i++ {
		secret := make([]byte, 10+r.IntN(55))
		for j := range secret {
			secret[j] = byte(r.Uint32())
		}
		k := &Key{Type: TOTP, Secret: secret, Algorithm: algs[r.IntN(3)], Digits: 6 + r.IntN(3), Period: []int{30, 60, 20, 15, 1 + r.IntN(300)}[r.IntN(5)]}
		at := time.Unix(r.Int64N(1<<33), 0)
		var args []string
		if i%10 == 9 { // some HOTP cases too; oathtool's HOTP is SHA1 only
			k.Type, k.Algorithm, k.Period, k.Counter = HOTP, SHA1, 0, r.Uint64N(1<<40)
			args = []string{"--hotp", "-d", fmt.Sprint(k.Digits), "-c", fmt.Sprint(k.Counter), "-b", k.SecretBase32()}
		} else {
			args = []string{"--totp=" + k.Algorithm.String(), "-d", fmt.Sprint(k.Digits), "-s", fmt.Sprintf("%ds", k.Period),
				"-N", fmt.Sprintf("@%d", at.Unix()), "-b", k.SecretBase32()}
		}
		out, err := exec.Command(oathtool, args...).Output()
		if err != nil {
			t.Fatalf("oathtool %v: %v", args, err)
		}
		var got string
		if k.Type == HOTP {
			got, err = k.HOTPCode(k.Counter)
		} else {
			got, err = k.Code(at)
		}
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if want := strings.TrimSpace(string(out)); got != want {
			mismatches++
			t.Errorf("case %d %s %s/%d/%ds at %d counter %d: ours %s, oathtool %s",
				i, k.Type, k.Algorithm, k.Digits, k.Period, at.Unix(), k.Counter, got, want)
		}
	}
	t.Logf("%d cases, %d mismatches", cases, mismatches)
}

// lookTool finds a required program or fails, naming the package to
// install: a missing oracle must never pass silently.
func lookTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install the Debian package %s (make deps does)", name, pkg)
	}
	return p
}
