package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(browser, time.Minute)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			html, _ := chromedp.Run(browser, chromedp.OuterHTML(chromedp.CSS("html")))
			t.Fatalf("%s: %v\npage:\n%s", what, err, clipBody(html))
		}
	}
	shots := func(name string) {
		t.Helper()
		for _, w := range []int64{390, 1280} {
			if err := chromedp.Do(browser, chromedp.EmulateViewport(w, 844)); err != nil {
				t.Fatalf("width %d: %v", w, err)
			}
			png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s at %d: %v", name, w, err)
			}
			if err := os.WriteFile(filepath.Join(dir, "issue15-admin-"+name+"-"+itoa(w)+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
			wide, err := chromedp.Run(browser, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
			if err != nil || wide {
				t.Errorf("%s at %d px scrolls sideways (%v)", name, w, err)
			}
		}
		run("back to the window's width", chromedp.EmulateViewport(1280, 1024))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

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
