package web_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"twofold.dev/server/portal"
	"twofold.dev/server/sqlite"
	"twofold.dev/server/web"
)

// public routes are reachable without a full sign-in.
var public = map[string]bool{
	"GET /healthz": true, "GET /static/portal.css": true, "HEAD /static/portal.css": true,
	"GET /signup": true, "POST /signup": true, "GET /login": true, "POST /login": true,
	"GET /login/code": true, "POST /login/code": true, "GET /login/recovery": true, "POST /login/recovery": true,
	"POST /logout":        true,
	"POST /api/v1/signup": true, "POST /api/v1/login": true, "POST /api/v1/login/code": true, "POST /api/v1/logout": true,
	// Mail links: the token is the proof, from any browser.
	"GET /email/confirm": true, "POST /email/confirm": true, "POST /api/v1/email/confirm": true,
	"GET /password/forgot": true, "POST /password/forgot": true, "GET /password/reset": true, "POST /password/reset": true,
	"POST /api/v1/password/forgot": true, "POST /api/v1/password/reset": true,
}

func request(t *testing.T, c *client, method, path string) *response {
	t.Helper()
	var body, ctype string
	if method == http.MethodPost {
		ctype, body = "application/x-www-form-urlencoded", "code=123456"
		if strings.HasPrefix(path, "/api/") {
			ctype, body = "application/json", `{}`
		}
	}
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return c.do(req)
}

// TestHalfSignedInReachesNothing: a session that passed only the password
// gets nothing but the code pages and logout, on every route.
func TestHalfSignedInReachesNothing(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	c.enable()
	p := h.loginPending("joe")

	routes := h.srv.Routes()
	if len(routes) < 30 {
		t.Fatalf("only %d routes", len(routes))
	}
	checked := 0
	for _, rt := range routes {
		name := rt.Method + " " + rt.Path
		if public[name] {
			continue
		}
		checked++
		r := request(t, p, rt.Method, rt.Path)
		if strings.HasPrefix(rt.Path, "/api/") {
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", name, r.Status)
			}
		} else if r.Status != http.StatusSeeOther || r.Location() != "/login/code" {
			t.Errorf("%s: status %d to %q, want 303 to /login/code", name, r.Status, r.Location())
		}
		if strings.Contains(r.Body, "Hello,") {
			t.Errorf("%s shows the account menu", name)
		}
	}
	// Public pages do not treat the half session as signed in.
	for _, path := range []string{"/login", "/signup", "/login/code", "/login/recovery"} {
		if r := p.get(path); r.Status != http.StatusOK || strings.Contains(r.Body, "Hello,") {
			t.Errorf("GET %s: %d, menu shown = %v", path, r.Status, strings.Contains(r.Body, "Hello,"))
		}
	}
	if checked < 20 {
		t.Errorf("checked only %d routes", checked)
	}
	// Without any session, the same routes send to the login page.
	anon := h.client()
	for _, rt := range routes {
		if public[rt.Method+" "+rt.Path] {
			continue
		}
		r := request(t, anon, rt.Method, rt.Path)
		if strings.HasPrefix(rt.Path, "/api/") && r.Status != http.StatusUnauthorized ||
			!strings.HasPrefix(rt.Path, "/api/") && r.Location() != "/login" {
			t.Errorf("anonymous %s %s: %d %q", rt.Method, rt.Path, r.Status, r.Location())
		}
	}
}

