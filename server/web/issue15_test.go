package web_test

import (
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/shared/totp"
)

// Remembered devices ("Don't ask again on this computer for 30 days") and
// required 2FA (issue 15).

const rememberCookie = "twofold_remember"

// cookie returns the browser's cookie name for the portal, nil if none.
func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.url)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func (c *client) setCookie(name, value string) {
	u, _ := url.Parse(c.url)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// rememberBrowser signs name in on a new browser with a code and "Don't
// ask again" ticked, and returns that browser.
func (h *harness) rememberBrowser(name string, k *totp.Key) *client {
	h.t.Helper()
	c := h.loginPending(name)
	h.nextStep()
	r := c.post("/login/code", "code", h.code(k), "remember", "on")
	expect(h.t, r, http.StatusSeeOther, "/")
	set := setCookie(r, rememberCookie)
	if set == "" {
		h.t.Fatalf("no %s cookie set: %v", rememberCookie, r.Header.Values("Set-Cookie"))
	}
	return c
}

// setCookie is the Set-Cookie header of the named cookie, "" if none.
func setCookie(r *response, name string) string {
	for _, v := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			return v
		}
	}
	return ""
}

// again logs the browser out and signs in with the password; it returns
// where the portal sends it: "/" (no code asked) or "/login/code".
func (c *client) again(name string) string {
	c.h.t.Helper()
	if c.cookie("twofold_session") != nil {
		expect(c.h.t, c.post("/logout"), http.StatusSeeOther, "/login")
	}
	r := c.post("/login", "username", name, "password", password)
	expect(c.h.t, r, http.StatusSeeOther)
	return r.Location()
}

