package web_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"twofold.dev/shared/totp"
)

// "Log out other sessions" needs the password entered recently: a stolen
// session cannot sign its owner out.
func TestLogoutOthersNeedsRecentPassword(t *testing.T) {
	h := newHarness(t)
	joe := h.signup("joe", "Joe")
	other := h.client()
	expect(t, other.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")
	h.clock.Add(11 * time.Minute) // past the sudo window
	r := joe.post("/settings/security/sessions/logout-others")
	expect(t, r, http.StatusSeeOther, "/settings/security/confirm?next=%2Fsettings%2Fsecurity")
	expect(t, other.get("/"), http.StatusOK) // still signed in
	r, body := joe.postJSON("/api/v1/sessions/logout-others", map[string]any{})
	if r.Status != http.StatusForbidden || body["reauth"] != true {
		t.Errorf("API logout-others without a recent password: %d %v", r.Status, body)
	}
	expect(t, joe.post("/settings/security/confirm", "password", password, "next", "/settings/security"), http.StatusSeeOther)
	expect(t, joe.post("/settings/security/sessions/logout-others"), http.StatusSeeOther, "/settings/security?notice=others")
	expect(t, other.get("/"), http.StatusSeeOther, "/login")
}

// HEAD is answered like GET, without a body.
func TestHeadLikeGet(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	for _, path := range []string{"/login", "/signup", "/healthz", "/static/portal.css", "/nope"} {
		get := request(t, c, http.MethodGet, path)
		head := request(t, c, http.MethodHead, path)
		if head.Status != get.Status || head.Body != "" || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") ||
			head.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("HEAD %s: %d %q %q, GET: %d %q", path, head.Status, head.Header.Get("Content-Type"), head.Body, get.Status, get.Header.Get("Content-Type"))
		}
	}
	joe := h.signup("joe", "Joe")
	if r := request(t, joe, http.MethodHead, "/"); r.Status != http.StatusOK || r.Body != "" {
		t.Errorf("HEAD / signed in: %d %q", r.Status, r.Body)
	}
}

// An issuer with URI metacharacters neither sets the secret nor loses a
// character: the key the user scans is the one the portal verifies.
func TestIssuerEscaped(t *testing.T) {
	for _, issuer := range []string{"Acme&secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "a=b#c", "100% +/? sure", "Zürich ✓ Bank"} {
		h := newHarness(t, func(p *portalConfig, _ *webConfig) { p.Issuer = issuer })
		joe := h.signup("joe", "Joe")
		k := joe.startEnrollment()
		if bytes.Equal(k.Secret, bytes.Repeat([]byte{0}, 20)) {
			t.Errorf("issuer %q: secret is all zero bytes (AAAA…)", issuer)
		}
		r, body := joe.postJSON("/api/v1/2fa/totp", map[string]any{})
		if r.Status != http.StatusOK && r.Status != http.StatusCreated {
			t.Fatalf("issuer %q: start %d %v", issuer, r.Status, body)
		}
		uri, _ := body["otpauth_uri"].(string)
		back, err := totp.ParseURI(uri)
		if err != nil {
			t.Fatalf("issuer %q: %v (%v)", issuer, err, body)
		}
		if back.Issuer != issuer || !bytes.Equal(back.Secret, k.Secret) {
			t.Errorf("issuer %q: URI reads back issuer %q secret %x, want %x", issuer, back.Issuer, back.Secret, k.Secret)
		}
		if _, codes, _ := joe.enable(); len(codes) != 10 {
			t.Errorf("issuer %q: enrollment failed", issuer)
		}
	}
}
