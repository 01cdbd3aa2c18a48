package web_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"twofold.dev/server/portal"
)

// resetLink asks for a reset link for name and returns its token from
// the mail that arrived.
func (h *mailHarness) resetLink(c *client, name string, secrets ...string) string {
	h.t.Helper()
	r := c.post("/password/forgot", "username", name)
	expect(h.t, r, http.StatusOK)
	contains(h.t, r, "If that account has a confirmed e-mail address")
	m := h.deliver(1)[0]
	path, token := checkMail(h.t, m, "joe@example.com", "Set a new password", secrets...)
	if path != "/password/reset" || token == "" {
		h.t.Fatalf("reset link %q %q", path, token)
	}
	if !strings.Contains(m.Text, "for 30 minutes") {
		h.t.Errorf("the reset mail does not say how long the link works:\n%s", m.Text)
	}
	return token
}

func TestPasswordReset(t *testing.T) {
	h := newMailHarness(t)
	joe := h.confirmedJoe()
	other := h.client()
	contains(t, other.get("/login"), `<a href="/password/forgot">Forgot your password?</a>`)

	// The same answer for an account that does not exist, and no mail.
	r := other.post("/password/forgot", "username", "nobody")
	expect(t, r, http.StatusOK)
	contains(t, r, "If that account has a confirmed e-mail address")
	answerNobody := r.Body
	h.deliver(0)
	token := h.resetLink(other, "joe")
	r = other.post("/password/forgot", "username", "joe") // the newest link only
	if r.Body != strings.ReplaceAll(answerNobody, "nobody", "joe") {
		t.Errorf("the answers for joe and nobody differ")
	}
	_, newest := checkMail(t, h.deliver(1)[0], "joe@example.com", "Set a new password")
	if h.countResetToken(newest) != 0 {
		t.Error("the reset token is stored in clear")
	}
	// Once sent, the link is not kept in the outbox either.
	if n := h.sqlCount("outbox WHERE text_body LIKE ? OR html_body LIKE ?", "%"+newest+"%", "%"+newest+"%"); n != 0 {
		t.Errorf("the sent reset link is kept in %d outbox rows", n)
	}
	expect(t, other.get("/password/reset?token="+token), http.StatusBadRequest)
	token = newest

	// The form: no code asked (2FA is off); the rules of every password.
	r = other.get("/password/reset?token=" + token)
	expect(t, r, http.StatusOK)
	contains(t, r, `name="password"`, `name="token" value="`+token+`"`)
	if strings.Contains(r.Body, `name="code"`) {
		t.Error("the form asks for a code of an account without 2FA")
	}
	expect(t, other.post("/password/reset", "token", token, "password", "password", "password_confirm", "password"), http.StatusBadRequest)
	expect(t, other.post("/password/reset", "token", token, "password", "one long new phrase", "password_confirm", "another"), http.StatusBadRequest)
	const next = "one long new passphrase"
	r = other.post("/password/reset", "token", token, "password", next, "password_confirm", next)
	expect(t, r, http.StatusOK)
	contains(t, r, "Your new password is set and every session was signed out.")
	h.expectNotice("Your password was reset", []string{"Every session was signed out"}, token, next)

	// Used up; every session ended; the new password works, the old not.
	r = other.post("/password/reset", "token", token, "password", "yet another long phrase", "password_confirm", "yet another long phrase")
	expect(t, r, http.StatusBadRequest)
	contains(t, r, "This password-reset link is not valid")
	expect(t, joe.get("/settings/security"), http.StatusSeeOther, "/login")
	expect(t, h.client().post("/login", "username", "joe", "password", password), http.StatusUnauthorized)
	expect(t, h.client().post("/login", "username", "joe", "password", next), http.StatusSeeOther, "/")
	if !has(h.activity("joe"), portal.EventPasswordReset.Label()) || !has(h.activity("joe"), portal.EventResetRequested.Label()) {
		t.Errorf("activity: %v", h.activity("joe"))
	}
	h.deliver(1) // the new browser's sign-in

	// A link expires after 30 minutes.
	token = h.resetLink(other, "joe")
	h.clock.Add(portal.ResetFor)
	expect(t, other.get("/password/reset?token="+token), http.StatusBadRequest)
	expect(t, other.post("/password/reset", "token", token, "password", "expired link phrase", "password_confirm", "expired link phrase"), http.StatusBadRequest)
}