// activity is the labels of the user's recent security activity.
func (h *harness) activity(name string) []string {
	h.t.Helper()
	u, err := h.db.UserByName(h.t.Context(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	events, err := h.db.Events(h.t.Context(), u.ID, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	var labels []string
	for _, e := range events {
		labels = append(labels, e.Kind.Label())
	}
	return labels
}

func (h *harness) devices(name string) []*portal.RememberedDevice {
	h.t.Helper()
	u, err := h.db.UserByName(h.t.Context(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	devs, err := h.db.RememberedDevices(h.t.Context(), u.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return devs
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestRememberDevice(t *testing.T) {
	h := newHarness(t)
	joe := h.signup("joe", "Joe")
	k, _, _ := joe.enable()

	// Off by default: a code without the box remembers nothing.
	plain := h.loginPending("joe")
	h.nextStep()
	r := plain.post("/login/code", "code", h.code(k))
	expect(t, r, http.StatusSeeOther, "/")
	if setCookie(r, rememberCookie) != "" || len(h.devices("joe")) != 0 {
		t.Fatal("a sign-in without the box remembered the device")
	}
	if plain.again("joe") != "/login/code" {
		t.Fatal("a browser not remembered skipped the code")
	}
	contains(t, plain.get("/login/code"), "Don't ask again on this computer for 30 days", `type="checkbox" name="remember"`)

	// Ticked: the cookie (HttpOnly, SameSite=Lax, 30 days) and the row,
	// holding the token's SHA-256 only.
	c := h.loginPending("joe")
	h.nextStep()
	r = c.post("/login/code", "code", h.code(k), "remember", "on")
	expect(t, r, http.StatusSeeOther, "/")
	set := setCookie(r, rememberCookie)
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"} {
		if !strings.Contains(set, want) {
			t.Errorf("remember cookie lacks %s: %s", want, set)
		}
	}
	if strings.Contains(set, "Secure") || strings.Contains(set, "Domain=") {
		t.Errorf("remember cookie over plain HTTP: %s", set)
	}
	token := c.cookie(rememberCookie).Value
	devs := h.devices("joe")
	if len(devs) != 1 {
		t.Fatalf("%d remembered devices, want 1", len(devs))
	}
	sum := sha256.Sum256([]byte(token))
	if string(devs[0].TokenHash) != string(sum[:]) || devs[0].Browser != "Go-http-client/1.1" || devs[0].IP != "127.0.0.1" ||
		!devs[0].CreatedAt.Equal(h.clock.Now()) {
		t.Errorf("stored device %+v: want the token's SHA-256, the browser, the address and now", devs[0])
	}
	if len(token) < 40 || strings.Contains(token, ".") {
		t.Errorf("token %q: want 32 random bytes, nothing else", token)
	}
	if !has(h.activity("joe"), "Device remembered (no code asked there for 30 days)") {
		t.Errorf("activity lacks the remembered device: %v", h.activity("joe"))
	}
	// Not the lockout's device cookie: both are set, under their own names.
	if c.cookie("twofold_device") == nil || c.cookie("twofold_device").Value == token {
		t.Error("the remember cookie is confused with the device cookie")
	}

	// The same browser: the right password is enough.
	h.clock.Add(time.Hour)
	if got := c.again("joe"); got != "/" {
		t.Fatalf("remembered browser sent to %s, want /", got)
	}
	expect(t, c.get("/"), http.StatusOK)
	if !has(h.activity("joe"), "Signed in from a remembered device") {
		t.Errorf("activity lacks the remembered sign-in: %v", h.activity("joe"))
	}
	if d := h.devices("joe")[0]; !d.LastUsedAt.Equal(h.clock.Now()) || !d.CreatedAt.Equal(devs[0].CreatedAt) {
		t.Errorf("after use: %+v, want last use now and first use kept", d)
	}
	// A wrong password is still wrong.
	c.post("/logout")
	expect(t, c.post("/login", "username", "joe", "password", "wrong password!"), http.StatusUnauthorized)

	// Another browser; a forged cookie; a cookie cut short.
	if h.client().again("joe") != "/login/code" {
		t.Error("another browser skipped the code")
	}
	for _, forged := range []string{"x", strings.Repeat("A", 43), token[:len(token)-1], token + "A", strings.Repeat(token, 4)} {
		f := h.client()
		f.setCookie(rememberCookie, forged)
		if f.again("joe") != "/login/code" {
			t.Errorf("forged cookie %q skipped the code", forged)
		}
	}

	// Another account's cookie.
	ann := h.signup("ann", "Ann")
	ka, _, _ := ann.enable()
	annBrowser := h.rememberBrowser("ann", ka)
	thief := h.client()
	thief.setCookie(rememberCookie, annBrowser.cookie(rememberCookie).Value)
	if thief.again("joe") != "/login/code" {
		t.Error("ann's remember cookie skipped joe's code")
	}
	if annBrowser.again("ann") != "/" {
		t.Error("ann's own browser was not remembered")
	}

	// Listed in Security Settings, with Forget and Forget all.
	h.clock.Add(time.Hour)
	c.again("joe")
	page := c.get("/settings/security")
	expect(t, page, http.StatusOK)
	contains(t, page, "Remembered devices", "Go-http-client/1.1", "127.0.0.1", `action="/settings/security/devices/forget"`,
		`action="/settings/security/devices/forget-all"`, ">Forget all<", "Signed in from a remembered device")

	// 30 days: still remembered just before, asked for a code after.
	h.clock.Add(devs[0].CreatedAt.Add(portal.RememberFor).Sub(h.clock.Now()) - time.Minute)
	if got := c.again("joe"); got != "/" {
		t.Errorf("a minute before 30 days: sent to %s, want /", got)
	}
	h.clock.Add(2 * time.Minute)
	if got := c.again("joe"); got != "/login/code" {
		t.Errorf("after 30 days: sent to %s, want the code", got)
	}
	// Expired devices are not listed, and the cleaner deletes them.
	h.nextStep()
	expect(t, c.post("/login/code", "code", h.code(k)), http.StatusSeeOther, "/")
	if strings.Contains(c.get("/settings/security").Body, "Go-http-client/1.1</strong>") {
		t.Error("an expired device is listed")
	}
	if err := h.svc.DeleteExpiredSessions(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(h.devices("joe")); n != 0 {
		t.Errorf("%d expired devices kept", n)
	}
}

// TestRememberDeviceLockout: a remembered device skips the code, never the
// password's limits.
func TestRememberDeviceLockout(t *testing.T) {
	h := newHarness(t)
	joe := h.signup("joe", "Joe")
	k, _, _ := joe.enable()
	c := h.rememberBrowser("joe", k)
	c.post("/logout")
	locked := false
	for i := 0; i < 50 && !locked; i++ {
		r := c.post("/login", "username", "joe", "password", "not the password")
		locked = r.Status == http.StatusTooManyRequests
	}
	if !locked {
		t.Fatal("50 wrong passwords from the remembered browser never locked it")
	}
	r := c.post("/login", "username", "joe", "password", password)
	expect(t, r, http.StatusTooManyRequests)
	if c.cookie("twofold_session") != nil {
		t.Error("a locked sign-in got a session")
	}
	expect(t, c.get("/"), http.StatusSeeOther, "/login")
}

// TestRememberedDeviceForgotten: each event that must ask for a code again
// forgets the remembered devices.
func TestRememberedDeviceForgotten(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(h *harness, joe *client, k *totp.Key, codes []string)
		off  bool // 2FA is off afterwards
	}{
		{"password changed", func(h *harness, joe *client, _ *totp.Key, _ []string) {
			expect(h.t, joe.post("/settings/security/password", "current_password", password, "new_password", password+" 2", "new_password_confirm", password+" 2"),
				http.StatusSeeOther, "/settings/security?notice=password")
			expect(h.t, joe.post("/settings/security/password", "current_password", password+" 2", "new_password", password, "new_password_confirm", password),
				http.StatusSeeOther, "/settings/security?notice=password")
		}, false},
		{"password set by admin", func(h *harness, _ *client, _ *totp.Key, _ []string) {
			if err := h.svc.SetPassword(h.t.Context(), "joe", password); err != nil {
				h.t.Fatal(err)
			}
		}, false},
		{"2FA turned off", func(h *harness, joe *client, k *totp.Key, _ []string) {
			h.nextStep()
			expect(h.t, joe.post("/settings/security/2fa/disable", "password", password, "code", h.code(k)), http.StatusSeeOther, "/settings/security?notice=off")
		}, true},
		{"2FA reset by admin", func(h *harness, _ *client, _ *totp.Key, _ []string) {
			if err := h.svc.ResetTwoFactor(h.t.Context(), "joe"); err != nil {
				h.t.Fatal(err)
			}
		}, true},
		{"recovery code used", func(h *harness, _ *client, _ *totp.Key, codes []string) {
			other := h.loginPending("joe")
			expect(h.t, other.post("/login/recovery", "recovery_code", codes[0]), http.StatusSeeOther, "/settings/security?notice=recovery")
		}, false},
		{"recovery codes regenerated", func(h *harness, joe *client, k *totp.Key, _ []string) {
			h.nextStep()
			r := joe.post("/settings/security/2fa/recovery-codes", "code", h.code(k))
			expect(h.t, r, http.StatusOK)
		}, false},
		{"forgotten in Security Settings", func(h *harness, joe *client, _ *totp.Key, _ []string) {
			id := h.devices("joe")[0].ID
			expect(h.t, joe.post("/settings/security/devices/forget", "id", itoa(id)), http.StatusSeeOther, "/settings/security?notice=forgot")
		}, false},
		{"forget all in Security Settings", func(h *harness, joe *client, _ *totp.Key, _ []string) {
			expect(h.t, joe.post("/settings/security/devices/forget-all"), http.StatusSeeOther, "/settings/security?notice=forgotall")
		}, false},
		{"forgotten by staff", func(h *harness, _ *client, _ *totp.Key, _ []string) {
			if n, err := h.svc.ForgetDevicesOf(h.t.Context(), "joe"); err != nil || n != 1 {
				h.t.Fatalf("ForgetDevicesOf: %d, %v", n, err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			joe := h.signup("joe", "Joe")
			k, codes, _ := joe.enable()
			browser := h.rememberBrowser("joe", k)
			// Another account's device stays.
			ann := h.signup("ann", "Ann")
			ka, _, _ := ann.enable()
			annBrowser := h.rememberBrowser("ann", ka)

			tc.do(h, joe, k, codes)
			if n := len(h.devices("joe")); n != 0 {
				t.Fatalf("%d devices still remembered", n)
			}
			if !has(h.activity("joe"), "Remembered device forgotten") {
				t.Errorf("activity lacks the forgotten device: %v", h.activity("joe"))
			}
			if tc.off {
				// With 2FA on again, the old cookie does not skip the code.
				h.clock.Add(time.Minute)
				if browser.again("joe") != "/" {
					t.Fatal("2FA off: want no code")
				}
				joe = browser
				joe.enable()
			}
			if got := browser.again("joe"); got != "/login/code" {
				t.Errorf("after %s the browser was sent to %s, want the code", tc.name, got)
			}
			if annBrowser.again("ann") != "/" {
				t.Error("ann's device was forgotten too")
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRememberDeviceForms(t *testing.T) {
	h := newHarness(t)
	joe := h.signup("joe", "Joe")
	k, _, _ := joe.enable()
	c := h.loginPending("joe")
	h.nextStep()
	expect(t, c.post("/login/code", "code", h.code(k), "remember", "yes"), http.StatusBadRequest)
	// The code was not consumed by a refused form: the same code works.
	expect(t, c.post("/login/code", "code", h.code(k), "remember", "on"), http.StatusSeeOther, "/")
	for _, id := range []string{"", "x", "0", "-1", "99999"} {
		r := c.post("/settings/security/devices/forget", "id", id)
		if r.Status != http.StatusBadRequest && r.Status != http.StatusNotFound {
			t.Errorf("forget id %q: status %d", id, r.Status)
		}
	}
	// Another user's device id is not found for joe.
	ann := h.signup("ann", "Ann")
	ka, _, _ := ann.enable()
	h.rememberBrowser("ann", ka)
	expect(t, c.post("/settings/security/devices/forget", "id", itoa(h.devices("ann")[0].ID)), http.StatusNotFound)
	if len(h.devices("ann")) != 1 {
		t.Error("joe forgot ann's device")
	}
}

func TestRememberDeviceAPI(t *testing.T) {
	h := newHarness(t)
	joe := h.signup("joe", "Joe")
	k, codes, _ := joe.enable()

	c := h.client()
	_, m := c.postJSON("/api/v1/login", map[string]any{"username": "joe", "password": password})
	if m["code_required"] != true || m["remembered_device"] != false {
		t.Fatalf("login: %v", m)
	}
	r, m := c.postJSON("/api/v1/login/code", map[string]any{"recovery_code": codes[0], "remember_device": true})
	expect(t, r, http.StatusBadRequest)
	if msg, _ := m["error"].(string); !strings.Contains(msg, "not with a recovery code") {
		t.Fatalf("remembering at a recovery sign-in: %v", m)
	}
	h.nextStep()
	r, m = c.postJSON("/api/v1/login/code", map[string]any{"code": h.code(k), "remember_device": true})
	expect(t, r, http.StatusOK)
	if m["signed_in"] != true || m["device_remembered"] != true || c.cookie(rememberCookie) == nil {
		t.Fatalf("login/code: %v", m)
	}
	r, m = c.getJSON("/api/v1/devices")
	expect(t, r, http.StatusOK)
	list, _ := m["devices"].([]any)
	if len(list) != 1 {
		t.Fatalf("devices: %v", m)
	}
	d := list[0].(map[string]any)
	if d["browser"] != "Go-http-client/1.1" || d["ip"] != "127.0.0.1" || d["first_used"] == "" || d["expires"] != h.clock.Now().Add(portal.RememberFor).UTC().Format(time.RFC3339) {
		t.Errorf("device: %v", d)
	}
	for _, key := range []string{"token", "token_hash"} {
		if _, ok := d[key]; ok {
			t.Errorf("the API shows %s", key)
		}
	}
	expect(t, c.postRaw("/api/v1/logout", "application/json", ""), http.StatusNoContent)
	r, m = c.postJSON("/api/v1/login", map[string]any{"username": "joe", "password": password})
	expect(t, r, http.StatusOK)
	if m["signed_in"] != true || m["code_required"] != false || m["remembered_device"] != true {
		t.Fatalf("login from the remembered device: %v", m)
	}
	r, m = c.postJSON("/api/v1/devices/forget", map[string]any{"id": 0})
	expect(t, r, http.StatusBadRequest)
	if msg, _ := m["error"].(string); msg == "" {
		t.Fatalf("forgetting device 0: no message: %v", m)
	}
	r, m = c.postJSON("/api/v1/devices/forget", map[string]any{"id": d["id"]})
	expect(t, r, http.StatusOK)
	if m["forgotten"] != float64(1) {
		t.Errorf("forget: %v", m)
	}
	r, m = c.postJSON("/api/v1/devices/forget-all", map[string]any{})
	expect(t, r, http.StatusOK)
	if m["forgotten"] != float64(0) {
		t.Errorf("forget-all after forget: %v", m)
	}
	expect(t, c.postRaw("/api/v1/logout", "application/json", ""), http.StatusNoContent)
	_, m = c.postJSON("/api/v1/login", map[string]any{"username": "joe", "password": password})
	if m["code_required"] != true {
		t.Errorf("a forgotten device skipped the code: %v", m)
	}
}

// TestRememberCookieTLS: over TLS the remember cookie is __Host- prefixed
// and Secure, like the session cookie.
func TestRememberCookieTLS(t *testing.T) {
	h := newHarness(t)
	ts := httptest.NewTLSServer(h.srv)
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := &client{h: h, url: ts.URL, c: &http.Client{Transport: ts.Client().Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	expect(t, c.post("/signup", "username", "joe", "display_name", "Joe", "password", password, "password_confirm", password), http.StatusSeeOther, "/")
	k, _, _ := c.enable()
	expect(t, c.post("/logout"), http.StatusSeeOther, "/login")
	expect(t, c.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/login/code")
	h.nextStep()
	r := c.post("/login/code", "code", h.code(k), "remember", "on")
	expect(t, r, http.StatusSeeOther, "/")
	set := setCookie(r, "__Host-"+rememberCookie)
	if set == "" || !strings.Contains(set, "Secure") || !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") || strings.Contains(set, "Domain=") {
		t.Errorf("TLS remember cookie: %q in %v", set, r.Header.Values("Set-Cookie"))
	}
	expect(t, c.post("/logout"), http.StatusSeeOther, "/login")
	expect(t, c.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")
}

// TestIssue15CrossOrigin: the new POST routes refuse cross-origin
// requests, like every other.
func TestIssue15CrossOrigin(t *testing.T) {
	h := newHarness(t, func(p *portalConfig, _ *webConfig) { p.Require2FA, p.Require2FAGrace = true, 14*24*time.Hour })
	c := h.signup("joe", "Joe")
	for _, path := range []string{"/settings/security/devices/forget", "/settings/security/devices/forget-all", "/settings/security/2fa/skip",
		"/api/v1/devices/forget", "/api/v1/devices/forget-all", "/api/v1/2fa/skip"} {
		ctype := "application/x-www-form-urlencoded"
		if strings.HasPrefix(path, "/api/") {
			ctype = "application/json"
		}
		r := c.postRaw(path, ctype, "{}", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "came from another site") {
			t.Errorf("cross-origin POST %s: %d %s", path, r.Status, clipBody(r.Body))
		}
	}
	// The refused skip did nothing.
	expect(t, c.get("/"), http.StatusSeeOther, "/settings/security/2fa/totp")
}

// setupAllowed are the routes a user who must set up 2FA still reaches.
var setupAllowed = map[string]bool{
	"POST /logout": true, "GET /settings/security/confirm": true, "POST /settings/security/confirm": true,
	"GET /settings/security/2fa": true, "GET /settings/security/2fa/totp": true, "POST /settings/security/2fa/totp/start": true,
	"GET /settings/security/2fa/totp/setup": true, "GET /settings/security/2fa/totp/qr.png": true,
	"POST /settings/security/2fa/totp/verify": true, "POST /settings/security/2fa/skip": true,
	"POST /api/v1/logout": true, "POST /api/v1/confirm-password": true, "POST /api/v1/2fa/totp": true,
	"POST /api/v1/2fa/totp/verify": true, "POST /api/v1/2fa/skip": true,
	// Outside the session's reach: no account behind them.
	"GET /healthz": true, "GET /static/portal.css": true, "HEAD /static/portal.css": true,
}

// TestRequire2FA: every page and API route but the set-up's refuses a
// signed-in user without 2FA: pages send to "Time Based Tokens", the API
// answers 403 naming the reason.
func TestRequire2FA(t *testing.T) {
	h := newHarness(t, func(p *portalConfig, _ *webConfig) { p.Require2FA = true })
	c := h.signup("joe", "Joe")
	n := 0
	for _, rt := range h.srv.Routes() {
		key := rt.Method + " " + rt.Path
		if setupAllowed[key] {
			continue
		}
		n++
		var r *response
		switch {
		case rt.Method == http.MethodGet:
			r = c.get(rt.Path)
		case strings.HasPrefix(rt.Path, "/api/"):
			r = c.postRaw(rt.Path, "application/json", "{}")
		default:
			r = c.postRaw(rt.Path, "application/x-www-form-urlencoded", "")
		}
		if strings.HasPrefix(rt.Path, "/api/") {
			if r.Status != http.StatusForbidden || !strings.Contains(r.Body, `"setup_required":true`) || !strings.Contains(r.Body, "requires two-factor authentication") {
				t.Errorf("%s: %d %s; want 403 naming the set-up", key, r.Status, clipBody(r.Body))
			}
		} else if r.Status != http.StatusSeeOther || r.Location() != "/settings/security/2fa/totp" {
			t.Errorf("%s: %d to %q; want the set-up", key, r.Status, r.Location())
		}
	}
	if n < 20 {
		t.Fatalf("only %d routes checked", n)
	}
	// The set-up page says why, and offers no skip without a grace period.
	r := c.get("/settings/security/2fa/totp")
	expect(t, r, http.StatusOK)
	contains(t, r, "This portal requires two-factor authentication", "Get Started")
	if strings.Contains(r.Body, "Skip for now") {
		t.Error("a skip button without a grace period")
	}
	expect(t, c.post("/settings/security/2fa/skip"), http.StatusForbidden)
	r, _ = c.postJSON("/api/v1/2fa/skip", map[string]any{})
	expect(t, r, http.StatusForbidden)
	// The walk: "Time Based Tokens" → "Get Started" → the key → "Verify".
	k, _, _ := c.enable()
	expect(t, c.get("/"), http.StatusOK)
	expect(t, c.get("/settings/security"), http.StatusOK)
	r, m := c.getJSON("/api/v1/me")
	expect(t, r, http.StatusOK)
	if m["two_factor"] != true {
		t.Errorf("me: %v", m)
	}
	// Log out stays reachable, and a later sign-in is not stopped.
	other := h.signup("ann", "Ann")
	expect(t, other.post("/logout"), http.StatusSeeOther, "/login")
	h.nextStep()
	c2 := h.loginPending("joe")
	expect(t, c2.post("/login/code", "code", h.code(k)), http.StatusSeeOther, "/")
	expect(t, c2.get("/"), http.StatusOK)

	// The API alone: sign-up, refused, set-up by the API, then allowed.
	api := h.client()
	r, _ = api.postJSON("/api/v1/signup", map[string]any{"username": "bob", "password": password})
	expect(t, r, http.StatusCreated)
	r, _ = api.getJSON("/api/v1/activity")
	expect(t, r, http.StatusForbidden)
	r, m = api.postJSON("/api/v1/2fa/totp", map[string]any{})
	expect(t, r, http.StatusOK)
	key, err := totp.ParseURI(m["otpauth_uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	h.nextStep()
	r, _ = api.postJSON("/api/v1/2fa/totp/verify", map[string]any{"code": h.code(key)})
	expect(t, r, http.StatusOK)
	r, _ = api.getJSON("/api/v1/activity")
	expect(t, r, http.StatusOK)
}

// TestRequire2FAGrace: during the grace period, counted with the injected
// clock from the account's creation or its first sign-in after the
// setting, each session may skip the set-up; after it, none may.
func TestRequire2FAGrace(t *testing.T) {
	const grace = 14 * 24 * time.Hour
	h := newHarness(t, func(p *portalConfig, _ *webConfig) { p.Require2FA, p.Require2FAGrace = true, grace })
	c := h.signup("joe", "Joe")
	expect(t, c.get("/"), http.StatusSeeOther, "/settings/security/2fa/totp")
	r := c.get("/settings/security/2fa/totp")
	contains(t, r, "Skip for now", `<strong id="days-left">14 days</strong>`)
	expect(t, c.post("/settings/security/2fa/skip"), http.StatusSeeOther, "/?notice=skipped")
	r = c.get("/?notice=skipped")
	expect(t, r, http.StatusOK)
	contains(t, r, "Two-factor set-up postponed")
	expect(t, c.get("/settings/security"), http.StatusOK)
	if !has(h.activity("joe"), "Two-factor set-up postponed") {
		t.Errorf("activity: %v", h.activity("joe"))
	}

	// A new session asks again; the days left count down from creation.
	h.clock.Add(13*24*time.Hour + time.Hour)
	if got := c.again("joe"); got != "/" {
		t.Fatalf("sign-in sent to %s", got)
	}
	expect(t, c.get("/"), http.StatusSeeOther, "/settings/security/2fa/totp")
	contains(t, c.get("/settings/security/2fa/totp"), `<strong id="days-left">1 day</strong>`)
	r, m := c.getJSON("/api/v1/me")
	expect(t, r, http.StatusForbidden)
	if !strings.Contains(m["error"].(string), "skip it for 1 more day") {
		t.Errorf("API refusal: %v", m)
	}
	r, m = c.postJSON("/api/v1/2fa/skip", map[string]any{})
	expect(t, r, http.StatusOK)
	if m["setup_skipped"] != true {
		t.Errorf("skip: %v", m)
	}
	expect(t, c.get("/"), http.StatusOK)

	// The grace ends even for the session that skipped.
	h.clock.Add(23 * time.Minute)
	expect(t, c.get("/"), http.StatusOK)
	h.clock.Add(grace) // well past; the session idles out too: sign in again
	c.again("joe")
	r = c.get("/settings/security/2fa/totp")
	expect(t, r, http.StatusOK)
	if strings.Contains(r.Body, "Skip for now") {
		t.Error("a skip button after the grace period")
	}
	expect(t, c.post("/settings/security/2fa/skip"), http.StatusForbidden)
	expect(t, c.get("/"), http.StatusSeeOther, "/settings/security/2fa/totp")

	// An account made before the setting: its grace starts at its first
	// sign-in under it, not at its creation.
	hash, err := portal.HashPassword(rand.Reader, portal.OWASPParams, password)
	if err != nil {
		t.Fatal(err)
	}
	old := &portal.User{Username: "old", DisplayName: "Old", PasswordHash: hash, CreatedAt: h.clock.Now().Add(-400 * 24 * time.Hour)}
	if err := h.db.CreateUser(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(time.Hour)
	o := h.client()
	if got := o.again("old"); got != "/" {
		t.Fatalf("old account sent to %s", got)
	}
	contains(t, o.get("/settings/security/2fa/totp"), `<strong id="days-left">14 days</strong>`, "Skip for now")
	u, err := h.db.UserByName(t.Context(), "old")
	if err != nil || !u.GraceFrom.Equal(h.clock.Now()) {
		t.Errorf("grace of the old account starts %v (%v), want now", u.GraceFrom, err)
	}
	// Later sign-ins do not restart it.
	h.clock.Add(3 * 24 * time.Hour)
	o.again("old")
	contains(t, o.get("/settings/security/2fa/totp"), `<strong id="days-left">11 days</strong>`)
}

// TestRequire2FASudo: a set-up that needs the password again sends to the
// password prompt, which stays reachable, and back.
func TestRequire2FASudo(t *testing.T) {
	h := newHarness(t, func(p *portalConfig, _ *webConfig) { p.Require2FA = true })
	c := h.signup("joe", "Joe")
	h.clock.Add(15 * time.Minute) // past the sudo window, inside the idle timeout
	r := c.get("/settings/security/2fa/totp")
	expect(t, r, http.StatusSeeOther, "/settings/security/confirm?next=%2Fsettings%2Fsecurity%2F2fa%2Ftotp")
	expect(t, c.get(r.Location()), http.StatusOK)
	expect(t, c.post("/settings/security/confirm", "password", password, "next", "/settings/security/2fa/totp"), http.StatusSeeOther, "/settings/security/2fa/totp")
	expect(t, c.get("/settings/security/2fa/totp"), http.StatusOK)
}
