package web_test

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"

	"twofold.dev/shared/totp"
)

// axeTags are the axe-core rules of WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeWidths are a phone's width and a desktop's, in CSS pixels.
var axeWidths = []int64{390, 1280}

// notPages are the GET routes that answer no HTML page of their own, so
// the accessibility test does not visit them.
var notPages = map[string]string{
	"/healthz":                           "plain text for load balancers",
	"/static/portal.css":                 "the style sheet of every page",
	"/settings/security/2fa/totp/qr.png": "the QR image, checked on the set-up page that shows it",
}

// templates are the page templates, each with phrases of its own text
// (one of them is on every page it renders, outside the title and the
// messages): the test checks that a page is from the template it claims.
var templates = map[string][]string{
	"admin":          {"Find customer"},
	"admin_action":   {"recorded in the customer's activity and in the audit log"},
	"admin_confirm":  {"Open the console"},
	"admin_customer": {"Not available now:"},
	"code":           {"Don't ask again on this computer for 30 days"},
	"confirm":        {"To change how you sign in, enter your password again."},
	"email_confirm":  {"Confirm my address", "Continue to the portal"},
	"error":          {"Go to the start page"},
	"forgot":         {"Back to log in"},
	"home":           {"You are signed in to the client portal as"},
	"login":          {"Forgot your password?"},
	"method":         {"Choose how you will prove it is you when you sign in."},
	"recovery":       {"Use a code from your app"},
	"recovery_codes": {"Download as a text file"},
	"reset":          {"Ask for a new link"},
	"security":       {"Change password"},
	"signup":         {"Already have an account?"},
	"totp_intro":     {"Install an authenticator app on your phone"},
	"totp_setup":     {"Or type the key by hand"},
}

// axeSource returns axe.min.js from the pinned axe-core tarball that
// scripts/npm-deps.sh fetches, after checking the tarball against the
// integrity pinned in testdata/npm-packages.txt.
func axeSource(t *testing.T) string {
	t.Helper()
	version, integrity := npmPin(t, "axe-core")
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for the npm packages: %v", err)
	}
	path := filepath.Join(cache, "twofold", "npm", "axe-core-"+version+".tgz")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("axe-core %s is missing (%v): fetch it with `scripts/npm-deps.sh` (make test does it through scripts/deps.sh)", version, err)
	}
	sum := sha512.Sum512(b)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != integrity {
		t.Fatalf("%s has integrity %s, not the pinned %s: fetch it again with `scripts/npm-deps.sh`", path, got, integrity)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no package/axe.min.js in %s: %v", path, err)
		}
		if h.Name == "package/axe.min.js" {
			src, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("reading axe.min.js from %s: %v", path, err)
			}
			return string(src)
		}
	}
}

// npmPin returns the pinned version and integrity of an npm package.
func npmPin(t *testing.T, name string) (version, integrity string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "npm-packages.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == name {
			return fields[1], fields[2]
		}
	}
	t.Fatalf("testdata/npm-packages.txt pins no %s (%v)", name, sc.Err())
	return "", ""
}

// axeViolation is one failed axe-core rule on a page, with the elements
// that fail it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  string `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// axeRun runs axe-core on the whole document with the WCAG 2.x A and AA
// rules; the result is reduced in the page to what a failure lists.
func axeRun() string {
	tags := `"` + strings.Join(axeTags, `","`) + `"`
	return `axe.run(document, {runOnly: {type: "tag", values: [` + tags + `]}, resultTypes: ["violations"]})
	.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
		nodes: v.nodes.map(n => ({target: n.target.map(s => [].concat(s).join(" >>> ")).join(", "), summary: n.failureSummary || ""}))})))`
}

// axeCheck runs axe-core on the pages the browser is shown and records
// which templates and routes it saw.
type axeCheck struct {
	t       *testing.T
	ctx     context.Context
	src     string
	dir     string
	url     string          // the portal being checked
	visited map[string]bool // "template" and "GET route" seen
	checked int
}

