package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"twofold.dev/server/mail"
	"twofold.dev/server/portal"
	"twofold.dev/server/smtptest"
)

const publicURL = "https://portal.example.com"

// withMail turns mail on: links point at publicURL.
func withMail(cfg *portal.Config, _ *webConfig) {
	cfg.Mail = portal.MailConfig{Enabled: true, PublicURL: publicURL}
}

// mailHarness is a harness with mail on, a real SMTP server process and
// an outbox sender on the harness clock.
type mailHarness struct {
	*harness
	smtp   *smtptest.Server
	outbox *mail.Outbox
	seen   int // messages already looked at
}

// sqlCount counts rows with SQL on the database file.
func (h *harness) sqlCount(from string, args ...any) int {
	h.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.dir, "portal.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM "+from, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func newMailHarness(t *testing.T, opts ...option) *mailHarness {
	t.Helper()
	h := newHarness(t, append([]option{withMail}, opts...)...)
	srv := smtptest.Start(t)
	sender, err := mail.NewSMTP(mail.SMTPConfig{Addr: srv.Addr, TLS: mail.TLSNone, From: "Twofold Portal <portal@example.com>", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &mailHarness{harness: h, smtp: srv, outbox: &mail.Outbox{Store: h.db, Sender: sender, Keys: h.keys, Now: h.clock.Now}}
}

// deliver runs the sender once and returns the messages that arrived
// since the last call: exactly n of them, each once (by Message-ID).
func (h *mailHarness) deliver(n int) []smtptest.Message {
	h.t.Helper()
	if _, err := h.outbox.SendDue(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.smtp.WaitFor(h.t, h.seen+n, 10*time.Second)
	// Once more: nothing left to send, nothing sent twice.
	if k, err := h.outbox.SendDue(context.Background()); err != nil || k != 0 {
		h.t.Fatalf("a second round sent %d, %v", k, err)
	}
	all := h.smtp.Messages(h.t)
	if len(all) != h.seen+n {
		h.t.Fatalf("%d new messages, want %d", len(all)-h.seen, n)
	}
	ids := map[string]bool{}
	for _, m := range all {
		id := m.Header.Get("Message-ID")
		if ids[id] {
			h.t.Fatalf("message %s arrived twice", id)
		}
		ids[id] = true
	}
	out := all[h.seen:]
	h.seen = len(all)
	return out
}

var linkRE = regexp.MustCompile(`https://portal\.example\.com(/[a-z/]+)\?token=([A-Za-z0-9_-]+)`)

// checkMail checks one message: recipient, subject, both parts, no
// secret in it, and at most the one link (returned: path and token).
func checkMail(t *testing.T, m smtptest.Message, to, subject string, secrets ...string) (path, token string) {
	t.Helper()
	if len(m.To) != 1 || m.To[0] != to || m.Header.Get("To") != to {
		t.Errorf("%q went to %v, want %s", m.Subject, m.To, to)
	}
	if m.Subject != subject {
		t.Errorf("subject %q, want %q", m.Subject, subject)
	}
	if m.Text == "" || m.HTML == "" || !strings.Contains(m.HTML, "<p>") {
		t.Errorf("%q: want a text and an HTML part, got %q / %q", subject, m.Text, m.HTML)
	}
	for _, s := range append(secrets, password) {
		if s != "" && strings.Contains(m.Raw, s) {
			t.Errorf("%q contains the secret %q", subject, s)
		}
	}
	links := linkRE.FindAllStringSubmatch(m.Text, -1)
	if len(links) > 1 {
		t.Errorf("%q has %d links, want at most one", subject, len(links))
	}
	if len(links) == 1 {
		path, token = links[0][1], links[0][2]
		if !strings.Contains(m.HTML, `href="`+publicURL+path+"?token="+token+`"`) {
			t.Errorf("%q: the HTML part lacks the link", subject)
		}
		if n := strings.Count(m.Text, token) + strings.Count(m.HTML, token); n != 2 {
			t.Errorf("%q: the token appears %d times, want once per part", subject, n)
		}
	}
	return path, token
}

func (h *mailHarness) signupMail(name, email string) *client {
	h.t.Helper()
	c := h.client()
	r := c.post("/signup", "username", name, "display_name", "Joe", "email", email, "password", password, "password_confirm", password)
	expect(h.t, r, http.StatusSeeOther, "/")
	return c
}

// confirm follows a confirmation link as a browser does: the page, then
// its button.
func (c *client) confirmEmail(token string) *response {
	c.h.t.Helper()
	r := c.get("/email/confirm?token=" + url.QueryEscape(token))
	expect(c.h.t, r, http.StatusOK)
	contains(c.h.t, r, `name="token" value="`+token+`"`, "Confirm my address")
	return c.post("/email/confirm", "token", token)
}

func TestEmailSignUpConfirm(t *testing.T) {
	h := newMailHarness(t)
	c := h.client()
	// The sign-up form asks for the address; without one it is refused.
	contains(t, c.get("/signup"), `name="email" type="email"`)
	r := c.post("/signup", "username", "joe", "display_name", "Joe", "password", password, "password_confirm", password)
	expect(t, r, http.StatusBadRequest)
	contains(t, r, "Enter your e-mail address")
	r = c.post("/signup", "username", "joe", "display_name", "Joe", "email", "not an address", "password", password, "password_confirm", password)
	expect(t, r, http.StatusBadRequest)
	contains(t, r, "Enter an e-mail address like name@example.com.")

	joe := h.signupMail("joe", "joe@Example.COM")
	ms := h.deliver(1)
	path, token := checkMail(t, ms[0], "joe@example.com", "Confirm your e-mail address")
	if path != "/email/confirm" || token == "" {
		t.Fatalf("confirmation link %q %q", path, token)
	}
	_, me := joe.getJSON("/api/v1/me")
	if me["email"] != "" || me["email_pending"] != "joe@example.com" {
		t.Errorf("before confirming: %v", me)
	}
	// The token is stored hashed: not in the database in clear.
	if n := h.countToken(token); n != 0 {
		t.Errorf("the token is stored in clear (%d rows)", n)
	}
	// Any browser may confirm (the link is the proof), once.
	other := h.client()
	r = other.confirmEmail(token)
	expect(t, r, http.StatusOK)
	contains(t, r, "joe@example.com is confirmed")
	r = other.post("/email/confirm", "token", token)
	expect(t, r, http.StatusBadRequest)
	contains(t, r, "This confirmation link is not valid")
	_, me = joe.getJSON("/api/v1/me")
	if me["email"] != "joe@example.com" || me["email_pending"] != "" {
		t.Errorf("after confirming: %v", me)
	}
	contains(t, joe.get("/settings/security"), `<strong id="email-address">joe@example.com</strong>`)
	if !has(h.activity("joe"), portal.EventEmailConfirmed.Label()) {
		t.Errorf("activity lacks the confirmation: %v", h.activity("joe"))
	}
	h.deliver(0)
}

// countToken counts the mail tokens stored as the token itself, with
// SQL of its own on the database file (not through the store).
func (h *mailHarness) countToken(token string) int {
	h.t.Helper()
	if h.sqlCount("mail_tokens WHERE token_hash = ?", portal.HashToken(token)) != 1 {
		h.t.Error("the token's hash is not stored")
	}
	return h.sqlCount("mail_tokens WHERE token_hash = ? OR CAST(token_hash AS TEXT) = ?", []byte(token), token)
}

func TestEmailLinkExpires(t *testing.T) {
	h := newMailHarness(t)
	h.signupMail("joe", "joe@example.com")
	_, token := checkMail(t, h.deliver(1)[0], "joe@example.com", "Confirm your e-mail address")
	h.clock.Add(portal.ConfirmEmailFor)
	r := h.client().post("/email/confirm", "token", token)
	expect(t, r, http.StatusBadRequest)
	contains(t, r, "This confirmation link is not valid")
	for _, bad := range []string{"", "x", strings.Repeat("A", 500), token + "A"} {
		expect(t, h.client().post("/email/confirm", "token", bad), http.StatusBadRequest)
	}
	// Pruning: the expired token goes at once, the sent message's row
	// after 30 days.
	if n, err := h.svc.PruneMail(t.Context()); err != nil || n != 0 {
		t.Errorf("PruneMail = %d, %v; want no message yet", n, err)
	}
	if n := h.sqlCount("mail_tokens"); n != 0 {
		t.Errorf("%d expired tokens left", n)
	}
	h.clock.Add(portal.KeepSentMail)
	if n, err := h.svc.PruneMail(t.Context()); err != nil || n != 1 {
		t.Errorf("PruneMail after 30 days = %d, %v; want 1", n, err)
	}
	if n := h.sqlCount("outbox"); n != 0 {
		t.Errorf("%d outbox rows left", n)
	}
}

func TestEmailChange(t *testing.T) {
	h := newMailHarness(t)
	joe := h.signupMail("joe", "joe@example.com")
	_, token := checkMail(t, h.deliver(1)[0], "joe@example.com", "Confirm your e-mail address")
	expect(t, joe.confirmEmail(token), http.StatusOK)
	h.clock.Add(15 * time.Minute) // past the sudo window, within the idle timeout

	// A wrong password changes nothing and sends nothing.
	r := joe.post("/settings/security/email", "email", "joe@new.example", "password", "wrong password here")
	expect(t, r, http.StatusUnauthorized)
	// Without a password and out of sudo mode: the password prompt.
	r = joe.post("/settings/security/email", "email", "joe@new.example")
	expect(t, r, http.StatusSeeOther)
	if !strings.HasPrefix(r.Location(), "/settings/security/confirm") {
		t.Fatalf("without a recent password: redirect to %q", r.Location())
	}
	h.deliver(0)

	r = joe.post("/settings/security/email", "email", "joe@new.example", "password", password)
	expect(t, r, http.StatusSeeOther, "/settings/security?notice=email")
	r = joe.get("/settings/security")
	contains(t, r, `<strong id="email-address">joe@example.com</strong>`, `<strong id="email-pending">joe@new.example</strong>`)
	_, first := checkMail(t, h.deliver(1)[0], "joe@new.example", "Confirm your e-mail address")
	// Sending the link again replaces it.
	expect(t, joe.post("/settings/security/email/resend"), http.StatusSeeOther, "/settings/security?notice=resent")
	_, token = checkMail(t, h.deliver(1)[0], "joe@new.example", "Confirm your e-mail address")
	expect(t, h.client().post("/email/confirm", "token", first), http.StatusBadRequest)
	expect(t, h.client().confirmEmail(token), http.StatusOK)
	// The old address is told, with no link in it.
	ms := h.deliver(1)
	if p, _ := checkMail(t, ms[0], "joe@example.com", "Your e-mail address was changed", token); p != "" {
		t.Errorf("the change notice has a link %q", p)
	}
	if !strings.Contains(ms[0].Text, "joe@new.example") {
		t.Errorf("the change notice does not name the new address:\n%s", ms[0].Text)
	}
	contains(t, joe.get("/settings/security"), `<strong id="email-address">joe@new.example</strong>`)

	// The JSON API: the same rules.
	resp, body := joe.postJSON("/api/v1/email", map[string]string{"email": "joe@third.example", "password": "wrong password here"})
	expect(t, resp, http.StatusUnauthorized)
	if msg, _ := body["error"].(string); msg == "" {
		t.Errorf("a wrong password: no message: %v", body)
	}
	resp, body = joe.postJSON("/api/v1/email", map[string]string{"email": "joe@third.example", "password": password})
	expect(t, resp, http.StatusAccepted)
	if body["email_pending"] != "joe@third.example" {
		t.Errorf("API change: %v", body)
	}
	_, token = checkMail(t, h.deliver(1)[0], "joe@third.example", "Confirm your e-mail address")
	resp, body = h.client().postJSON("/api/v1/email/confirm", map[string]string{"token": token})
	expect(t, resp, http.StatusOK)
	if body["email"] != "joe@third.example" {
		t.Errorf("API confirm: %v", body)
	}
	checkMail(t, h.deliver(1)[0], "joe@new.example", "Your e-mail address was changed", token)
}

// TestEmailAPISignUp: the JSON key email.
func TestEmailAPISignUp(t *testing.T) {
	h := newMailHarness(t)
	r, body := h.client().postJSON("/api/v1/signup", map[string]string{"username": "ann", "password": password, "email": "ann@example.org"})
	expect(t, r, http.StatusCreated)
	if u := body["user"].(map[string]any); u["email_pending"] != "ann@example.org" {
		t.Errorf("API sign-up: %v", u)
	}
	checkMail(t, h.deliver(1)[0], "ann@example.org", "Confirm your e-mail address")
	r, body = h.client().postJSON("/api/v1/signup", map[string]string{"username": "bob", "password": password})
	expect(t, r, http.StatusBadRequest)
	if msg, _ := body["error"].(string); msg == "" {
		t.Errorf("sign-up without an address: no message: %v", body)
	}
}

// TestNoMail: without SMTP the portal takes no address, says so, and
// everything else works.
func TestNoMail(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	r := c.get("/signup")
	if strings.Contains(r.Body, `name="email"`) {
		t.Error("the sign-up form asks for an address the portal cannot confirm")
	}
	r = c.post("/signup", "username", "joe", "display_name", "Joe", "email", "joe@example.com", "password", password, "password_confirm", password)
	expect(t, r, http.StatusBadRequest)
	contains(t, r, "This portal sends no e-mail")
	joe := h.signup("joe", "Joe")
	contains(t, joe.get("/settings/security"), "This portal sends no e-mail")
	r = joe.post("/settings/security/email", "email", "joe@example.com", "password", password)
	expect(t, r, http.StatusBadRequest)
	if n := h.sqlCount("outbox"); n != 0 {
		t.Errorf("%d messages queued without mail", n)
	}
	joe.enable()
}
