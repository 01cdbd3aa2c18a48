package web_test

import (
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/shared/totp"
)

// newAdmin signs up root (with an address when the portal sends mail:
// its confirmation link is queued), turns 2FA on and grants the admin
// role as "twofold-portal user grant-admin root" does; root's client is
// fully signed in (not yet in the console's sudo mode).
func (h *harness) newAdmin() (*client, *totp.Key) {
	h.t.Helper()
	root := h.client()
	kv := []string{"username", "root", "display_name", "Root Admin", "password", password, "password_confirm", password}
	if h.svc.MailEnabled() {
		kv = append(kv, "email", "root@example.net")
	}
	expect(h.t, root.post("/signup", kv...), http.StatusSeeOther, "/")
	k, _, _ := root.enable()
	if err := h.svc.GrantAdmin(h.t.Context(), "root"); err != nil {
		h.t.Fatal(err)
	}
	return root, k
}

// openConsole enters root's password and a fresh code.
func (c *client) openConsole(k *totp.Key) {
	c.h.t.Helper()
	c.h.nextStep()
	expect(c.h.t, c.post("/admin/confirm", "password", password, "code", c.h.code(k), "next", "/admin"), http.StatusSeeOther, "/admin")
}

// sqlExec changes the database file behind the portal's back.
func (h *harness) sqlExec(query string, args ...any) {
	h.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.dir, "portal.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		h.t.Fatal(err)
	}
}

// adminPaths are every /admin route with its parameters filled in.
func adminPaths(h *harness) [][2]string {
	var out [][2]string
	for _, r := range h.srv.Routes() {
		if r.Path != "/admin" && !strings.HasPrefix(r.Path, "/admin/") {
			continue
		}
		p := strings.NewReplacer(":name", "joe", ":action", "disable").Replace(r.Path)
		out = append(out, [2]string{r.Method, p})
	}
	return out
}

// A signed-in non-admin gets 403 on every /admin route, with or without
// 2FA and a recent password; signed out, the sign-in page.
func TestAdminForbidden(t *testing.T) {
	h := newHarness(t)
	h.newAdmin()
	joe := h.signup("joe", "Joe")
	ann := h.signup("ann", "Ann")
	k, _, _ := ann.enable()
	h.nextStep()
	// Ann's password and code, as the console would ask them: no use.
	expect(t, ann.post("/settings/security/confirm", "password", password, "next", "/settings/security"), http.StatusSeeOther)
	paths := adminPaths(h)
	if len(paths) < 6 {
		t.Fatalf("only %d /admin routes: %v", len(paths), paths)
	}
	for _, who := range []*client{joe, ann} {
		for _, mp := range paths {
			var r *response
			if mp[0] == http.MethodGet {
				r = who.get(mp[1])
			} else {
				r = who.post(mp[1], "password", password, "code", h.code(k), "next", "/admin")
			}
			if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "support staff only") {
				t.Errorf("%s %s as a non-admin: %d, want 403\n%s", mp[0], mp[1], r.Status, clipBody(r.Body))
			}
		}
	}
	if u, _ := h.db.UserByName(t.Context(), "joe"); u.Disabled {
		t.Fatal("a non-admin disabled joe")
	}
	anon := h.client()
	for _, mp := range paths {
		if mp[0] == http.MethodGet {
			expect(t, anon.get(mp[1]), http.StatusSeeOther, "/login")
		}
	}
	// The menu shows the console to admins only.
	if r := joe.get("/"); strings.Contains(r.Body, `href="/admin"`) {
		t.Error("a non-admin's menu links to the console")
	}
}

