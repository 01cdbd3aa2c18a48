package cluster

import (
	"context"
	"net/http"
	"testing"
	"time"

	"twofold.dev/server/portal"
	"twofold.dev/shared/totp"
)

// Issue 13's points that are not store behaviours, on PostgreSQL (the web
// tests run them on SQLite): two instances, one injected clock.

// "Log out other sessions" needs the password entered recently, on
// whichever instance the request lands.
func TestLogoutOthersNeedsRecentPasswordOnPostgres(t *testing.T) {
	ctx := context.Background()
	clk := &sharedClock{t: time.Date(2026, 9, 2, 9, 0, 1, 0, time.UTC)}
	insts := startInProcess(t, 2, newDatabase(t, pg), clk.Now)
	a, b := insts[0].URL, insts[1].URL
	joe := NewClient(nil)
	must(t, joe.SignUp(ctx, a, "joe", password))
	other := NewClient(nil)
	if _, err := other.Login(ctx, b, "joe", password); err != nil {
		t.Fatal(err)
	}
	clk.Add(11 * time.Minute) // past the sudo window
	r, err := joe.Post(ctx, b, "/api/v1/sessions/logout-others", nil)
	wantStatus(t, "logout-others without a recent password", r, err, http.StatusForbidden)
	if r.Body["reauth"] != true {
		t.Errorf("logout-others without a recent password: %v, want reauth", r.Body)
	}
	if got := me(t, other, a); got != http.StatusOK {
		t.Fatalf("the other session after a refused logout-others: %d, want 200", got)
	}
	r, err = joe.Post(ctx, a, "/api/v1/confirm-password", map[string]string{"password": password})
	wantStatus(t, "confirm password", r, err, http.StatusOK)
	r, err = joe.Post(ctx, b, "/api/v1/sessions/logout-others", nil)
	wantStatus(t, "logout-others after confirming", r, err, http.StatusOK)
	if got := me(t, other, a); got != http.StatusUnauthorized {
		t.Errorf("the other session after logout-others: %d, want 401", got)
	}
}

// HEAD is answered like GET, without a body.
func TestHeadLikeGetOnPostgres(t *testing.T) {
	ctx := context.Background()
	clk := &sharedClock{t: time.Date(2026, 9, 2, 9, 0, 1, 0, time.UTC)}
	base := startInProcess(t, 1, newDatabase(t, pg), clk.Now)[0].URL
	c := NewClient(nil)
	must(t, c.SignUp(ctx, base, "ann", password))
	for _, path := range []string{"/", "/login", "/signup", "/settings/security", "/healthz", "/static/portal.css", "/nope"} {
		get, err := c.Get(ctx, base, path)
		must(t, err)
		head, err := c.Do(ctx, http.MethodHead, base, path, nil)
		must(t, err)
		if head.Status != get.Status || len(head.Raw) != 0 || len(get.Raw) == 0 {
			t.Errorf("HEAD %s: %d with %d bytes; GET: %d with %d bytes", path, head.Status, len(head.Raw), get.Status, len(get.Raw))
		}
	}
}

// An issuer with URI metacharacters, spaces and Unicode round-trips
// through the key URI, and the secret is the random one.
func TestIssuerRoundTripsOnPostgres(t *testing.T) {
	ctx := context.Background()
	clk := &sharedClock{t: time.Date(2026, 9, 2, 9, 0, 1, 0, time.UTC)}
	const issuer = "Acme&secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA #1 100% +/? Zürich ✓"
	base := startInProcess(t, 1, newDatabase(t, pg), clk.Now, func(c *portal.Config) { c.Issuer = issuer })[0].URL
	c := NewClient(nil)
	must(t, c.SignUp(ctx, base, "ivo", password))
	r, err := c.Post(ctx, base, "/api/v1/2fa/totp", nil)
	wantStatus(t, "start enrollment", r, err, http.StatusOK)
	uri, _ := r.Body["otpauth_uri"].(string)
	k, err := totp.ParseURI(uri)
	must(t, err)
	if k.Issuer != issuer || k.Account != "ivo" || k.SecretBase32() == "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" || k.SecretBase32() != r.Body["secret"] {
		t.Errorf("the key URI reads back issuer %q account %q secret %s (shown %v), want %q, ivo and the random secret", k.Issuer, k.Account, k.SecretBase32(), r.Body["secret"], issuer)
	}
	// The portal verifies the key the URI carries.
	code, err := k.HOTPCode(k.Step(clk.Now()))
	must(t, err)
	r, err = c.Post(ctx, base, "/api/v1/2fa/totp/verify", map[string]string{"code": code})
	wantStatus(t, "verify with the URI's key", r, err, http.StatusOK)
}
