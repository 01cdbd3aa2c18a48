package web_test

import (
	"net/http"
	"strings"
	"testing"

	"twofold.dev/server/portal"
)

// confirmedJoe signs Joe up with an address and confirms it; the mail
// seen so far is consumed.
func (h *mailHarness) confirmedJoe() *client {
	h.t.Helper()
	joe := h.signupMail("joe", "joe@example.com")
	_, token := checkMail(h.t, h.deliver(1)[0], "joe@example.com", "Confirm your e-mail address")
	expect(h.t, joe.confirmEmail(token), http.StatusOK)
	h.deliver(0)
	return joe
}

// expectNotice delivers and checks that exactly one notice arrived, to
// Joe, with this subject and text, no link and no secret.
func (h *mailHarness) expectNotice(subject string, texts []string, secrets ...string) {
	h.t.Helper()
	ms := h.deliver(1)
	if p, _ := checkMail(h.t, ms[0], "joe@example.com", subject, secrets...); p != "" {
		h.t.Errorf("%q has a link to %s", subject, p)
	}
	for _, want := range texts {
		if !strings.Contains(ms[0].Text, want) || !strings.Contains(ms[0].HTML, want) {
			h.t.Errorf("%q lacks %q in both parts:\n%s", subject, want, ms[0].Text)
		}
	}
}

// TestSecurityNotifications: every notice arrives once, to the confirmed
// address, with no secret, code or token in it.
func TestSecurityNotifications(t *testing.T) {
	h := newMailHarness(t)
	joe := h.confirmedJoe()

	// 2FA on.
	k, codes, used := joe.enable()
	secrets := append([]string{k.SecretBase32(), used}, codes...)
	h.expectNotice("Two-factor authentication is on", []string{"turned on for your account joe", "from the IP address 127.0.0.1"}, secrets...)

	// A sign-in from a new browser; the same browser again is not new.
	h.nextStep()
	b := h.loginPending("joe")
	code := h.code(k)
	expect(t, b.post("/login/code", "code", code), http.StatusSeeOther, "/")
	h.expectNotice("New sign-in to your account", []string{"from a browser not used for it before"}, append(secrets, code)...)
	expect(t, b.post("/logout"), http.StatusSeeOther)
	h.nextStep()
	expect(t, b.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/login/code")
	code = h.code(k)
	expect(t, b.post("/login/code", "code", code), http.StatusSeeOther, "/")
	h.deliver(0)

	// A remembered browser (a new one: two notices).
	h.nextStep()
	h.rememberBrowser("joe", k)
	ms := h.deliver(2)
	subjects := map[string]bool{ms[0].Subject: true, ms[1].Subject: true}
	if !subjects["A browser was remembered"] || !subjects["New sign-in to your account"] {
		t.Errorf("remembering a new browser sent %v", subjects)
	}
	for _, m := range ms {
		checkMail(t, m, "joe@example.com", m.Subject, secrets...)
	}

	// New recovery codes.
	h.nextStep()
	code = h.code(k)
	r := b.post("/settings/security/2fa/recovery-codes", "code", code)
	expect(t, r, http.StatusOK)
	fresh := recoveryCodes(t, r)
	secrets = append(append(secrets, code), fresh...)
	h.expectNotice("New recovery codes were created", []string{"The earlier ones no longer work."}, secrets...)

	// A recovery code used: how many are left.
	c := h.loginPending("joe")
	expect(t, c.post("/login/recovery", "recovery_code", fresh[0]), http.StatusSeeOther)
	ms = h.deliver(2) // and a new browser
	var recovery *struct{ text string }
	for _, m := range ms {
		checkMail(t, m, "joe@example.com", m.Subject, secrets...)
		if m.Subject == "A recovery code was used" {
			recovery = &struct{ text string }{m.Text}
		}
	}
	if recovery == nil || !strings.Contains(recovery.text, "9 unused recovery code(s) are left") {
		t.Errorf("no recovery notice with 9 left: %v", ms)
	}

	// Password changed.
	const next = "a brand new passphrase here"
	r = b.post("/settings/security/password", "current_password", password, "new_password", next, "new_password_confirm", next)
	expect(t, r, http.StatusSeeOther)
	h.expectNotice("Your password was changed", []string{"every other session was signed out"}, append(secrets, next)...)

	// Lockout: the sixth wrong password from unknown browsers locks.
	for i := range 6 {
		r := h.client().post("/login", "username", "joe", "password", "wrong password "+strings.Repeat("x", i))
		if r.Status != http.StatusUnauthorized && r.Status != http.StatusTooManyRequests {
			t.Fatalf("wrong password %d: %d", i, r.Status)
		}
	}
	h.expectNotice("Sign-in to your account is paused", []string{"several wrong attempts"}, append(secrets, next, "wrong password")...)
	// While locked, further attempts are refused uncounted: no more mail.
	expect(t, h.client().post("/login", "username", "joe", "password", "wrong again"), http.StatusTooManyRequests)
	h.deliver(0)

	// 2FA off.
	h.nextStep()
	code = h.code(k)
	r = b.post("/settings/security/2fa/disable", "password", next, "code", code)
	expect(t, r, http.StatusSeeOther)
	h.expectNotice("Two-factor authentication was turned off", []string{"turned off for your account joe"}, append(secrets, next, code)...)

	// Every notice is in the activity too.
	for _, k := range []portal.EventKind{portal.EventTwoFactorOn, portal.EventNewDevice, portal.EventDeviceRemembered, portal.EventRecoveryRegenerated,
		portal.EventRecoveryUsed, portal.EventPasswordChanged, portal.EventLockout, portal.EventTwoFactorOff} {
		if !has(h.activity("joe"), k.Label()) {
			t.Errorf("activity lacks %q", k.Label())
		}
	}
}

// TestNoNoticeWithoutConfirmedAddress: an address not confirmed gets
// nothing but its confirmation link; an account without one, nothing.
func TestNoNoticeWithoutConfirmedAddress(t *testing.T) {
	h := newMailHarness(t)
	joe := h.signupMail("joe", "joe@example.com")
	h.deliver(1) // the confirmation link, not followed
	joe.enable()
	h.deliver(0)
}

// TestAdminResetNotifies: the administrator's 2FA reset and password
// reset mail the owner, naming the administrator.
func TestAdminResetNotifies(t *testing.T) {
	h := newMailHarness(t)
	joe := h.confirmedJoe()
	k, _, _ := joe.enable()
	h.deliver(1)
	if err := h.svc.ResetTwoFactor(t.Context(), "joe"); err != nil {
		t.Fatal(err)
	}
	h.expectNotice("Two-factor authentication was turned off", []string{"by an administrator"}, k.SecretBase32())
	if err := h.svc.SetPassword(t.Context(), "joe", "another long passphrase"); err != nil {
		t.Fatal(err)
	}
	h.expectNotice("Your password was changed", []string{"by an administrator"}, "another long passphrase")
}
