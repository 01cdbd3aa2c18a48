package web_test

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

// TestAPI drives the JSON API through the flow a QA script uses.
func TestAPI(t *testing.T) {
	h := newHarness(t)
	c := h.client()

	r, m := c.postJSON("/api/v1/signup", map[string]string{"username": "joe", "password": password, "display_name": "Joe"})
	expect(t, r, http.StatusCreated)
	if m["signed_in"] != true {
		t.Fatalf("signup: %v", m)
	}
	r, m = c.getJSON("/api/v1/me")
	expect(t, r, http.StatusOK)
	if m["username"] != "joe" || m["display_name"] != "Joe" || m["two_factor"] != false {
		t.Errorf("me: %v", m)
	}

	r, m = c.postJSON("/api/v1/2fa/totp", map[string]string{})
	expect(t, r, http.StatusOK)
	uri, _ := m["otpauth_uri"].(string)
	k, err := totp.ParseURI(uri)
	if err != nil {
		t.Fatalf("otpauth_uri %q: %v", uri, err)
	}
	png, err := base64.StdEncoding.DecodeString(m["qr_png_base64"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if texts, err := qr.DecodeBytes(png); err != nil || len(texts) != 1 || texts[0] != uri {
		t.Errorf("QR PNG says %v (%v), want %q", texts, err, uri)
	}
	if m["secret"] != k.SecretBase32() || m["issuer"] != "Twofold Portal" || m["account"] != "joe" {
		t.Errorf("enrollment: %v", m)
	}

	r, m = c.postJSON("/api/v1/2fa/totp/verify", map[string]string{"code": "12345x"})
	expect(t, r, http.StatusBadRequest)
	if m["error"] == "" {
		t.Errorf("no error message: %v", m)
	}
	code := h.code(k)
	r, m = c.postJSON("/api/v1/2fa/totp/verify", map[string]string{"code": code})
	expect(t, r, http.StatusOK)
	codes, _ := m["recovery_codes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("recovery codes: %v", m)
	}
	r, m = c.getJSON("/api/v1/2fa/recovery-codes")
	expect(t, r, http.StatusOK)
	if m["remaining"] != float64(10) {
		t.Errorf("remaining: %v", m)
	}

	expect(t, c.postRaw("/api/v1/logout", "application/json", ""), http.StatusNoContent)
	r, _ = c.getJSON("/api/v1/me")
	expect(t, r, http.StatusUnauthorized)

	// Sign in: password, then code.
	r, m = c.postJSON("/api/v1/login", map[string]string{"username": "joe", "password": "wrong password"})
	expect(t, r, http.StatusUnauthorized)
	if m["error"] != "Wrong username or password." {
		t.Errorf("error: %v", m)
	}
	r, m = c.postJSON("/api/v1/login", map[string]string{"username": "joe", "password": password})
	expect(t, r, http.StatusOK)
	if m["code_required"] != true || m["signed_in"] != false {
		t.Errorf("login: %v", m)
	}
	r, _ = c.getJSON("/api/v1/me")
	expect(t, r, http.StatusUnauthorized)
	r, _ = c.postJSON("/api/v1/login/code", map[string]string{"code": code})
	expect(t, r, http.StatusUnauthorized) // the enrollment code is spent
	h.nextStep()
	r, m = c.postJSON("/api/v1/login/code", map[string]string{"code": h.code(k)})
	expect(t, r, http.StatusOK)
	if m["signed_in"] != true {
		t.Errorf("code: %v", m)
	}

	// Regenerate needs a current code.
	h.nextStep()
	r, m = c.postJSON("/api/v1/2fa/recovery-codes", map[string]string{"code": h.code(k)})
	expect(t, r, http.StatusOK)
	fresh, _ := m["recovery_codes"].([]any)
	if len(fresh) != 10 || fresh[0] == codes[0] {
		t.Errorf("regenerated: %v", m)
	}

	// Limits apply the same way.
	for range 5 {
		h.nextStep()
		r, _ = c.postJSON("/api/v1/2fa/recovery-codes", map[string]string{"code": h.wrongCode(k)})
		expect(t, r, http.StatusUnauthorized)
	}
	r, m = c.postJSON("/api/v1/2fa/recovery-codes", map[string]string{"code": h.code(k)})
	expect(t, r, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" || m["error"] == "" {
		t.Errorf("429 without Retry-After or message: %v %v", r.Header, m)
	}
	h.clock.Add(31 * time.Second)

	// Sudo mode: after 10 minutes a factor change needs the password.
	h.clock.Add(11 * time.Minute)
	r, m = c.postJSON("/api/v1/2fa/recovery-codes", map[string]string{"code": h.code(k)})
	expect(t, r, http.StatusForbidden)
	if m["reauth"] != true {
		t.Errorf("no reauth flag: %v", m)
	}
	r, _ = c.postJSON("/api/v1/confirm-password", map[string]string{"password": password})
	expect(t, r, http.StatusOK)

	r, m = c.postJSON("/api/v1/2fa/disable", map[string]string{"password": password, "recovery_code": fresh[0].(string)})
	expect(t, r, http.StatusOK)
	if m["two_factor"] != false {
		t.Errorf("disable: %v", m)
	}

	r, m = c.getJSON("/api/v1/activity")
	expect(t, r, http.StatusOK)
	events, _ := m["events"].([]any)
	kinds := map[string]bool{}
	for _, e := range events {
		ev := e.(map[string]any)
		kinds[ev["kind"].(string)] = true
		if ev["ip"] != "127.0.0.1" || ev["at"] == "" {
			t.Errorf("event: %v", ev)
		}
	}
	for _, k := range []string{"signup", "2fa_enabled", "signin", "signin_failed", "code_replayed", "code_failed", "lockout", "recovery_codes_regenerated", "recovery_code_used", "2fa_disabled"} {
		if !kinds[k] {
			t.Errorf("activity lacks %s: %v", k, kinds)
		}
	}
}
