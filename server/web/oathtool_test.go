package web_test

import (
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestEnrollWithOathtool: an independent TOTP implementation, given only
// the key as the page shows it for typing by hand, produces codes the
// portal accepts.
func TestEnrollWithOathtool(t *testing.T) {
	oathtool, err := exec.LookPath("oathtool")
	if err != nil {
		t.Fatal("oathtool is missing: install it with `apt-get install oathtool` (make test does it through scripts/deps.sh)")
	}
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	c.startEnrollment()
	r := c.get("/settings/security/2fa/totp/setup")
	shown := strings.ReplaceAll(secretRE.FindStringSubmatch(r.Body)[1], " ", "")
	code := func() string {
		t.Helper()
		out, err := exec.Command(oathtool, "--totp", "-b", "-N", "@"+strconv.FormatInt(h.clock.Now().Unix(), 10), shown).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	expect(t, c.post("/settings/security/2fa/totp/verify", "code", code()), http.StatusOK)
	expect(t, c.post("/logout"), http.StatusSeeOther)
	p := h.loginPending("joe")
	h.nextStep()
	expect(t, p.post("/login/code", "code", code()), http.StatusSeeOther, "/")
}