// page checks the page the browser shows now, rendered from template
// for route, at each width: axe-core's WCAG 2.1 AA rules, no sideways
// scrolling, and a screenshot e2e-artifacts/axe-NAME-WIDTH.png.
func (a *axeCheck) page(name, template, route string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(a.ctx, time.Minute)
	defer cancel()
	a.isPage(ctx, name, template, route)
	// The portal has no JavaScript and its CSP allows none: DevTools'
	// evaluation is outside the page's CSP, so axe goes in without
	// loosening it.
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "object"`))
	if err != nil {
		a.t.Fatalf("%s: %v", name, err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](a.src)); err != nil {
			a.t.Fatalf("%s: injecting axe-core: %v", name, err)
		}
	}
	for _, w := range axeWidths {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 844)); err != nil {
			a.t.Fatalf("%s at %d px: %v", name, w, err)
		}
		vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun(), chromedp.EvalAwaitPromise))
		if err != nil {
			a.t.Fatalf("%s at %d px: running axe-core: %v", name, w, err)
		}
		for _, v := range vs {
			for _, n := range v.Nodes {
				a.t.Errorf("%s (%s) at %d px: %s [%s]: %s at %s\n\t%s", name, route, w, v.ID, v.Impact, v.Help, n.Target, strings.ReplaceAll(n.Summary, "\n", "\n\t"))
			}
		}
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
		if err != nil || wide {
			a.t.Errorf("%s at %d px scrolls sideways (%v)", name, w, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			a.t.Fatalf("%s at %d px: screenshot: %v", name, w, err)
		}
		if err := os.WriteFile(filepath.Join(a.dir, fmt.Sprintf("axe-%s-%d.png", name, w)), png, 0o644); err != nil {
			a.t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1024)); err != nil {
		a.t.Fatal(err)
	}
	a.visited[template] = true
	if route != "" {
		a.visited["GET "+route] = true
	}
	a.checked++
}

// isPage fails unless the browser shows a page of template, at route
// when route is not "" (a Gin pattern: ":name" stands for one segment).
func (a *axeCheck) isPage(ctx context.Context, name, template, route string) {
	a.t.Helper()
	phrases, ok := templates[template]
	if !ok {
		a.t.Fatalf("%s: no template %s in the test's list", name, template)
	}
	// The text of main without its title and messages, which repeat
	// what a handler chose.
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const m = document.querySelector("main").cloneNode(true);
		m.querySelectorAll("h1, .message").forEach(e => e.remove());
		return m.textContent.replace(/\s+/g, " ");
	})()`))
	if err != nil {
		a.t.Fatalf("%s: reading the page: %v", name, err)
	}
	found := false
	for _, p := range phrases {
		found = found || strings.Contains(text, p)
	}
	if !found {
		a.t.Fatalf("%s is not a page of %s.html (none of %q):\n%s", name, template, phrases, text)
	}
	if route == "" {
		return
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		a.t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		a.t.Fatal(err)
	}
	got, want := strings.Split(u.Path, "/"), strings.Split(route, "/")
	match := len(got) == len(want)
	for i := 0; match && i < len(want); i++ {
		match = got[i] == want[i] || (strings.HasPrefix(want[i], ":") && got[i] != "")
	}
	if !match {
		a.t.Fatalf("%s is at %s, not at the route %s", name, u.Path, route)
	}
}