// An admin must enter the password and a code (within 10 minutes) before
// any console page; the plain password prompt does not open it.
func TestAdminSudo(t *testing.T) {
	h := newHarness(t)
	root, k := h.newAdmin()
	h.signup("joe", "Joe")
	contains(t, root.get("/"), `href="/admin"`)
	for _, p := range []string{"/admin", "/admin/users/joe", "/admin/users/joe/disable"} {
		expect(t, root.get(p), http.StatusSeeOther, "/admin/confirm?next="+url.QueryEscape(p))
	}
	expect(t, root.post("/admin/users/joe/disable"), http.StatusSeeOther, "/admin/confirm?next="+url.QueryEscape("/admin/users/joe/disable"))
	if u, _ := h.db.UserByName(t.Context(), "joe"); u.Disabled {
		t.Fatal("joe was disabled without the sudo step")
	}
	r := root.get("/admin/confirm?next=/admin/users/joe")
	expect(t, r, http.StatusOK)
	contains(t, r, `name="password"`, `name="code"`, `value="/admin/users/joe"`)

	// A recent password alone is not enough.
	h.nextStep()
	expect(t, root.post("/settings/security/confirm", "password", password, "next", "/settings/security"), http.StatusSeeOther)
	expect(t, root.get("/admin"), http.StatusSeeOther, "/admin/confirm?next=%2Fadmin")

	h.nextStep()
	r = root.post("/admin/confirm", "password", password, "code", "", "next", "/admin")
	expect(t, r, http.StatusBadRequest)
	contains(t, r, "Enter a code from your authenticator app.")
	r = root.post("/admin/confirm", "password", "wrong password", "code", h.code(k), "next", "/admin")
	expect(t, r, http.StatusUnauthorized)
	contains(t, r, "Wrong password.")
	r = root.post("/admin/confirm", "password", password, "code", h.wrongCode(k), "next", "/admin")
	expect(t, r, http.StatusUnauthorized)
	// An outside target is not followed.
	expect(t, root.post("/admin/confirm", "password", password, "code", h.code(k), "next", "https://evil.example/admin"), http.StatusSeeOther, "/admin")
	r = root.get("/admin")
	expect(t, r, http.StatusOK)
	contains(t, r, "Audit log", `name="q"`)
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options"} {
		if r.Header.Get(h) == "" {
			t.Errorf("/admin lacks %s", h)
		}
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("/admin Cache-Control %q, want no-store", cc)
	}
	if strings.Contains(r.Body, "<script") {
		t.Error("/admin has a script")
	}

	// Ten minutes later it is still open; a second after, it asks again.
	h.clock.Add(portal.AdminSudoWindow - time.Second)
	expect(t, root.get("/admin/users/joe"), http.StatusOK)
	h.clock.Add(2 * time.Second)
	expect(t, root.get("/admin/users/joe"), http.StatusSeeOther, "/admin/confirm?next=%2Fadmin%2Fusers%2Fjoe")
}

// Searching: exact and prefix, by username and e-mail, bounded.
func TestAdminSearch(t *testing.T) {
	h := newMailHarness(t)
	root, k := h.newAdmin()
	h.deliver(1) // root's confirmation link
	h.confirmedJoe()
	for i := range portal.MaxSearchResults + 3 {
		if _, err := h.svc.AddUser(t.Context(), "user"+string(rune('a'+i)), "", "u"+string(rune('a'+i))+"@example.org", password); err != nil {
			t.Fatal(err)
		}
	}
	root.openConsole(k)
	r := root.get("/admin?q=joe")
	expect(t, r, http.StatusOK)
	contains(t, r, `href="/admin/users/joe"`)
	r = root.get("/admin?q=" + url.QueryEscape("JOE@EXAMPLE.COM"))
	contains(t, r, `href="/admin/users/joe"`, "joe@example.com")
	r = root.get("/admin?q=jo")
	contains(t, r, `href="/admin/users/joe"`)
	r = root.get("/admin?q=user")
	if n := strings.Count(r.Body, `href="/admin/users/user`); n != portal.MaxSearchResults {
		t.Errorf("a search for user shows %d results, want %d", n, portal.MaxSearchResults)
	}
	contains(t, r, "Only the first 20 are shown")
	r = root.get("/admin?q=nobody")
	contains(t, r, "No username or e-mail address starts with “nobody”")
	r = root.get("/admin?q=%25")
	contains(t, r, "No username or e-mail address starts with")
	expect(t, root.get("/admin?q=+"), http.StatusBadRequest)
	expect(t, root.get("/admin/users/nobody"), http.StatusNotFound)
	expect(t, root.get("/admin/users/joe/explode"), http.StatusNotFound)
}

