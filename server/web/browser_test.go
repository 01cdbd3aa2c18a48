package web_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"twofold.dev/shared/qr"
	"twofold.dev/shared/totp"
)

const chromium = "/usr/bin/chromium"

// byLabel finds a link, button or summary by its exact text, as a person
// would.
func byLabel(tag, label string) string {
	return "//" + tag + "[normalize-space()='" + label + "']"
}

// TestBrowserFlow drives Debian's chromium, headless, through the
// announcement by its labels: sign up, "Hello, Joe!", "Security Settings",
// "Click here to enable", "Time Based Tokens", "Get Started", the QR code
// read from a screenshot, "Verify", the recovery codes, log out, and log in
// again with a fresh code (the server clock moves to the next step).
func TestBrowserFlow(t *testing.T) {
	if _, err := exec.LookPath(chromium); err != nil {
		t.Fatalf("chromium is missing at %s: install it with `apt-get install --no-install-recommends chromium` (make test does it through scripts/deps.sh)", chromium)
	}
	h := newHarness(t)

	ctx, cancel := context.WithTimeout(newBrowser(t), 3*time.Minute)
	defer cancel()

	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			shot, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if len(shot) > 0 {
				path := t.TempDir() + "/failure.png"
				_ = os.WriteFile(path, shot, 0o644)
				t.Logf("screenshot: %s", path)
			}
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
			t.Fatalf("%s: %v\npage:\n%s", what, err, clipBody(html))
		}
	}

	step("sign up",
		chromedp.Navigate(h.ts.URL+"/signup"),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "joe"),
		chromedp.SendKeys(chromedp.CSS(`input[name="display_name"]`), "Joe"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.SendKeys(chromedp.CSS(`input[name="password_confirm"]`), password),
		chromedp.Click(byLabel("button", "Sign up")),
	)
	step("open the account menu and Security Settings",
		chromedp.Click(byLabel("summary", "Hello, Joe!")),
		chromedp.Click(byLabel("a", "Security Settings")),
		chromedp.WaitVisible(byLabel("h2", "Two Factor Authentication")),
	)
	step("enable: method, Time Based Tokens, Get Started",
		chromedp.Click(byLabel("a", "Click here to enable")),
		chromedp.Click(byLabel("a", "Time Based Tokens")),
		chromedp.Click(byLabel("button", "Get Started")),
		chromedp.WaitVisible(chromedp.ID("qr")),
	)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("qr").complete && document.getElementById("qr").naturalWidth > 0`)); err != nil {
		t.Fatalf("the QR image did not load: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	texts, err := qr.DecodeBytes(shot)
	if err != nil || len(texts) != 1 {
		t.Fatalf("reading the QR code from the screenshot: %v %v", texts, err)
	}
	k, err := totp.ParseURI(texts[0])
	if err != nil {
		t.Fatalf("the QR code holds %q: %v", texts[0], err)
	}
	if k.Issuer != "Twofold Portal" || k.Account != "joe" {
		t.Errorf("the QR key is %s:%s", k.Issuer, k.Account)
	}
	shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("secret")))
	if err != nil || strings.ReplaceAll(shown, " ", "") != k.SecretBase32() {
		t.Errorf("the key shown (%q, %v) is not the QR code's %s", shown, err, k.SecretBase32())
	}

	code := h.code(k)
	step("verify",
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), code),
		chromedp.Click(byLabel("button", "Verify")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	)
	codes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#recovery-codes code"), e => e.textContent)`))
	if err != nil || len(codes) != 10 {
		t.Fatalf("recovery codes: %v %v", codes, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Text(byLabel("a", "Download as a text file"))); err != nil {
		t.Errorf("no download link: %v", err)
	}

	step("log out",
		chromedp.Click(byLabel("summary", "Hello, Joe!")),
		chromedp.Click(byLabel("button", "Log out")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
	)
	step("log in with the password",
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "joe"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(byLabel("button", "Log in")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="code"][autocomplete="one-time-code"]`)),
		chromedp.WaitVisible(byLabel("a", "Use a recovery code")),
	)
	h.nextStep()
	step("log in with a fresh code",
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), h.code(k)),
		chromedp.Click(byLabel("button", "Verify")),
		chromedp.WaitVisible(byLabel("summary", "Hello, Joe!")),
	)
	step("Security Settings shows 2FA on",
		chromedp.Click(byLabel("summary", "Hello, Joe!")),
		chromedp.Click(byLabel("a", "Security Settings")),
		chromedp.WaitVisible(chromedp.ID("recovery-left")),
	)
	left, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("recovery-left")))
	if err != nil || left != "10" {
		t.Errorf("recovery codes left: %q %v", left, err)
	}
}
