package web_test

import (
	"bytes"
	"encoding/base32"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

// TestFullFlow walks the announcement: sign up, Hello menu, Security
// Settings, enable, scan, verify, recovery codes, log out, log in with a
// code. It also checks that no secret reaches the logs or the database file
// in clear.
func TestFullFlow(t *testing.T) {
	h := newHarness(t)
	c := h.signup("Joe", "Joe")

	r := c.get("/")
	expect(t, r, http.StatusOK)
	contains(t, r, `<summary>Hello, Joe!</summary>`, `>Security Settings</a>`, `>Log out</button>`)

	r = c.get("/settings/security")
	expect(t, r, http.StatusOK)
	contains(t, r, "<h2>Two Factor Authentication</h2>", `href="/settings/security/2fa">Click here to enable</a>`, "Recent security activity", "Account created")

	r = c.get("/settings/security/2fa")
	expect(t, r, http.StatusOK)
	contains(t, r, `href="/settings/security/2fa/totp">Time Based Tokens</a>`)
	r = c.get("/settings/security/2fa/totp")
	expect(t, r, http.StatusOK)
	contains(t, r, `>Get Started</button>`)

	k := c.startEnrollment()
	r = c.get("/settings/security/2fa/totp/setup")
	contains(t, r, `<img id="qr" src="/settings/security/2fa/totp/qr.png"`, `name="code" autocomplete="one-time-code" inputmode="numeric"`,
		`>Verify</button>`, "Twofold Portal: joe")
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("set-up page Cache-Control = %q", r.Header.Get("Cache-Control"))
	}
	// Groups of four for typing by hand.
	if m := secretRE.FindStringSubmatch(r.Body); len(strings.Fields(m[1])) != 8 || len(strings.Fields(m[1])[0]) != 4 {
		t.Errorf("key not in groups of 4: %q", m[1])
	}

	// The QR code says what Google Authenticator needs.
	png := c.get("/settings/security/2fa/totp/qr.png")
	expect(t, png, http.StatusOK)
	if png.Header.Get("Cache-Control") != "no-store" || png.Header.Get("Content-Type") != "image/png" {
		t.Errorf("QR headers: %v", png.Header)
	}
	texts, err := qr.DecodeBytes([]byte(png.Body))
	if err != nil || len(texts) != 1 {
		t.Fatalf("decoding the QR code: %v %v", texts, err)
	}
	got, err := totp.ParseURI(texts[0])
	if err != nil {
		t.Fatal(err)
	}
	if got.Issuer != "Twofold Portal" || got.Account != "joe" || got.Algorithm != totp.SHA1 || got.Digits != 6 || got.Period != 30 || !bytes.Equal(got.Secret, k.Secret) {
		t.Errorf("QR key = %+v, want the page's key %x", got, k.Secret)
	}
	if !strings.HasPrefix(texts[0], "otpauth://totp/Twofold%20Portal:joe?") || !strings.Contains(texts[0], "issuer=Twofold") {
		t.Errorf("otpauth URI = %q", texts[0])
	}

	// A wrong code keeps the same key on offer.
	wrong := h.wrongCode(k)
	r = c.post("/settings/security/2fa/totp/verify", "code", wrong)
	expect(t, r, http.StatusUnauthorized)
	contains(t, r, "That code is not right", "no need to scan again", groupsOf(k))

	enrollCode := h.code(k)
	r = c.post("/settings/security/2fa/totp/verify", "code", enrollCode)
	expect(t, r, http.StatusOK)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("recovery codes page Cache-Control = %q", r.Header.Get("Cache-Control"))
	}
	codes := recoveryCodes(t, r)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(codes))
	}
	contains(t, r, `download="twofold-recovery-codes.txt"`, `href="data:text/plain;charset=utf-8;base64,`)

	r = c.get("/settings/security")
	contains(t, r, "Unused recovery codes: <strong id=\"recovery-left\">10</strong>", "Two-factor authentication turned on")

	expect(t, c.post("/logout"), http.StatusSeeOther, "/login")
	expect(t, c.get("/settings/security"), http.StatusSeeOther, "/login")

	// Log in again: password, then a code; the enrollment code is spent.
	c = h.loginPending("joe")
	r = c.get("/login/code")
	contains(t, r, `name="code" autocomplete="one-time-code" inputmode="numeric"`, `href="/login/recovery">Use a recovery code</a>`)
	r = c.post("/login/code", "code", enrollCode)
	expect(t, r, http.StatusUnauthorized)
	contains(t, r, "already used")
	h.nextStep()
	fresh := h.code(k)
	expect(t, c.post("/login/code", "code", fresh), http.StatusSeeOther, "/")
	r = c.get("/")
	expect(t, r, http.StatusOK)
	contains(t, r, "Hello, Joe!")
	r = c.get("/settings/security")
	contains(t, r, "Reused two-factor code refused", "Signed in", "127.0.0.1")

	// Nothing secret in the logs.
	logs := h.logs.String()
	secrets := append([]string{password, k.SecretBase32(), strings.ToLower(k.SecretBase32()), groupsOf(k), enrollCode, wrong, fresh, texts[0]}, codes...)
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs contain a secret %q", s)
		}
	}
	if !strings.Contains(logs, "path=/login/code") {
		t.Errorf("requests were not logged at all:\n%s", logs)
	}

	// Nothing secret in the database files in clear.
	assertNotInFiles(t, h.dir, append([][]byte{k.Secret, []byte(k.SecretBase32()), []byte(texts[0]), []byte(password)}, bytesOf(codes)...))
}