// TestAccessibility visits every page of the portal in Chromium, signed
// out, as a customer without and with 2FA, as a customer walked into a
// required set-up, and as an admin in the support console, with the error
// pages, and runs axe-core's WCAG 2.1 AA rules on each at 390 px and
// 1280 px wide (the same browser throughout). It fails listing each
// violation (page, route, width, rule, impact, element), and when a
// template or a GET route of the portal was not visited.
func TestAccessibility(t *testing.T) {
	if _, err := exec.LookPath(chromium); err != nil {
		t.Fatalf("chromium is missing at %s: install it with `apt-get install --no-install-recommends chromium`", chromium)
	}
	a := &axeCheck{t: t, src: axeSource(t), dir: artifactsDir(t), visited: map[string]bool{}}
	a.ctx = newBrowser(t)
	pg := pages{t: t}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		pg.run(a.ctx, what, steps...)
	}
	// open loads a page and checks its status.
	open := func(path string, status int64) {
		t.Helper()
		ctx, cancel := context.WithTimeout(a.ctx, time.Minute)
		defer cancel()
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(a.url+path))
		if err != nil {
			t.Fatalf("opening %s: %v", path, err)
		}
		if resp.Status != status {
			t.Fatalf("%s answered %d, want %d", path, resp.Status, status)
		}
		// axe-core runs under the portal's own policy, not a loosened one.
		if csp := fmt.Sprint(resp.Headers["Content-Security-Policy"]); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Fatalf("%s has the CSP %q, not the portal's", path, csp)
		}
	}
	fill := func(name, text string) chromedp.Action[chromedp.Void] {
		return chromedp.SendKeys(chromedp.CSS(`input[name="`+name+`"]`), text)
	}
	click := func(tag, label string) chromedp.Action[chromedp.Void] { return chromedp.Click(byLabel(tag, label)) }
	visible := func(tag, label string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(byLabel(tag, label))
	}
	css := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.WaitVisible(chromedp.CSS(sel)) }
	menu := func(name, tag, item string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(click("summary", "Hello, "+name+"!"), click(tag, item))
	}
	login := func(user string) {
		t.Helper()
		run("log in as "+user, chromedp.Navigate(a.url+"/login"), fill("username", user), fill("password", password),
			click("button", "Log in"), css(`input[name="code"], .account-menu summary, #setup-required`))
	}

	// The portal as a company runs it: mail on (a real SMTP server), an
	// admin with 2FA, Joe signing up in the browser.
	h := newMailHarness(t)
	a.url = h.ts.URL
	_, rootKey := h.newAdmin()

	// Signed out, and the error pages.
	open("/login", http.StatusOK)
	a.page("login", "login", "/login")
	open("/signup", http.StatusOK)
	a.page("signup", "signup", "/signup")
	open("/password/forgot", http.StatusOK)
	a.page("forgot", "forgot", "/password/forgot")
	open("/password/reset?token=no-such-link", http.StatusBadRequest)
	a.page("reset-bad-link", "reset", "/password/reset")
	open("/email/confirm?token=from-the-mail", http.StatusOK)
	a.page("email-confirm", "email_confirm", "/email/confirm")
	open("/no/such/page", http.StatusNotFound)
	a.page("not-found", "error", "")
	open("/logout", http.StatusMethodNotAllowed)
	a.page("not-allowed", "error", "")

	// Joe signs up and turns 2FA on, step by step.
	run("sign up", chromedp.Navigate(a.url+"/signup"),
		fill("username", "joe"), fill("display_name", "Joe"), fill("email", "joe@example.com"),
		fill("password", password), fill("password_confirm", password),
		click("button", "Sign up"), visible("summary", "Hello, Joe!"))
	a.page("home", "home", "/")
	run("Security Settings", menu("Joe", "a", "Security Settings"), visible("h2", "Two Factor Authentication"))
	a.page("security-2fa-off", "security", "/settings/security")
	run("Click here to enable", click("a", "Click here to enable"), visible("a", "Time Based Tokens"))
	a.page("method", "method", "/settings/security/2fa")
	run("Time Based Tokens", click("a", "Time Based Tokens"), visible("button", "Get Started"))
	a.page("totp-intro", "totp_intro", "/settings/security/2fa/totp")
	run("Get Started", click("button", "Get Started"), chromedp.WaitVisible(chromedp.ID("qr")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.getElementById("qr").complete && document.getElementById("qr").naturalWidth > 0`)(ctx, tg)
			return err
		}))
	a.page("totp-setup", "totp_setup", "/settings/security/2fa/totp/setup")
	secret, err := totp.DecodeSecret(strings.ReplaceAll(pg.text(a.ctx, "#secret"), " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	key := &totp.Key{Type: totp.TOTP, Issuer: "Twofold Portal", Account: "joe", Secret: secret, Algorithm: totp.SHA1, Digits: 6, Period: 30}
	run("a wrong code", fill("code", h.wrongCode(key)), click("button", "Verify"), css(".message.error"))
	a.page("totp-setup-wrong-code", "totp_setup", "")
	run("Verify", fill("code", h.code(key)), click("button", "Verify"), chromedp.WaitVisible(chromedp.ID("recovery-codes")))
	a.page("recovery-codes", "recovery_codes", "")
	open("/settings/security", http.StatusOK)
	a.page("security-2fa-on", "security", "/settings/security")
	open("/settings/security/confirm?next=/settings/security", http.StatusOK)
	a.page("confirm-password", "confirm", "/settings/security/confirm")

	// The confirmation link from the mail, and its answer.
	path, token := h.lastLink("joe@example.com", "Confirm your e-mail address")
	open(path+"?token="+token, http.StatusOK)
	run("Confirm my address", click("button", "Confirm my address"), css(".message.notice"))
	a.page("email-confirmed", "email_confirm", "")

	// A bad request: a form with a field the portal does not know (the
	// browser test builds it; the portal has no such form).
	run("a form with an unknown field", chromedp.Evaluate[chromedp.Void](`{
		const f = document.createElement("form");
		f.method = "post";
		f.action = "/settings/security/2fa/skip";
		const i = document.createElement("input");
		i.type = "hidden"; i.name = "unknown"; i.value = "1";
		f.append(i); document.body.append(f); f.submit();
	}`), css(".message.error"))
	if got := pg.text(a.ctx, ".message.error"); !strings.Contains(got, "unknown field") {
		t.Fatalf("the bad request shows %q", got)
	}
	a.page("bad-request", "error", "")
	open("/admin", http.StatusForbidden)
	a.page("forbidden", "error", "")

	// The code step, the recovery step, and a remembered browser.
	run("log out", menu("Joe", "button", "Log out"), css(`input[name="username"]`))
	login("joe")
	a.page("code", "code", "/login/code")
	run("Use a recovery code", click("a", "Use a recovery code"), css(`input[name="recovery_code"]`))
	a.page("recovery", "recovery", "/login/recovery")
	h.nextStep()
	run("back to the code, remembered", click("a", "Use a code from your app"), fill("code", h.code(key)),
		chromedp.Click(chromedp.CSS(`input[name="remember"]`)), click("button", "Verify"), visible("summary", "Hello, Joe!"))
	a.page("home-2fa-on", "home", "/")
	run("Security Settings with a remembered device", menu("Joe", "a", "Security Settings"), visible("h2", "Remembered devices"), css(".devices li"))
	a.page("security-devices", "security", "/settings/security")

	// Forgotten password, with 2FA on.
	run("log out", menu("Joe", "button", "Log out"), css(`input[name="username"]`))
	run("Forgot your password?", click("a", "Forgot your password?"), fill("username", "joe"), click("button", "Send the link"), css(".message.notice"))
	a.page("forgot-sent", "forgot", "")
	path, token = h.lastLink("joe@example.com", "Set a new password")
	open(path+"?token="+token, http.StatusOK)
	a.page("reset-2fa", "reset", "/password/reset")
	run("a new password without a code", fill("password", "a fresh long passphrase"), fill("password_confirm", "a fresh long passphrase"),
		click("button", "Set the new password"), css(".message.error"))
	a.page("reset-needs-code", "reset", "")

	// The support console.
	h.nextStep()
	login("root")
	run("root's code", fill("code", h.code(rootKey)), click("button", "Verify"), visible("summary", "Hello, Root Admin!"))
	run("Support console", menu("Root Admin", "a", "Support console"), visible("button", "Open the console"))
	a.page("admin-confirm", "admin_confirm", "/admin/confirm")
	h.nextStep()
	run("open the console", fill("password", password), fill("code", h.code(rootKey)), click("button", "Open the console"), visible("button", "Find customer"))
	a.page("admin", "admin", "/admin")
	run("find jo", fill("q", "jo"), click("button", "Find customer"), chromedp.WaitVisible(chromedp.ID("results")))
	a.page("admin-search", "admin", "/admin")
	run("joe's page", click("a", "joe"), chromedp.WaitVisible(chromedp.ID("activity")))
	a.page("admin-customer", "admin_customer", "/admin/users/:name")
	open("/admin/users/joe/enable", http.StatusConflict)
	a.page("admin-action-unavailable", "admin_action", "")
	open("/admin/users/joe/disable", http.StatusOK)
	a.page("admin-action", "admin_action", "/admin/users/:name/:action")
	run("Disable the account", click("button", "Disable the account"), css(".message.notice"))
	a.page("admin-customer-done", "admin_customer", "")
	open("/admin", http.StatusOK)
	a.page("admin-audit", "admin", "/admin")
	run("log out", menu("Root Admin", "button", "Log out"), css(`input[name="username"]`))

	// A portal without mail that requires 2FA after a 14-day grace.
	h2 := newHarness(t, func(p *portalConfig, _ *webConfig) { p.Require2FA, p.Require2FAGrace = true, 14*24*time.Hour })
	a.url = h2.ts.URL
	open("/signup", http.StatusOK)
	a.page("signup-no-mail", "signup", "/signup")
	run("sign up", fill("username", "ann"), fill("display_name", "Ann"), fill("password", password), fill("password_confirm", password),
		click("button", "Sign up"), chromedp.WaitVisible(chromedp.ID("setup-required")))
	a.page("setup-required-grace", "totp_intro", "/settings/security/2fa/totp")
	run("Skip for now", click("button", "Skip for now"), css(".message.notice"))
	a.page("home-skipped", "home", "/")
	run("Security Settings", menu("Ann", "a", "Security Settings"), visible("h2", "Two Factor Authentication"))
	a.page("security-no-mail", "security", "/settings/security")
	run("log out", menu("Ann", "button", "Log out"), css(`input[name="username"]`))
	open("/password/forgot", http.StatusOK)
	a.page("forgot-no-mail", "forgot", "/password/forgot")
	h2.clock.Add(15 * 24 * time.Hour)
	login("ann")
	run("the set-up, now required", chromedp.WaitVisible(chromedp.ID("setup-required")))
	if n, err := chromedp.Run(a.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#days-left").length`)); err != nil || n != 0 {
		t.Fatalf("the grace period is over but %d days-left shown (%v)", n, err)
	}
	a.page("setup-required", "totp_intro", "")

	a.covered(h.srv.Routes())
	t.Logf("axe-core checked %d pages at %v px", a.checked, axeWidths)
}