// Each action: a confirmation page, then the change, the customer's
// activity ("by support (admin root)"), an audit row and a mail.
func TestAdminActions(t *testing.T) {
	h := newMailHarness(t)
	root, rk := h.newAdmin()
	h.deliver(1) // root's confirmation link
	joe := h.confirmedJoe()
	jk, codes, used := joe.enable()
	h.deliver(1)
	h.nextStep()
	h.rememberBrowser("joe", jk)
	h.deliver(2)
	secrets := append([]string{jk.SecretBase32(), used, rk.SecretBase32()}, codes...)
	root.openConsole(rk)

	r := root.get("/admin/users/joe")
	expect(t, r, http.StatusOK)
	contains(t, r, `<dd id="twofactor">on</dd>`, "joe@example.com", "Remembered devices", "Recent security activity")
	if !strings.Contains(r.Body, `<dd id="sessions">`) {
		t.Fatal("no sessions count")
	}

	audits := 0
	do := func(action portal.SupportAction, subject string, check func()) {
		t.Helper()
		page := "/admin/users/joe/" + string(action)
		r := root.get(page)
		expect(t, r, http.StatusOK)
		contains(t, r, `<form method="post" action="`+page+`">`, html.EscapeString(action.Explain()))
		expect(t, root.post(page), http.StatusSeeOther, "/admin/users/joe?notice="+string(action))
		r = root.get("/admin/users/joe?notice=" + string(action))
		expect(t, r, http.StatusOK)
		contains(t, r, "by support (admin root)")
		audits++
		if n := h.sqlCount("admin_audit WHERE admin = 'root' AND action = ? AND target = 'joe' AND ip = '127.0.0.1'", string(action)); n != 1 {
			t.Errorf("%s: %d audit rows, want 1", action, n)
		}
		if n := h.sqlCount("admin_audit"); n != audits {
			t.Errorf("%s: %d audit rows in all, want %d", action, n, audits)
		}
		contains(t, root.get("/admin"), "<td>"+string(action)+"</td>")
		m := h.deliver(1)[0]
		checkMail(t, m, "joe@example.com", subject, secrets...)
		if action != portal.ActionSendReset && !strings.Contains(m.Text, "by the portal's support (admin root)") {
			t.Errorf("%s: the mail does not say support did it:\n%s", action, m.Text)
		}
		check()
	}

	do(portal.ActionForgetDevices, "Your remembered browsers were forgotten", func() {
		if devs, _ := h.db.RememberedDevices(t.Context(), user(t, h.harness, "joe").ID); len(devs) != 0 {
			t.Errorf("%d remembered devices left", len(devs))
		}
	})
	do(portal.ActionEndSessions, "You were signed out everywhere", func() {
		if n, _ := h.db.CountSessions(t.Context(), user(t, h.harness, "joe").ID); n != 0 {
			t.Errorf("%d sessions left", n)
		}
		expect(t, joe.get("/settings/security"), http.StatusSeeOther, "/login")
	})
	do(portal.ActionSendReset, "Set a new password", func() {
		if n := h.sqlCount("mail_tokens WHERE purpose = ?", portal.TokenResetPassword); n != 1 {
			t.Errorf("%d reset tokens, want 1", n)
		}
	})
	do(portal.ActionResetTwoFactor, "Two-factor authentication was turned off", func() {
		if user(t, h.harness, "joe").TwoFactor() {
			t.Error("2FA still on")
		}
		// Signing in now takes the password alone.
		b := h.client()
		expect(t, b.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")
		h.deliver(1) // a sign-in from a new browser
	})
	// Not available twice: the page says why and has no button.
	r = root.get("/admin/users/joe/reset-2fa")
	expect(t, r, http.StatusConflict)
	if strings.Contains(r.Body, `method="post" action="/admin/users/joe/reset-2fa"`) {
		t.Error("an unavailable action still has its button")
	}
	expect(t, root.post("/admin/users/joe/reset-2fa"), http.StatusConflict)

	do(portal.ActionDisable, "Your account was disabled", func() {
		if !user(t, h.harness, "joe").Disabled {
			t.Error("not disabled")
		}
		b := h.client()
		r := b.post("/login", "username", "joe", "password", password)
		expect(t, r, http.StatusForbidden)
		contains(t, r, "This account is disabled: contact support.")
		// A wrong password tells no more than it does for anyone.
		r = b.post("/login", "username", "joe", "password", "not the password")
		expect(t, r, http.StatusUnauthorized)
		contains(t, r, "Wrong username or password.")
		if strings.Contains(r.Body, "disabled") {
			t.Error("a wrong password reveals the account is disabled")
		}
		// A forgotten-password link is no way back in.
		h.nextStep()
		r = b.post("/password/forgot", "username", "joe")
		expect(t, r, http.StatusOK)
		_, token := checkMail(t, h.deliver(1)[0], "joe@example.com", "Set a new password", secrets...)
		expect(t, b.post("/password/reset", "token", token, "password", "another long password", "password_confirm", "another long password"), http.StatusOK)
		h.deliver(1) // password reset notice
		expect(t, b.post("/login", "username", "joe", "password", "another long password"), http.StatusForbidden)
	})
	contains(t, root.get("/admin/users/joe"), `<dd id="state">disabled</dd>`)
	do(portal.ActionEnable, "Your account was enabled again", func() {
		b := h.client()
		expect(t, b.post("/login", "username", "joe", "password", "another long password"), http.StatusSeeOther, "/")
		h.deliver(1) // a sign-in from a new browser
		// Joe's own activity says who did it.
		contains(t, b.get("/settings/security"), "<td>Account disabled (every session signed out)</td><td>by support (admin root)</td>")
	})
	// The console refuses to reset or disable an admin.
	for _, a := range []string{"reset-2fa", "disable"} {
		r := root.post("/admin/users/root/" + a)
		expect(t, r, http.StatusConflict)
		contains(t, r, "revoke the role first")
	}
	if n := h.sqlCount("admin_audit"); n != audits {
		t.Errorf("%d audit rows, want %d: refusals are not actions", n, audits)
	}
}

func user(t *testing.T, h *harness, name string) *portal.User {
	t.Helper()
	u, err := h.db.UserByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Cross-origin POSTs to the console are refused and change nothing.
func TestAdminCrossOrigin(t *testing.T) {
	h := newHarness(t)
	root, k := h.newAdmin()
	h.signup("joe", "Joe")
	root.openConsole(k)
	for _, hdr := range [][]string{
		{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
	} {
		r := root.postRaw("/admin/users/joe/disable", "application/x-www-form-urlencoded", "", hdr...)
		expect(t, r, http.StatusForbidden)
		contains(t, r, "came from another site")
	}
	if user(t, h, "joe").Disabled {
		t.Fatal("a cross-origin POST disabled joe")
	}
	if n := h.sqlCount("admin_audit"); n != 0 {
		t.Errorf("%d audit rows after refused requests", n)
	}
}

// Admins always need 2FA: they cannot turn it off, and one without it
// (a database edited by hand) reaches nothing but the set-up, though the
// portal does not require 2FA of customers.
func TestAdminAlwaysNeeds2FA(t *testing.T) {
	h := newHarness(t)
	root, k := h.newAdmin()
	h.nextStep()
	r := root.post("/settings/security/2fa/disable", "password", password, "code", h.code(k))
	expect(t, r, http.StatusConflict)
	contains(t, r, "the admin role must be revoked first")
	if !user(t, h, "root").TwoFactor() {
		t.Fatal("an admin turned 2FA off")
	}
	if err := h.svc.ResetTwoFactor(t.Context(), "root"); portal.ErrorCode(err) != portal.ECONFLICT {
		t.Errorf("reset-2fa of an admin: %v, want a conflict", err)
	}
	h.sqlExec(`UPDATE users SET totp_secret = NULL WHERE username = 'root'`)
	expect(t, root.get("/"), http.StatusSeeOther, "/settings/security/2fa/totp")
	expect(t, root.get("/admin"), http.StatusSeeOther, "/settings/security/2fa/totp")
	// A customer without 2FA is not asked.
	joe := h.signup("joe", "Joe")
	expect(t, joe.get("/"), http.StatusOK)
	// Revoked, root is a customer again.
	if err := h.svc.RevokeAdmin(t.Context(), "root"); err != nil {
		t.Fatal(err)
	}
	expect(t, root.get("/"), http.StatusOK)
}

// A session of an account disabled behind its back (another instance,
// the database edited) ends at its next request; the JSON sign-in says
// "disabled" only after the right password.
func TestDisabledAccountSession(t *testing.T) {
	h := newHarness(t)
	joe := h.signup("joe", "Joe")
	h.sqlExec(`UPDATE users SET disabled = 1 WHERE username = 'joe'`)
	expect(t, joe.get("/settings/security"), http.StatusSeeOther, "/login")
	if n, err := h.db.CountSessions(t.Context(), user(t, h, "joe").ID); err != nil || n != 0 {
		t.Errorf("%d sessions left, %v", n, err)
	}
	api := h.client()
	r, body := api.postJSON("/api/v1/login", map[string]string{"username": "joe", "password": "wrong password"})
	if r.Status != http.StatusUnauthorized || body["error"] != "Wrong username or password." {
		t.Errorf("wrong password of a disabled account: %d %v", r.Status, body)
	}
	r, body = api.postJSON("/api/v1/login", map[string]string{"username": "joe", "password": password})
	if r.Status != http.StatusForbidden || body["error"] != "This account is disabled: contact support." {
		t.Errorf("right password of a disabled account: %d %v", r.Status, body)
	}
	if err := h.svc.SetDisabled(t.Context(), "joe", false, "admin"); err != nil {
		t.Fatal(err)
	}
	r, _ = api.postJSON("/api/v1/login", map[string]string{"username": "joe", "password": password})
	if r.Status != http.StatusOK {
		t.Errorf("sign-in once enabled: %d %s", r.Status, r.Body)
	}
}