func groupsOf(k *totp.Key) string {
	s := k.SecretBase32()
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:min(i+4, len(s))])
	}
	return strings.Join(parts, " ")
}

func bytesOf(ss []string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s), []byte(strings.ReplaceAll(s, "-", "")))
	}
	return out
}

// assertNotInFiles greps every database file (with its WAL) for secrets.
func assertNotInFiles(t *testing.T, dir string, secrets [][]byte) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "portal.db*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no database files in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, s) {
				t.Errorf("%s contains a secret in clear: %q", filepath.Base(f), s)
			}
		}
	}
}

func TestSecretsEncryptedAtRest(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	k, codes, _ := c.enable()
	u, err := h.db.UserByName(t.Context(), "joe")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(u.TOTPSecret, k.Secret) || bytes.Contains(u.TOTPSecret, []byte(k.SecretBase32())) {
		t.Error("the stored secret is not encrypted")
	}
	raw32 := base32.StdEncoding.EncodeToString(k.Secret)
	assertNotInFiles(t, h.dir, append([][]byte{k.Secret, []byte(k.SecretBase32()), []byte(raw32), []byte("secret=" + k.SecretBase32())}, bytesOf(codes)...))
	fi, err := os.Stat(filepath.Join(h.dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

func TestReplayIsRefused(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	k, _, enrollCode := c.enable()

	// The code that verified the enrollment cannot sign in, even at once.
	a := h.loginPending("joe")
	r := a.post("/login/code", "code", enrollCode)
	expect(t, r, http.StatusUnauthorized)
	contains(t, r, "That code was already used")

	h.nextStep()
	code := h.code(k)
	expect(t, a.post("/login/code", "code", code), http.StatusSeeOther, "/")
	// The same code in another session, still within its step: refused.
	b := h.loginPending("joe")
	expect(t, b.post("/login/code", "code", code), http.StatusUnauthorized)
	// An older code (previous step, within the skew window): refused too.
	prev, _ := k.Code(h.clock.Now().Add(-30 * time.Second))
	expect(t, b.post("/login/code", "code", prev), http.StatusUnauthorized)

	events, err := h.db.Events(t.Context(), 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	replays := 0
	for _, e := range events {
		if e.Kind == "code_replayed" {
			replays++
		}
	}
	if replays != 3 {
		t.Errorf("%d replays in the activity, want 3", replays)
	}
}

func TestConcurrentSubmissionsOfOneCode(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	k, _, _ := c.enable()
	h.nextStep()

	const n = 50
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = h.loginPending("joe")
	}
	code := h.code(k)
	results := make([]*response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		wg.Go(func() {
			<-start
			results[i] = clients[i].post("/login/code", "code", code)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusSeeOther && r.Location() == "/":
			ok++
		case r.Status == http.StatusUnauthorized || r.Status == http.StatusTooManyRequests:
		default:
			t.Errorf("unexpected answer %d %s", r.Status, r.Location())
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent submissions of one code signed in, want exactly 1", ok, n)
	}
}

func TestCodeLockoutAndExpiry(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	k, _, _ := c.enable()
	h.nextStep()

	a := h.loginPending("joe")
	b := h.loginPending("joe") // another session: the counter is per account
	for range 5 {
		expect(t, a.post("/login/code", "code", h.wrongCode(k)), http.StatusUnauthorized)
	}
	// Now even the right code is refused, in any session, with the wait.
	r := b.post("/login/code", "code", h.code(k))
	expect(t, r, http.StatusTooManyRequests)
	contains(t, r, "Too many attempts, try again in 30 seconds")
	if r.Header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	// Recovery codes share the counter.
	expect(t, b.post("/login/recovery", "recovery_code", "aaaaa-bbbbb"), http.StatusTooManyRequests)

	// After the delay: one more wrong code locks for longer (1 minute).
	h.clock.Add(31 * time.Second)
	expect(t, a.post("/login/code", "code", h.wrongCode(k)), http.StatusUnauthorized)
	r = a.post("/login/code", "code", h.code(k))
	expect(t, r, http.StatusTooManyRequests)
	contains(t, r, "try again in 60 seconds")

	// After that delay the right code works and the counter starts over.
	h.clock.Add(61 * time.Second)
	expect(t, b.post("/login/code", "code", h.code(k)), http.StatusSeeOther, "/")
	h.nextStep()
	expect(t, a.post("/login/code", "code", h.wrongCode(k)), http.StatusUnauthorized)
	expect(t, a.post("/login/code", "code", h.code(k)), http.StatusSeeOther, "/")

	r = a.get("/settings/security")
	contains(t, r, "Too many attempts: locked for a while", "Wrong two-factor code")
}

func TestPasswordLockout(t *testing.T) {
	h := newHarness(t)
	h.signup("joe", "Joe")
	c := h.client()
	for range 5 {
		r := c.post("/login", "username", "joe", "password", "wrong password!")
		expect(t, r, http.StatusUnauthorized)
		contains(t, r, "Wrong username or password.")
	}
	r := c.post("/login", "username", "joe", "password", password)
	expect(t, r, http.StatusTooManyRequests)
	contains(t, r, "Too many attempts, try again in 30 seconds")
	// Unknown users answer like known ones.
	r = c.post("/login", "username", "nobody", "password", "wrong password!")
	expect(t, r, http.StatusUnauthorized)
	contains(t, r, "Wrong username or password.")

	h.clock.Add(31 * time.Second)
	expect(t, c.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")
}

func TestPasswordLimitPerIP(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	// Spread over many accounts, the per-IP counter still stops guessing.
	var last *response
	for i := range 21 {
		last = c.post("/login", "username", "user"+string(rune('a'+i)), "password", "wrong password!")
	}
	expect(t, last, http.StatusTooManyRequests)
}

func TestRecoveryCodesWorkOnce(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	_, codes, _ := c.enable()

	a := h.loginPending("joe")
	r := a.get("/login/recovery")
	contains(t, r, `name="recovery_code"`)
	expect(t, a.post("/login/recovery", "recovery_code", strings.ToUpper(codes[3])), http.StatusSeeOther, "/settings/security?notice=recovery")
	r = a.get("/settings/security")
	contains(t, r, `<strong id="recovery-left">9</strong>`, "Recovery code used")

	b := h.loginPending("joe")
	r = b.post("/login/recovery", "recovery_code", codes[3])
	expect(t, r, http.StatusUnauthorized)
	contains(t, r, "already used")
	expect(t, b.post("/login/recovery", "recovery_code", codes[4]), http.StatusSeeOther)
}

func TestRegenerateAndDisable(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	k, old, _ := c.enable()
	other := h.loginPending("joe")
	h.nextStep()
	expect(t, other.post("/login/code", "code", h.code(k)), http.StatusSeeOther, "/")

	h.nextStep()
	r := c.post("/settings/security/2fa/recovery-codes", "code", h.code(k))
	expect(t, r, http.StatusOK)
	fresh := recoveryCodes(t, r)
	if len(fresh) != 10 || fresh[0] == old[0] {
		t.Fatalf("new recovery codes: %v", fresh)
	}
	// Old codes are gone.
	p := h.loginPending("joe")
	expect(t, p.post("/login/recovery", "recovery_code", old[0]), http.StatusUnauthorized)

	// Turning off needs the password and a second factor.
	r = c.post("/settings/security/2fa/disable", "password", "wrong password!", "code", "123456")
	expect(t, r, http.StatusUnauthorized)
	contains(t, r, "Wrong password.")
	r = c.post("/settings/security/2fa/disable", "password", password)
	expect(t, r, http.StatusBadRequest)
	expect(t, c.post("/settings/security/2fa/disable", "password", password, "recovery_code", fresh[0]),
		http.StatusSeeOther, "/settings/security?notice=off")
	r = c.get("/settings/security?notice=off")
	contains(t, r, "Click here to enable", "Two-factor authentication turned off", "other sessions were logged out")
	// The other session was logged out.
	expect(t, other.get("/"), http.StatusSeeOther, "/login")
	// And sign-in needs only the password again.
	expect(t, h.client().post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")
}

func TestPendingEnrollmentDoesNotLockOut(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	k := c.startEnrollment()
	expect(t, c.post("/logout"), http.StatusSeeOther, "/login")
	c = h.client()
	expect(t, c.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")
	// Coming back shows the same key: no rescan.
	k2 := c.startEnrollment()
	if !bytes.Equal(k.Secret, k2.Secret) {
		t.Error("the pending key changed")
	}
}

func TestSudoMode(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	h.clock.Add(11 * time.Minute)
	expect(t, c.get("/settings/security/2fa"), http.StatusSeeOther, "/settings/security/confirm?next=%2Fsettings%2Fsecurity%2F2fa")
	expect(t, c.post("/settings/security/2fa/totp/start"), http.StatusSeeOther)
	r := c.get("/settings/security/confirm?next=/settings/security/2fa")
	contains(t, r, `name="password"`, `value="/settings/security/2fa"`)
	expect(t, c.post("/settings/security/confirm", "password", "wrong password!", "next", "/settings/security/2fa"), http.StatusUnauthorized)
	expect(t, c.post("/settings/security/confirm", "password", password, "next", "//evil.example/"), http.StatusSeeOther, "/settings/security")
	expect(t, c.get("/settings/security/2fa"), http.StatusOK)
}

// TestSudoExpiresDuringSetup: the password asked again in the middle of the
// set-up leads back to the same key.
func TestSudoExpiresDuringSetup(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	k := c.startEnrollment()
	h.clock.Add(11 * time.Minute)
	expect(t, c.post("/settings/security/2fa/totp/verify", "code", h.code(k)), http.StatusSeeOther,
		"/settings/security/confirm?next=%2Fsettings%2Fsecurity%2F2fa%2Ftotp%2Fsetup")
	expect(t, c.post("/settings/security/confirm", "password", password, "next", "/settings/security/2fa/totp/setup"),
		http.StatusSeeOther, "/settings/security/2fa/totp/setup")
	r := c.get("/settings/security/2fa/totp/setup")
	contains(t, r, groupsOf(k))
	expect(t, c.post("/settings/security/2fa/totp/verify", "code", h.code(k)), http.StatusOK)
}

func TestSessionTimeouts(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	h.clock.Add(29 * time.Minute)
	expect(t, c.get("/"), http.StatusOK)
	h.clock.Add(31 * time.Minute)
	expect(t, c.get("/"), http.StatusSeeOther, "/login")

	// Active every 20 minutes, a session still ends after 12 hours.
	c = h.client()
	expect(t, c.post("/login", "username", "joe", "password", password), http.StatusSeeOther, "/")
	for range 12*3 + 2 {
		h.clock.Add(20 * time.Minute)
		if r := c.get("/"); r.Status != http.StatusOK {
			if h.clock.Now().Sub(t0) < 12*time.Hour+time.Hour {
				t.Fatalf("session ended early, at %v", h.clock.Now())
			}
			return
		}
	}
	t.Error("session lived past 12 hours")
}

func TestSessionIDChangesAtEachStep(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	k, _, _ := c.enable()
	c = h.client()
	cookie := func(r *response) string {
		for _, ck := range r.Header.Values("Set-Cookie") {
			if strings.HasPrefix(ck, "twofold_session=") {
				return strings.SplitN(ck, ";", 2)[0]
			}
		}
		return ""
	}
	r1 := c.post("/login", "username", "joe", "password", password)
	h.nextStep()
	r2 := c.post("/login/code", "code", h.code(k))
	r3 := c.post("/logout")
	s1, s2, s3 := cookie(r1), cookie(r2), cookie(r3)
	if s1 == "" || s2 == "" || s1 == s2 || s3 != "twofold_session=" {
		t.Errorf("cookies: after password %q, after code %q, after logout %q", s1, s2, s3)
	}
	for _, ck := range r1.Header.Values("Set-Cookie") {
		if !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") {
			t.Errorf("cookie attributes: %s", ck)
		}
	}
}

func TestSignupClosed(t *testing.T) {
	h := newHarness(t, func(c *portalConfig, _ *webConfig) { c.Signup = false })
	c := h.client()
	r := c.post("/signup", "username", "joe", "display_name", "Joe", "password", password, "password_confirm", password)
	expect(t, r, http.StatusForbidden)
	contains(t, r, "Sign-up is closed")
	r = c.get("/login")
	if strings.Contains(r.Body, `href="/signup"`) {
		t.Error("the login page links to a closed sign-up")
	}
}

func TestPendingSessionExpires(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", "Joe")
	k, _, _ := c.enable()
	p := h.loginPending("joe")
	h.clock.Add(10*time.Minute + time.Second)
	expect(t, p.post("/login/code", "code", h.code(k)), http.StatusSeeOther, "/login")
}

func TestDisplayNameIsEscaped(t *testing.T) {
	h := newHarness(t)
	c := h.signup("joe", `<b onmouseover="x()">Joe</b>`)
	r := c.get("/")
	contains(t, r, `Hello, &lt;b onmouseover=&#34;x()&#34;&gt;Joe&lt;/b&gt;!`)
	if strings.Contains(r.Body, "<b onmouseover") {
		t.Error("the display name is not escaped")
	}
}