// covered fails for each template and each GET route of the portal that
// no page checked: a new page gets its accessibility check with it.
func (a *axeCheck) covered(routes gin.RoutesInfo) {
	a.t.Helper()
	files, err := filepath.Glob(filepath.Join("templates", "*.html"))
	if err != nil || len(files) == 0 {
		a.t.Fatalf("no templates found (%v)", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".html")
		switch {
		case name == "layout":
		case templates[name] == nil:
			a.t.Errorf("templates/%s.html is not in the accessibility test's list: add it to templates and a page of it to TestAccessibility", name)
		case !a.visited[name]:
			a.t.Errorf("no accessibility check of a page from templates/%s.html: add one to TestAccessibility", name)
		}
	}
	seen := map[string]bool{}
	for _, r := range routes {
		seen[r.Path] = true
		if r.Method != http.MethodGet || strings.HasPrefix(r.Path, "/api/") || notPages[r.Path] != "" {
			continue
		}
		if !a.visited["GET "+r.Path] {
			a.t.Errorf("no accessibility check of the page GET %s: add one to TestAccessibility", r.Path)
		}
	}
	for p := range notPages {
		if !seen[p] {
			a.t.Errorf("notPages lists %s, which is no route", p)
		}
	}
}

// lastLink sends the mail that is due and returns the path and token of
// the link in the last message to whom with subject.
func (h *mailHarness) lastLink(to, subject string) (path, token string) {
	h.t.Helper()
	n, err := h.outbox.SendDue(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	all := h.smtp.WaitFor(h.t, h.seen+n, 10*time.Second)
	news := all[h.seen:]
	h.seen = len(all)
	for i := len(news) - 1; i >= 0; i-- {
		if m := news[i]; m.Subject == subject && len(m.To) == 1 && m.To[0] == to {
			return checkMail(h.t, m, to, subject)
		}
	}
	h.t.Fatalf("no new mail %q to %s among %d", subject, to, len(news))
	return "", ""
}
