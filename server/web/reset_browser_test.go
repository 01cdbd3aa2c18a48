package web_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPasswordReset drives chromium through issue 15's e-mail
// part by its labels, with mail through a real SMTP server (aiosmtpd):
// sign-up with an address, its confirmation link, then, on an account
// with 2FA, "Forgot your password?", the link from the mail, the form
// that refuses the new password without a code, the code, and a sign-in
// with the new password and a code. The new pages are saved at 390 px
// and 1280 px wide.
func TestBrowserPasswordReset(t *testing.T) {
	if _, err := exec.LookPath(chromium); err != nil {
		t.Fatalf("chromium is missing at %s: install it with `apt-get install --no-install-recommends chromium`", chromium)
	}
	h := newMailHarness(t)
	dir := artifactsDir(t)
	browser := newBrowser(t)

	pg := pages{t: t, dir: dir, prefix: "issue15-mail-"}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		pg.run(browser, what, steps...)
	}
	shots := func(name string) { t.Helper(); pg.shots(browser, name) }
	text := func(sel string) string { t.Helper(); return pg.text(browser, sel) }
	// local turns a link from the mail into one on the test server.
	local := func(path, token string) string { return h.ts.URL + path + "?token=" + token }

	run("sign up with an e-mail address",
		chromedp.Navigate(h.ts.URL+"/signup"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
	)
	shots("signup")
	run("sign up",
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "joe"),
		chromedp.SendKeys(chromedp.CSS(`input[name="display_name"]`), "Joe"),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "joe@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.SendKeys(chromedp.CSS(`input[name="password_confirm"]`), password),
		chromedp.Click(byLabel("button", "Sign up")),
		chromedp.WaitVisible(byLabel("summary", "Hello, Joe!")),
	)
	path, token := checkMail(t, h.deliver(1)[0], "joe@example.com", "Confirm your e-mail address")
	run("the confirmation link", chromedp.Navigate(local(path, token)), chromedp.WaitVisible(byLabel("button", "Confirm my address")))
	shots("confirm")
	run("Confirm my address", chromedp.Click(byLabel("button", "Confirm my address")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if got := text(".notice"); !strings.Contains(got, "joe@example.com is confirmed") {
		t.Errorf("after confirming: %q", got)
	}

	// 2FA on (through the HTTP client: the browser part is issue 15's
	// other test).
	c := h.client()
	expect(t, c.post("/login", "username", "joe", "password", password), 303, "/")
	k, _, _ := c.enable()
	h.deliver(2) // a new browser, 2FA on

	run("Security Settings shows the address",
		chromedp.Navigate(h.ts.URL+"/settings/security"),
		chromedp.WaitVisible(byLabel("h2", "E-mail address")),
	)
	if got := text("#email-address"); got != "joe@example.com" {
		t.Errorf("Security Settings shows %q", got)
	}
	shots("security-email")
	run("log out",
		chromedp.Click(byLabel("summary", "Hello, Joe!")),
		chromedp.Click(byLabel("button", "Log out")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
	)

	run("Forgot your password?",
		chromedp.Click(byLabel("a", "Forgot your password?")),
		chromedp.WaitVisible(byLabel("button", "Send the link")),
	)
	shots("forgot")
	run("send the link",
		chromedp.SendKeys(chromedp.CSS(`#forgot input[name="username"]`), "joe"),
		chromedp.Click(byLabel("button", "Send the link")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if got := text(".notice"); !strings.Contains(got, "If that account has a confirmed e-mail address") {
		t.Errorf("after asking: %q", got)
	}
	shots("forgot-sent")
	path, token = checkMail(t, h.deliver(1)[0], "joe@example.com", "Set a new password")
	if path != "/password/reset" {
		t.Fatalf("reset link to %s", path)
	}
	const next = "a fresh long passphrase"
	run("the reset link without a code",
		chromedp.Navigate(local(path, token)),
		chromedp.WaitVisible(chromedp.CSS(`#reset input[name="code"]`)),
		chromedp.SendKeys(chromedp.CSS(`#reset input[name="password"]`), next),
		chromedp.SendKeys(chromedp.CSS(`#reset input[name="password_confirm"]`), next),
	)
	shots("reset-2fa")
	run("refused without a code",
		chromedp.Click(byLabel("button", "Set the new password")),
		chromedp.WaitVisible(chromedp.CSS(".error")),
	)
	if got := text(".error"); !strings.Contains(got, "enter a code from your app or a recovery code") {
		t.Errorf("without a code: %q", got)
	}
	shots("reset-needs-code")
	h.nextStep()
	run("with the code",
		chromedp.SendKeys(chromedp.CSS(`#reset input[name="code"]`), h.code(k)),
		chromedp.SendKeys(chromedp.CSS(`#reset input[name="password"]`), next),
		chromedp.SendKeys(chromedp.CSS(`#reset input[name="password_confirm"]`), next),
		chromedp.Click(byLabel("button", "Set the new password")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if got := text(".notice"); !strings.Contains(got, "Your new password is set") {
		t.Errorf("after the reset: %q", got)
	}
	shots("reset-done")
	h.expectNotice("Your password was reset", nil, token, next)
	if r := c.get("/settings/security"); r.Status != 303 {
		t.Errorf("the other session survived the reset: %d", r.Status)
	}

	h.nextStep()
	run("log in with the new password and a code",
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "joe"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), next),
		chromedp.Click(byLabel("button", "Log in")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="code"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), h.code(k)),
		chromedp.Click(byLabel("button", "Verify")),
		chromedp.WaitVisible(byLabel("summary", "Hello, Joe!")),
	)
}
