package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"twofold.dev/server/portal"
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

// Change password: current, new twice; other sessions end, this one stays
// (rotated), the activity says so; the old password stops working.
func TestChangePassword(t *testing.T) {
	h := newHarness(t)
	joe := h.signup("joe", "Joe")
	other := h.client()
	expect(t, other.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")
	const next = "violet-anchor-52 quietly"
	page := joe.get("/settings/security")
	contains(t, page, `action="/settings/security/password"`, `name="current_password"`, `name="new_password_confirm"`)
	for _, tc := range []struct{ cur, n1, n2, want string }{
		{"wrong password here", next, next, "current password is not right"},
		{password, next, next + "x", "do not match"},
		{password, "password1", "password1", "most common"},
		{password, "joejoejoe1", "joejoejoe1", "close to your username"},
	} {
		r := joe.post("/settings/security/password", "current_password", tc.cur, "new_password", tc.n1, "new_password_confirm", tc.n2)
		if r.Status < 400 || !strings.Contains(r.Body, tc.want) || strings.Contains(r.Body, tc.n1) {
			t.Errorf("change %q: %d, want a refusal saying %q\n%s", tc.n1, r.Status, tc.want, clipBody(r.Body))
		}
	}
	expect(t, other.get("/"), http.StatusOK) // refusals ended nothing
	before := joe.c.Jar.Cookies(mustURL(t, h.ts.URL))
	r := joe.post("/settings/security/password", "current_password", password, "new_password", next, "new_password_confirm", next)
	expect(t, r, http.StatusSeeOther, "/settings/security?notice=password")
	after := joe.c.Jar.Cookies(mustURL(t, h.ts.URL))
	if len(before) == 0 || len(after) == 0 || before[0].Value == after[0].Value {
		t.Error("the session was not rotated")
	}
	contains(t, joe.get("/settings/security?notice=password"), "Your password was changed", "Password changed")
	expect(t, other.get("/"), http.StatusSeeOther, "/login")
	expect(t, h.client().post("/login", "username", "joe", "password", password), http.StatusUnauthorized)
	expect(t, h.client().post("/login", "username", "joe", "password", next), http.StatusSeeOther, "/")
	if strings.Contains(h.logs.String(), next) || strings.Contains(h.logs.String(), password) {
		t.Error("a password is in the log")
	}

	// The JSON API does the same.
	api := h.client()
	expect(t, api.post("/login", "username", "joe", "password", next), http.StatusSeeOther, "/")
	r, body := api.postJSON("/api/v1/password", map[string]any{"current_password": next, "new_password": "12345678"})
	if r.Status != http.StatusBadRequest || !strings.Contains(body["error"].(string), "sequence") {
		t.Errorf("API weak password: %d %v", r.Status, body)
	}
	r, body = api.postJSON("/api/v1/password", map[string]any{"current_password": next, "new_password": "granite owl 7 ferns"})
	if r.Status != http.StatusOK || body["password_changed"] != true {
		t.Errorf("API change: %d %v", r.Status, body)
	}
	expect(t, joe.get("/"), http.StatusSeeOther, "/login")
	expect(t, api.get("/"), http.StatusOK)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Weak passwords are refused at sign-up in words a customer understands;
// an existing account with a weak password still signs in.
func TestWeakPasswordsRefused(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	for pw, want := range map[string]string{
		"weak3weak3": "close to your username", "aaaaaaaa": "repeated", "12345678": "sequence",
		"        ": "repeated", "iloveyou": "most common", "short": "at least 8",
	} {
		r := c.post("/signup", "username", "weak3", "display_name", "Weak", "password", pw, "password_confirm", pw)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, want) {
			t.Errorf("sign-up with %q: %d, want 400 saying %q", pw, r.Status, want)
		}
	}
	r, body := c.postJSON("/api/v1/signup", map[string]any{"username": "weak3", "password": "weak3weak3", "display_name": "W"})
	if r.Status != http.StatusBadRequest || !strings.Contains(body["error"].(string), "username") {
		t.Errorf("API sign-up weak3weak3: %d %v", r.Status, body)
	}
	// An account made before the rule, with a weak password, keeps working.
	hash, err := portal.HashPassword(rand.Reader, portal.OWASPParams, "aaaaaaaa")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.CreateUser(t.Context(), &portal.User{Username: "old", DisplayName: "Old", PasswordHash: hash, CreatedAt: h.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	expect(t, h.client().post("/login", "username", "old", "password", "aaaaaaaa"), http.StatusSeeOther, "/")
}

// Passwords are NFKC-normalised: the full-width form signs in as the
// ASCII form; a hash made before normalisation still matches.
func TestPasswordNormalised(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	const fullWidth = "Ｔｕｌｉｐ－ｏｒｂｉｔ－９３"
	expect(t, c.post("/signup", "username", "ann", "display_name", "Ann", "password", fullWidth, "password_confirm", fullWidth), http.StatusSeeOther, "/")
	expect(t, h.client().post("/login", "username", "ann", "password", "Tulip-orbit-93"), http.StatusSeeOther, "/")
	expect(t, h.client().post("/login", "username", "ann", "password", fullWidth), http.StatusSeeOther, "/")
	hash, err := portal.HashPassword(rand.Reader, portal.OWASPParams, "ｏｌｄ ｐａｓｓ ｗｏｒｄ")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.CreateUser(t.Context(), &portal.User{Username: "old", DisplayName: "Old", PasswordHash: hash, CreatedAt: h.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	expect(t, h.client().post("/login", "username", "old", "password", "ｏｌｄ ｐａｓｓ ｗｏｒｄ"), http.StatusSeeOther, "/")
}

// NIST SP 800-63B 5.2.2: a right password never sets or keeps a lock for
// its client (19 failures from one address for unknown names, then the
// right password, twice).
func TestRightPasswordNeverLocksItsClient(t *testing.T) {
	h := newHarness(t)
	h.signup("joe", "Joe")
	c := h.client()
	for i := range 19 {
		r := c.post("/login", "username", fmt.Sprintf("nobody%d", i), "password", "wrong password")
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.Status)
		}
	}
	for i := range 3 {
		if r := h.client().post("/login", "username", "joe", "password", password); r.Status != http.StatusSeeOther {
			t.Fatalf("right password %d after 19 failures from the address: %d\n%s", i+1, r.Status, clipBody(r.Body))
		}
	}
}

// Failures decay: after the window without attempts, the counter starts
// again.
func TestFailuresDecay(t *testing.T) {
	h := newHarness(t)
	h.signup("joe", "Joe")
	c := h.client()
	for range 5 {
		c.post("/login", "username", "joe", "password", "wrong password")
	}
	expect(t, c.post("/login", "username", "joe", "password", "wrong password"), http.StatusTooManyRequests)
	h.clock.Add(25 * time.Hour)
	expect(t, c.post("/login", "username", "joe", "password", "wrong password"), http.StatusUnauthorized)
	for range 3 {
		expect(t, c.post("/login", "username", "joe", "password", "wrong password"), http.StatusUnauthorized)
	}
}

// The device cookie: guesses from unknown clients lock unknown clients
// only; the owner's browser, which signed in before, still gets in, and
// the owner's signed-in session can still confirm the password.
func TestDeviceCookieKeepsOwnerIn(t *testing.T) {
	h := newHarness(t)
	owner := h.signup("joe", "Joe")
	var device *http.Cookie
	for _, ck := range owner.c.Jar.Cookies(mustURL(t, h.ts.URL)) {
		if ck.Name == "twofold_device" {
			device = ck
		}
	}
	if device == nil || !strings.HasPrefix(device.Value, "v1.") {
		t.Fatalf("no device cookie after sign-up: %v", owner.c.Jar.Cookies(mustURL(t, h.ts.URL)))
	}
	signedIn := h.client()
	expect(t, signedIn.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")
	expect(t, owner.post("/logout"), http.StatusSeeOther, "/login")

	attacker := h.client()
	for range 5 {
		expect(t, attacker.post("/login", "username", "joe", "password", "guess guess"), http.StatusUnauthorized)
	}
	expect(t, attacker.post("/login", "username", "joe", "password", "guess guess"), http.StatusTooManyRequests)
	expect(t, h.client().post("/login", "username", "joe", "password", password), http.StatusTooManyRequests) // unknown client
	expect(t, owner.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")        // known device
	// A forged cookie is an unknown client.
	forged := h.client()
	forged.c.Jar.SetCookies(mustURL(t, h.ts.URL), []*http.Cookie{{Name: "twofold_device", Value: device.Value[:len(device.Value)-2] + "AA", Path: "/"}})
	expect(t, forged.post("/login", "username", "joe", "password", password), http.StatusTooManyRequests)
	h.clock.Add(11 * time.Minute)
	expect(t, signedIn.post("/settings/security/confirm", "password", password, "next", "/settings/security"), http.StatusSeeOther, "/settings/security")

	// The known device has its own budget too.
	for range 10 {
		expect(t, owner.post("/login", "username", "joe", "password", "owner typo"), http.StatusUnauthorized)
	}
	expect(t, owner.post("/login", "username", "joe", "password", password), http.StatusTooManyRequests)
}

// Sign-up is limited per address, taken names included.
func TestSignupLimitedPerAddress(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	for i := range 10 {
		r := c.post("/signup", "username", "user"+string(rune('a'+i)), "display_name", "U", "password", password, "password_confirm", password)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("sign-up %d: %d", i+1, r.Status)
		}
	}
	r := h.client().post("/signup", "username", "usera", "display_name", "U", "password", password, "password_confirm", password)
	expect(t, r, http.StatusTooManyRequests)
	contains(t, r, "Too many attempts")
	h.clock.Add(2 * time.Hour)
	expect(t, h.client().post("/signup", "username", "userz", "display_name", "U", "password", password, "password_confirm", password), http.StatusSeeOther, "/")
}

// A used recovery code submitted again is refused as used and never
// counted as a failure: ten duplicates do not lock the owner.
func TestDuplicateRecoveryCodeNotAFailure(t *testing.T) {
	h := newHarness(t)
	joe := h.signup("joe", "Joe")
	_, codes, _ := joe.enable()
	a := h.loginPending("joe")
	expect(t, a.post("/login/recovery", "recovery_code", codes[0]), http.StatusSeeOther)
	b := h.loginPending("joe")
	for range 10 {
		r := b.post("/login/recovery", "recovery_code", codes[0])
		expect(t, r, http.StatusUnauthorized)
		contains(t, r, "already used")
	}
	expect(t, b.post("/login/recovery", "recovery_code", codes[1]), http.StatusSeeOther)
}

// A deleted user's counters go with it: a new account of the same name
// starts unlocked; the server prunes stale counters.
func TestCountersGoWithUserAndArePruned(t *testing.T) {
	h := newHarness(t)
	h.signup("joe", "Joe")
	c := h.client()
	for range 6 {
		c.post("/login", "username", "joe", "password", "wrong password")
	}
	if err := h.svc.DeleteUser(t.Context(), "joe"); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(2 * time.Hour) // past the sign-up limit's window
	h.signup("joe", "Joe again")
	expect(t, h.client().post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")
	// Distinct names from distinct addresses: two counters each.
	for i := range 120 {
		if _, err := h.svc.Login(t.Context(), fmt.Sprintf("ghost%d", i), "wrong password", fmt.Sprintf("2001:db8:%x::1", i), ""); portal.ErrorCode(err) != portal.EUNAUTHORIZED {
			t.Fatalf("ghost %d: %v", i, err)
		}
	}
	before, err := h.db.CountAttempts(t.Context())
	if err != nil || before < 100 {
		t.Fatalf("counters before pruning: %d %v", before, err)
	}
	h.clock.Add(25 * time.Hour)
	if err := h.svc.DeleteExpiredSessions(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after, err := h.db.CountAttempts(t.Context()); err != nil || after != 0 {
		t.Errorf("counters after a day: %d %v, want 0 (was %d)", after, err, before)
	}
}

// The pending key of an unfinished set-up expires after an hour; "Get
// Started" then gives a new key, and the old one no longer verifies.
func TestPendingKeyExpires(t *testing.T) {
	h := newHarness(t)
	joe := h.signup("joe", "Joe")
	k1 := joe.startEnrollment()
	// Move the clock in steps the session survives (idle timeout 30 min).
	wait := func(d time.Duration) {
		for ; d > 0; d -= 20 * time.Minute {
			h.clock.Add(min(d, 20*time.Minute))
			expect(t, joe.get("/"), http.StatusOK)
		}
	}
	wait(30 * time.Minute)
	expect(t, joe.post("/settings/security/confirm", "password", password, "next", "/settings/security"), http.StatusSeeOther)
	if k := joe.startEnrollment(); !bytes.Equal(k.Secret, k1.Secret) {
		t.Fatal("the key changed within the hour")
	}
	wait(31 * time.Minute)
	expect(t, joe.post("/settings/security/confirm", "password", password, "next", "/settings/security"), http.StatusSeeOther)
	r := joe.post("/settings/security/2fa/totp/verify", "code", h.code(k1))
	expect(t, r, http.StatusNotFound)
	contains(t, r, "expired after an hour")
	k2 := joe.startEnrollment()
	if bytes.Equal(k2.Secret, k1.Secret) {
		t.Fatal("the same key after it expired")
	}
	h.nextStep()
	r = joe.post("/settings/security/2fa/totp/verify", "code", h.code(k2))
	expect(t, r, http.StatusOK)
	if len(recoveryCodes(t, r)) != 10 {
		t.Error("no recovery codes")
	}
}

// Finishing enrollment is one transaction: a failure after the switch
// (here, writing the activity entry) leaves two-factor authentication off
// and no recovery codes, and the same key still verifies afterwards.
func TestEnrollmentIsOneTransaction(t *testing.T) {
	var failEvents bool
	var mu sync.Mutex
	h := newHarnessStore(t, func(s portal.Store) portal.Store {
		return &failingEvents{Store: s, fail: func() bool { mu.Lock(); defer mu.Unlock(); return failEvents }}
	})
	joe := h.signup("joe", "Joe")
	k := joe.startEnrollment()
	mu.Lock()
	failEvents = true
	mu.Unlock()
	r := joe.post("/settings/security/2fa/totp/verify", "code", h.code(k))
	expect(t, r, http.StatusInternalServerError)
	u, err := h.db.UserByName(t.Context(), "joe")
	if err != nil {
		t.Fatal(err)
	}
	if u.TwoFactor() || u.TOTPPending == nil {
		t.Fatalf("after a failed finish: 2FA on %v, pending %v", u.TwoFactor(), u.TOTPPending != nil)
	}
	if n, err := h.db.CountRecoveryCodes(t.Context(), u.ID); err != nil || n != 0 {
		t.Errorf("recovery codes after a failed finish: %d %v", n, err)
	}
	mu.Lock()
	failEvents = false
	mu.Unlock()
	r = joe.post("/settings/security/2fa/totp/verify", "code", h.code(k))
	expect(t, r, http.StatusOK)
	if len(recoveryCodes(t, r)) != 10 {
		t.Error("no recovery codes on the retry")
	}
}

// failingEvents fails AddEvent when fail says so, inside transactions too.
type failingEvents struct {
	portal.Store
	fail func() bool
}

func (f *failingEvents) AddEvent(ctx context.Context, e *portal.Event) error {
	if f.fail() {
		return errors.New("injected: activity write failed")
	}
	return f.Store.AddEvent(ctx, e)
}

func (f *failingEvents) Atomic(ctx context.Context, fn func(portal.Store) error) error {
	return f.Store.Atomic(ctx, func(tx portal.Store) error { return fn(&failingEvents{Store: tx, fail: f.fail}) })
}

// The answer that turns two-factor authentication on is lost (the browser
// never gets it): the next sign-in with a code shows the same recovery
// codes, once; after a delivered answer, sign-in shows none.
func TestLostEnrollmentAnswerShowsCodesAtNextSignIn(t *testing.T) {
	h := newHarness(t)
	joe := h.signup("joe", "Joe")
	k := joe.startEnrollment()
	// The verify request is sent without the browser's cookie jar seeing
	// the answer: as if the connection dropped after the commit.
	lost := &client{h: h, c: &http.Client{Transport: joe.c.Transport, CheckRedirect: joe.c.CheckRedirect}, url: joe.url} // no jar
	req, err := http.NewRequest(http.MethodPost, h.ts.URL+"/settings/security/2fa/totp/verify", strings.NewReader(url.Values{"code": {h.code(k)}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range joe.c.Jar.Cookies(mustURL(t, h.ts.URL)) {
		req.AddCookie(ck)
	}
	r := lost.do(req)
	expect(t, r, http.StatusOK)
	sent := recoveryCodes(t, r) // what the server sent; the user never saw it

	// The old session was replaced: the browser signs in again.
	expect(t, joe.get("/"), http.StatusSeeOther, "/login")
	h.nextStep()
	expect(t, joe.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/login/code")
	r = joe.post("/login/code", "code", h.code(k))
	expect(t, r, http.StatusOK)
	contains(t, r, "may not have reached you")
	if got := recoveryCodes(t, r); strings.Join(got, ",") != strings.Join(sent, ",") {
		t.Errorf("codes shown again %v, want the enrollment's %v", got, sent)
	}
	// This answer arrived (the next request proves it): not shown again.
	expect(t, joe.get("/"), http.StatusOK)
	expect(t, joe.post("/logout"), http.StatusSeeOther, "/login")
	h.nextStep()
	expect(t, joe.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/login/code")
	expect(t, joe.post("/login/code", "code", h.code(k)), http.StatusSeeOther, "/")

	// A normal enrollment: the codes page's next request clears them.
	ann := h.signup("ann", "Ann")
	ka, _, _ := ann.enable()
	expect(t, ann.get("/"), http.StatusOK)
	expect(t, ann.post("/logout"), http.StatusSeeOther, "/login")
	h.nextStep()
	expect(t, ann.post("/login", "username", "ann", "password", password), http.StatusSeeOther, "/login/code")
	expect(t, ann.post("/login/code", "code", h.code(ka)), http.StatusSeeOther, "/")
}