// TestQueuedLinkIsSealed: a reset link waiting in the outbox (the SMTP
// server is slow or down) is not readable in the database files.
func TestQueuedLinkIsSealed(t *testing.T) {
	h := newMailHarness(t)
	h.confirmedJoe()
	expect(t, h.client().post("/password/forgot", "username", "joe"), http.StatusOK)
	if n := h.sqlCount("outbox WHERE sent_at IS NULL AND subject = ?", "Set a new password"); n != 1 {
		t.Fatalf("%d reset messages waiting, want 1", n)
	}
	for _, name := range []string{"portal.db", "portal.db-wal"} {
		b, err := os.ReadFile(filepath.Join(h.dir, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		for _, clear := range []string{"/password/reset?token=", "asked to set a new password for the account"} {
			if bytes.Contains(b, []byte(clear)) {
				t.Errorf("%s holds %q in clear while the message waits", name, clear)
			}
		}
	}
	// Sent as written: the link arrives and works.
	_, token := checkMail(t, h.deliver(1)[0], "joe@example.com", "Set a new password")
	expect(t, h.client().get("/password/reset?token="+token), http.StatusOK)
}

func (h *mailHarness) countResetToken(token string) int {
	h.t.Helper()
	return h.sqlCount("mail_tokens WHERE CAST(token_hash AS TEXT) = ? OR token_hash = ?", token, []byte(token))
}

// TestPasswordResetTwoFactor: the mailbox alone never removes the second
// factor: the new password needs a code or a recovery code.
func TestPasswordResetTwoFactor(t *testing.T) {
	h := newMailHarness(t)
	joe := h.confirmedJoe()
	k, codes, _ := joe.enable()
	h.deliver(1)
	h.nextStep()
	remembered := h.rememberBrowser("joe", k)
	h.deliver(2)

	other := h.client()
	token := h.resetLink(other, "joe")
	r := other.get("/password/reset?token=" + token)
	expect(t, r, http.StatusOK)
	contains(t, r, `name="code"`, `name="recovery_code"`, "Your account has two-factor authentication")
	const next = "one long new passphrase"
	r = other.post("/password/reset", "token", token, "password", next, "password_confirm", next)
	expect(t, r, http.StatusBadRequest)
	contains(t, r, "enter a code from your app or a recovery code")
	r = other.post("/password/reset", "token", token, "password", next, "password_confirm", next, "code", h.wrongCode(k))
	expect(t, r, http.StatusUnauthorized)
	// Nothing changed; the link still works.
	expect(t, h.client().post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/login/code")
	h.nextStep()
	code := h.code(k)
	r = other.post("/password/reset", "token", token, "password", next, "password_confirm", next, "code", code)
	expect(t, r, http.StatusOK)
	h.expectNotice("Your password was reset", nil, token, next, code)
	// The remembered browser is forgotten: it is asked for a code again.
	if len(h.devices("joe")) != 0 {
		t.Error("remembered devices survived the reset")
	}
	expect(t, remembered.post("/login", "username", "joe", "password", next), http.StatusSeeOther, "/login/code")

	// With a recovery code instead.
	token = h.resetLink(other, "joe")
	const third = "a third long passphrase"
	r = other.post("/password/reset", "token", token, "password", third, "password_confirm", third, "recovery_code", codes[0])
	expect(t, r, http.StatusOK)
	ms := h.deliver(2) // the recovery code used, the reset
	got := map[string]bool{}
	for _, m := range ms {
		checkMail(t, m, "joe@example.com", m.Subject, token, third, codes[0])
		got[m.Subject] = true
	}
	if !got["A recovery code was used"] || !got["Your password was reset"] {
		t.Errorf("notices %v", got)
	}
	// The JSON API: the same checks.
	token = h.resetLinkAPI("joe")
	resp, body := other.postJSON("/api/v1/password/reset", map[string]string{"token": token, "password": "fourth long passphrase"})
	expect(t, resp, http.StatusBadRequest)
	if msg, _ := body["error"].(string); msg == "" {
		t.Errorf("a reset without the code: no message: %v", body)
	}
	h.nextStep()
	code = h.code(k)
	resp, body = other.postJSON("/api/v1/password/reset", map[string]string{"token": token, "password": "fourth long passphrase", "code": code})
	expect(t, resp, http.StatusOK)
	if body["password_reset"] != true {
		t.Errorf("API reset: %v", body)
	}
	h.deliver(1)
}

func (h *mailHarness) resetLinkAPI(name string) string {
	h.t.Helper()
	r, body := h.client().postJSON("/api/v1/password/forgot", map[string]string{"username": name})
	expect(h.t, r, http.StatusAccepted)
	if body["message"] != portal.ResetAnswer {
		h.t.Errorf("API forgot: %v", body)
	}
	_, token := checkMail(h.t, h.deliver(1)[0], "joe@example.com", "Set a new password")
	return token
}

// TestPasswordResetLimits: per account (silently: the answer stays the
// same) and per client address (openly: it does not depend on the
// account).
func TestPasswordResetLimits(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	h := newMailHarness(t, func(_ *portalConfig, w *webConfig) { w.TrustedProxies = proxy })
	h.confirmedJoe()
	free := portal.DefaultMailLimit.Free
	for i := range free + 3 {
		r := h.client().postRaw("/password/forgot", "application/x-www-form-urlencoded", "username=joe", "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
		expect(t, r, http.StatusOK)
		contains(t, r, "If that account has a confirmed e-mail address")
	}
	h.deliver(free)
	// An hour later the account may ask again.
	h.clock.Add(2 * time.Hour)
	expect(t, h.client().postRaw("/password/forgot", "application/x-www-form-urlencoded", "username=joe", "X-Forwarded-For", "198.51.100.200"), http.StatusOK)
	h.deliver(1)

	// One address asking for many accounts is refused openly.
	for i := range free {
		r := h.client().postRaw("/password/forgot", "application/x-www-form-urlencoded", fmt.Sprintf("username=nobody%d", i), "X-Forwarded-For", "203.0.113.9")
		expect(t, r, http.StatusOK)
	}
	r := h.client().postRaw("/password/forgot", "application/x-www-form-urlencoded", "username=joe", "X-Forwarded-For", "203.0.113.9")
	expect(t, r, http.StatusTooManyRequests)
	h.deliver(0)
}

// TestPasswordResetNoMail: without SMTP the page says so.
func TestPasswordResetNoMail(t *testing.T) {
	h := newHarness(t)
	h.signup("joe", "Joe")
	c := h.client()
	contains(t, c.get("/password/forgot"), "This portal sends no e-mail")
	r := c.post("/password/forgot", "username", "joe")
	expect(t, r, http.StatusBadRequest)
	contains(t, r, "Ask an administrator")
	expect(t, c.get("/password/reset?token=abc"), http.StatusBadRequest)
}
