package web_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSupportConsole drives chromium through the support console
// by its labels: root signs in with a code, "Support console" in the
// menu, the password-and-code step, a search, the customer's page,
// "Disable the account…", its confirmation, the notice. /admin, the
// customer page and the confirmation are saved at 390 px and 1280 px
// (e2e-artifacts/issue15-admin-*.png).
func TestBrowserSupportConsole(t *testing.T) {
	if _, err := exec.LookPath(chromium); err != nil {
		t.Fatalf("chromium is missing at %s: install it with `apt-get install --no-install-recommends chromium`", chromium)
	}
	h := newHarness(t)
	_, k := h.newAdmin()
	joe := h.signup("joe", "Joe Bloggs")
	h.nextStep()
	jk, _, _ := joe.enable()
	h.rememberBrowser("joe", jk)
	h.signup("joanna", "Joanna")
	dir := artifactsDir(t)
	browser := newBrowser(t)

	pg := pages{t: t, dir: dir, prefix: "issue15-admin-"}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		pg.run(browser, what, steps...)
	}
	shots := func(name string) { t.Helper(); pg.shots(browser, name) }
	text := func(sel string) string { t.Helper(); return pg.text(browser, sel) }

	h.nextStep()
	run("sign in as root with a code",
		chromedp.Navigate(h.ts.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "root"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(byLabel("button", "Log in")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="code"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), h.code(k)),
		chromedp.Click(byLabel("button", "Verify")),
		chromedp.WaitVisible(byLabel("summary", "Hello, Root Admin!")),
	)
	h.nextStep()
	run("open the console from the menu",
		chromedp.Click(byLabel("summary", "Hello, Root Admin!")),
		chromedp.Click(byLabel("a", "Support console")),
		chromedp.WaitVisible(byLabel("button", "Open the console")),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), h.code(k)),
		chromedp.Click(byLabel("button", "Open the console")),
		chromedp.WaitVisible(byLabel("button", "Find customer")),
	)
	run("search for jo",
		chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), "jo"),
		chromedp.Click(byLabel("button", "Find customer")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	if s := text("#results"); !strings.Contains(s, "joe") || !strings.Contains(s, "joanna") || strings.Contains(s, "root") {
		t.Errorf("results for jo: %q", s)
	}
	shots("search")
	run("the customer's page",
		chromedp.Click(byLabel("a", "joe")),
		chromedp.WaitVisible(chromedp.ID("activity")),
	)
	if s := text("#twofactor"); s != "on" {
		t.Errorf("joe's 2FA shown as %q", s)
	}
	shots("customer")
	run("disable: the confirmation page",
		chromedp.Click(byLabel("a", "Disable the account…")),
		chromedp.WaitVisible(byLabel("button", "Disable the account")),
	)
	shots("confirm")
	run("disable",
		chromedp.Click(byLabel("button", "Disable the account")),
		chromedp.WaitVisible(chromedp.CSS(".message.notice")),
	)
	if s := text("#state"); s != "disabled" {
		t.Errorf("joe's state after disabling: %q", s)
	}
	if s := text("#activity"); !strings.Contains(s, "by support (admin root)") {
		t.Errorf("joe's activity lacks the action: %q", s)
	}
	run("the audit log", chromedp.Navigate(h.ts.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("audit")))
	if s := text("#audit"); !strings.Contains(s, "disable") || !strings.Contains(s, "joe") || !strings.Contains(s, "root") {
		t.Errorf("audit log: %q", s)
	}
	shots("audit")
}