func TestCrossOriginRefused(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	routes := h.srv.Routes()
	for _, hdr := range [][]string{
		{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "same-site"},
	} {
		n := 0
		for _, rt := range routes {
			if rt.Method != http.MethodPost {
				continue
			}
			n++
			ctype := "application/x-www-form-urlencoded"
			if strings.HasPrefix(rt.Path, "/api/") {
				ctype = "application/json"
			}
			r := c.postRaw(rt.Path, ctype, "", hdr...)
			if r.Status != http.StatusForbidden {
				t.Errorf("POST %s with %v: status %d, want 403", rt.Path, hdr, r.Status)
			}
			if !strings.Contains(r.Body, "came from another site") {
				t.Errorf("POST %s: no clear message: %s", rt.Path, clipBody(r.Body))
			}
		}
		if n < 15 {
			t.Fatalf("only %d POST routes", n)
		}
	}
	// Still signed in: the refused logout did nothing.
	expect(t, c.get("/"), http.StatusOK)
	// Same-origin browser requests pass.
	r := c.postRaw("/logout", "application/x-www-form-urlencoded", "", "Sec-Fetch-Site", "same-origin")
	expect(t, r, http.StatusSeeOther, "/login")
	// Safe methods are not refused.
	req, _ := http.NewRequest(http.MethodGet, c.url+"/login", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	expect(t, c.do(req), http.StatusOK)
}

// TestBadInput: wrong types, huge bodies, unknown fields, non-UTF-8: each
// gets a 4xx with a clear message, never a 500.
func TestBadInput(t *testing.T) {
	h := newHarness(t)
	fresh := h.signup("ann", "Ann")
	r := fresh.post("/settings/security/2fa/totp/verify", "code", "123456")
	expect(t, r, http.StatusNotFound)
	contains(t, r, "no set-up in progress")
	signedIn := h.signup("joe", "Joe")
	signedIn.startEnrollment()
	anon := h.client()
	huge := strings.Repeat("a", 200<<10)
	form := "application/x-www-form-urlencoded"
	js := "application/json"
	tests := []struct {
		name, path, ctype, body string
		signedIn                bool
		status                  int
		want                    string
	}{
		{"non-UTF-8 username", "/login", form, "username=%ff%fe&password=x", false, 400, "not valid UTF-8"},
		{"non-UTF-8 password", "/signup", form, "username=bob&display_name=Bob&password=%c3%28aaaaaaaa&password_confirm=%c3%28aaaaaaaa", false, 400, "not valid UTF-8"},
		{"unknown field", "/login", form, "username=joe&password=x&admin=1", false, 400, "unknown field"},
		{"repeated field", "/login", form, "username=joe&username=ann&password=x", false, 400, "more than once"},
		{"bad escape", "/login", form, "username=%zz&password=x", false, 400, "could not be read"},
		{"huge body", "/login", form, "username=" + huge, false, 413, "too large"},
		{"huge field", "/login", form, "username=" + strings.Repeat("a", 5000) + "&password=x", false, 400, "too long"},
		{"JSON to a form", "/login", js, `{"username":"joe"}`, false, 415, "x-www-form-urlencoded"},
		{"missing fields", "/login", form, "", false, 400, "Enter your username and password."},
		{"empty username", "/signup", form, "username=&display_name=A&password=aaaaaaaaaa&password_confirm=aaaaaaaaaa", false, 400, "username"},
		{"bad username", "/signup", form, "username=%3Cscript%3E&display_name=A&password=aaaaaaaaaa&password_confirm=aaaaaaaaaa", false, 400, "username"},
		{"short password", "/signup", form, "username=bob&display_name=Bob&password=short&password_confirm=short", false, 400, "at least 8"},
		{"passwords differ", "/signup", form, "username=bob&display_name=Bob&password=aaaaaaaaaa&password_confirm=bbbbbbbbbb", false, 400, "do not match"},
		{"control char in name", "/signup", form, "username=bob&display_name=A%07n&password=aaaaaaaaaa&password_confirm=aaaaaaaaaa", false, 400, "control characters"},
		{"taken username", "/signup", form, "username=JOE&display_name=J&password=tulip-orbit-93&password_confirm=tulip-orbit-93", false, 409, "taken"},
		{"letters as code", "/settings/security/2fa/totp/verify", form, "code=abcdef", true, 400, "6-digit code"},
		{"long code", "/settings/security/2fa/totp/verify", form, "code=1234567890", true, 400, "6-digit code"},
		{"JSON wrong type", "/api/v1/login", js, `{"username":1,"password":"x"}`, false, 400, `must be a string`},
		{"JSON unknown field", "/api/v1/login", js, `{"username":"joe","password":"x","admin":true}`, false, 400, "unknown field"},
		{"JSON not UTF-8", "/api/v1/login", js, "{\"username\":\"\xff\",\"password\":\"x\"}", false, 400, "not valid UTF-8"},
		{"JSON trailing data", "/api/v1/login", js, `{"username":"joe","password":"x"} {}`, false, 400, "after the JSON object"},
		{"JSON array", "/api/v1/login", js, `[1,2]`, false, 400, "not the JSON object expected"},
		{"JSON empty", "/api/v1/login", js, ``, false, 400, "empty"},
		{"JSON syntax", "/api/v1/login", js, `{"username":`, false, 400, "not the JSON object expected"},
		{"JSON huge", "/api/v1/login", js, `{"username":"` + huge + `"}`, false, 413, "too large"},
		{"form to JSON API", "/api/v1/login", form, "username=joe", false, 415, "application/json"},
		{"JSON code as number", "/api/v1/2fa/totp/verify", js, `{"code":123456}`, true, 400, `must be a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := anon
			if tt.signedIn {
				c = signedIn
			}
			r := c.postRaw(tt.path, tt.ctype, tt.body)
			if r.Status != tt.status {
				t.Errorf("status %d, want %d\n%s", r.Status, tt.status, clipBody(r.Body))
			}
			if !strings.Contains(r.Body, tt.want) {
				t.Errorf("no message %q in\n%s", tt.want, clipBody(r.Body))
			}
			if !strings.HasPrefix(tt.path, "/api/") && !strings.Contains(r.Body, "<form") {
				t.Errorf("the page with its form is not shown again")
			}
		})
	}
	for _, tc := range []struct{ method, path string }{{"PUT", "/login"}, {"DELETE", "/settings/security"}, {"GET", "/nope"}, {"GET", "/api/v1/nope"}} {
		req, _ := http.NewRequest(tc.method, anon.url+tc.path, nil)
		r := anon.do(req)
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s %s: %d", tc.method, tc.path, r.Status)
		}
	}
	if strings.Contains(h.logs.String(), "level=ERROR") {
		t.Errorf("bad input was logged as an internal error:\n%s", h.logs.String())
	}
}

func TestHeaders(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	for _, path := range []string{"/", "/login", "/settings/security", "/nope", "/healthz"} {
		r := c.get(path)
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		if strings.Contains(r.Body, "<script") || strings.Contains(r.Body, " style=") || strings.Contains(r.Body, " on") && strings.Contains(r.Body, "onclick") {
			t.Errorf("%s has inline script or style", path)
		}
	}
	r := c.get("/static/portal.css")
	expect(t, r, http.StatusOK)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Errorf("CSS content type %q", r.Header.Get("Content-Type"))
	}
	if r.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
}

// TestTLSCookie: over TLS the cookie is __Host- prefixed and Secure, also
// behind a trusted proxy that says https, and not for an untrusted one.
func TestTLSCookie(t *testing.T) {
	h := newHarness(t)
	ts := httptest.NewTLSServer(h.srv)
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := &client{h: h, url: ts.URL, c: &http.Client{Transport: ts.Client().Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	r := c.post("/signup", "username", "joe", "display_name", "Joe", "password", password, "password_confirm", password)
	expect(t, r, http.StatusSeeOther, "/")
	ck := r.Header.Get("Set-Cookie")
	if !strings.HasPrefix(ck, "__Host-twofold_session=") || !strings.Contains(ck, "Secure") || !strings.Contains(ck, "HttpOnly") ||
		!strings.Contains(ck, "SameSite=Lax") || !strings.Contains(ck, "Path=/") || strings.Contains(ck, "Domain=") {
		t.Errorf("TLS cookie: %s", ck)
	}
	expect(t, c.get("/"), http.StatusOK)
	if c.get("/").Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}

	for _, tc := range []struct {
		proxies []netip.Prefix
		secure  bool
	}{{[]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, true}, {nil, false}} {
		srv := newServer(t, tc.proxies)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("username=joe&password=x"))
		req.RemoteAddr = "127.0.0.1:5555"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		srv.ServeHTTP(rec, req)
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tc.secure {
			t.Errorf("proxies %v: treated as TLS = %v, want %v", tc.proxies, got, tc.secure)
		}
	}
}

func newServer(t testing.TB, proxies []netip.Prefix) *web.Server {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := portal.NewKeys(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := portal.NewService(db, keys, portal.DefaultConfig(), nil, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{TrustedProxies: proxies}, svc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestClientIP: X-Forwarded-For counts only from a trusted proxy, for the
// activity log and the per-IP limit alike.
func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		proxies []netip.Prefix
		want    string
	}{
		{nil, "127.0.0.1"},
		{[]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "203.0.113.9"},
	} {
		h := newHarness(t, func(_ *portalConfig, w *webConfig) { w.TrustedProxies = tc.proxies })
		c := h.client()
		r := c.postRaw("/signup", "application/x-www-form-urlencoded",
			"username=joe&display_name=Joe&password=tulip-orbit-93&password_confirm=tulip-orbit-93", "X-Forwarded-For", "203.0.113.9")
		expect(t, r, http.StatusSeeOther, "/")
		events, err := h.db.Events(t.Context(), 1, 10)
		if err != nil || len(events) == 0 {
			t.Fatalf("events: %v %v", events, err)
		}
		if events[0].IP != tc.want {
			t.Errorf("proxies %v: activity IP %q, want %q", tc.proxies, events[0].IP, tc.want)
		}
	}
}
