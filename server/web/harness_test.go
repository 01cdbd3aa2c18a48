package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/server/sqlite"
	"twofold.dev/server/web"
	"twofold.dev/shared/totp"
)

// clock is the injected clock: tests move it, they never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects the log output of concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// t0 is one second into a 30 s time step.
var t0 = time.Date(2026, 9, 2, 9, 0, 1, 0, time.UTC)

type harness struct {
	t     *testing.T
	dir   string
	db    *sqlite.DB
	svc   *portal.Service
	srv   *web.Server
	ts    *httptest.Server
	clock *clock
	logs  *syncBuffer
	keys  *portal.Keys
}

type option func(*portal.Config, *web.Config)

// newHarness serves a portal on a real SQLite file in a temp dir, with the
// real argon2id parameters and an injected clock.
func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	return newHarnessStore(t, nil, opts...)
}

// newHarnessStore is newHarness with the service on wrap(db) when wrap is
// not nil.
func newHarnessStore(t *testing.T, wrap func(portal.Store) portal.Store, opts ...option) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: &clock{t: t0}, logs: &syncBuffer{}}
	db, err := sqlite.Open(context.Background(), filepath.Join(h.dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	master, err := portal.LoadOrCreateKeyFile(rand.Reader, filepath.Join(h.dir, "secret.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := portal.NewKeys(master)
	if err != nil {
		t.Fatal(err)
	}
	h.keys = keys
	cfg := portal.DefaultConfig()
	wcfg := web.Config{}
	for _, o := range opts {
		o(&cfg, &wcfg)
	}
	var store portal.Store = db
	if wrap != nil {
		store = wrap(db)
	}
	if h.svc, err = portal.NewService(store, keys, cfg, h.clock.Now, rand.Reader); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if h.srv, err = web.NewServer(wcfg, h.svc, logger); err != nil {
		t.Fatal(err)
	}
	h.ts = httptest.NewServer(h.srv)
	t.Cleanup(h.ts.Close)
	return h
}

// client is one browser: its own cookie jar, no automatic redirects.
type client struct {
	h   *harness
	c   *http.Client
	url string
}

func (h *harness) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	// ts.Client() is shared: each browser gets its own client and jar.
	c := &http.Client{
		Transport:     h.ts.Client().Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &client{h: h, c: c, url: h.ts.URL}
}

type response struct {
	Status int
	Header http.Header
	Body   string
}

func (r *response) Location() string { return r.Header.Get("Location") }

func (c *client) do(req *http.Request) *response {
	c.h.t.Helper()
	resp, err := c.c.Do(req)
	if err != nil {
		c.h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.h.t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func (c *client) get(path string) *response {
	c.h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.url+path, nil)
	if err != nil {
		c.h.t.Fatal(err)
	}
	return c.do(req)
}

func (c *client) postRaw(path, contentType, body string, header ...string) *response {
	c.h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url+path, strings.NewReader(body))
	if err != nil {
		c.h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

func (c *client) post(path string, kv ...string) *response {
	c.h.t.Helper()
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return c.postRaw(path, "application/x-www-form-urlencoded", v.Encode())
}

func (c *client) postJSON(path string, body any) (*response, map[string]any) {
	c.h.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.h.t.Fatal(err)
	}
	r := c.postRaw(path, "application/json", string(b))
	return r, decode(c.h.t, r)
}

func (c *client) getJSON(path string) (*response, map[string]any) {
	c.h.t.Helper()
	r := c.get(path)
	return r, decode(c.h.t, r)
}

func decode(t *testing.T, r *response) map[string]any {
	t.Helper()
	if r.Status == http.StatusNoContent {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("response is not JSON (%d): %v\n%s", r.Status, err, r.Body)
	}
	return m
}

// expect checks the status and, when given, a redirect target.
func expect(t *testing.T, r *response, status int, location ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d\n%s", r.Status, status, clipBody(r.Body))
	}
	if len(location) > 0 && r.Location() != location[0] {
		t.Fatalf("redirect to %q, want %q", r.Location(), location[0])
	}
}

func clipBody(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

func contains(t *testing.T, r *response, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(r.Body, w) {
			t.Errorf("page lacks %q\n%s", w, clipBody(r.Body))
		}
	}
}

const password = "correct horse battery staple"

// signup creates Joe and returns his signed-in client.
func (h *harness) signup(name, display string) *client {
	h.t.Helper()
	c := h.client()
	r := c.post("/signup", "username", name, "display_name", display, "password", password, "password_confirm", password)
	expect(h.t, r, http.StatusSeeOther, "/")
	return c
}

var (
	secretRE   = regexp.MustCompile(`<code id="secret" class="secret">([A-Z2-7 ]+)</code>`)
	recoveryRE = regexp.MustCompile(`(?s)<div id="recovery-codes"[^>]*>(.*?)</div>`)
	codeRE     = regexp.MustCompile(`<code>([a-z0-9-]+)</code>`)
)

// enroll walks Security Settings to the set-up page and returns the key.
func (c *client) startEnrollment() *totp.Key {
	t := c.h.t
	t.Helper()
	expect(t, c.get("/settings/security/2fa"), http.StatusOK)
	expect(t, c.post("/settings/security/2fa/totp/start"), http.StatusSeeOther, "/settings/security/2fa/totp/setup")
	r := c.get("/settings/security/2fa/totp/setup")
	expect(t, r, http.StatusOK)
	m := secretRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no key on the set-up page:\n%s", clipBody(r.Body))
	}
	secret, err := totp.DecodeSecret(strings.ReplaceAll(m[1], " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return &totp.Key{Type: totp.TOTP, Issuer: "Twofold Portal", Account: "joe", Secret: secret, Algorithm: totp.SHA1, Digits: 6, Period: 30}
}

func recoveryCodes(t *testing.T, r *response) []string {
	t.Helper()
	m := recoveryRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no #recovery-codes:\n%s", clipBody(r.Body))
	}
	var codes []string
	for _, c := range codeRE.FindAllStringSubmatch(m[1], -1) {
		codes = append(codes, c[1])
	}
	return codes
}

// enable turns 2FA on for the signed-in client; it returns the key, the
// recovery codes and the code used.
func (c *client) enable() (*totp.Key, []string, string) {
	t := c.h.t
	t.Helper()
	k := c.startEnrollment()
	code := c.h.code(k)
	r := c.post("/settings/security/2fa/totp/verify", "code", code)
	expect(t, r, http.StatusOK)
	codes := recoveryCodes(t, r)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(codes))
	}
	// The browser goes on (its next request proves the codes arrived, or
	// the next sign-in would show them again).
	expect(t, c.get("/"), http.StatusOK)
	return k, codes, code
}

func (h *harness) code(k *totp.Key) string {
	h.t.Helper()
	code, err := k.Code(h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return code
}

// login signs in with the password and expects the code prompt.
func (h *harness) loginPending(name string) *client {
	h.t.Helper()
	c := h.client()
	expect(h.t, c.post("/login", "username", name, "password", password), http.StatusSeeOther, "/login/code")
	return c
}

// nextStep moves the clock into the next time step.
func (h *harness) nextStep() { h.clock.Add(30 * time.Second) }

type (
	portalConfig = portal.Config
	webConfig    = web.Config
)

// wrongCode is a well-formed code that matches none of the steps the
// portal accepts now.
func (h *harness) wrongCode(k *totp.Key) string {
	h.t.Helper()
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", n*111111%1000000)
		if _, ok := k.Verify(c, h.clock.Now(), totp.DefaultSkew+1); !ok {
			return c
		}
	}
}
