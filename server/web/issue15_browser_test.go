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

	"twofold.dev/shared/totp"
)

// artifactsDir is where the browser tests leave their screenshots: the
// repository's e2e-artifacts/, or TWOFOLD_E2E_ARTIFACTS.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TWOFOLD_E2E_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "e2e-artifacts")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts its own headless chromium (own profile, own cookies).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1024),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// pages are the steps every browser test of the portal's pages takes: run
// actions with a deadline of their own (the page is printed on failure),
// save the page at a phone's and a desktop's width into dir, with prefix
// before each file's name, checking that nothing scrolls sideways, and
// read an element's text.
type pages struct {
	t           *testing.T
	dir, prefix string
}

func (p pages) run(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		p.t.Fatalf("%s: %v\npage:\n%s", what, err, clipBody(html))
	}
}

func (p pages) shots(ctx context.Context, name string) {
	p.t.Helper()
	for _, w := range []int64{390, 1280} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 844)); err != nil {
			p.t.Fatalf("width %d: %v", w, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			p.t.Fatalf("screenshot %s at %d: %v", name, w, err)
		}
		if err := os.WriteFile(filepath.Join(p.dir, p.prefix+name+"-"+itoa(w)+".png"), png, 0o644); err != nil {
			p.t.Fatal(err)
		}
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
		if err != nil || wide {
			p.t.Errorf("%s at %d px scrolls sideways (%v)", name, w, err)
		}
	}
	p.run(ctx, "back to the window's width", chromedp.EmulateViewport(1280, 1024))
}

func (p pages) text(ctx context.Context, sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestBrowserRememberAndRequire drives chromium through both parts of
// issue 15 by their labels, on a portal that requires 2FA with a 14-day
// grace: sign-up lands on "Time Based Tokens" with the days left; "Skip
// for now"; the set-up; a sign-in with "Don't ask again on this computer
// for 30 days" ticked; the next sign-in asks no code; a second browser is
// asked; "Remembered devices" lists the browser; "Forget" makes it ask
// again. The new pages are saved at 390 px and 1280 px wide.
func TestBrowserRememberAndRequire(t *testing.T) {
	if _, err := exec.LookPath(chromium); err != nil {
		t.Fatalf("chromium is missing at %s: install it with `apt-get install --no-install-recommends chromium`", chromium)
	}
	h := newHarness(t, func(p *portalConfig, _ *webConfig) { p.Require2FA, p.Require2FAGrace = true, 14*24*time.Hour })
	dir := artifactsDir(t)
	browser := newBrowser(t)

	pg := pages{t: t, dir: dir, prefix: "issue15-"}
	run, shots, text := pg.run, pg.shots, pg.text
	login := func(ctx context.Context) {
		t.Helper()
		run(ctx, "log in with the password",
			chromedp.Navigate(h.ts.URL+"/login"),
			chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "joe"),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
			chromedp.Click(byLabel("button", "Log in")),
			// The page after the password: the code step or the account
			// (the login page's own h1 would match before it has gone).
			chromedp.WaitVisible(chromedp.CSS(`input[name="code"], .account-menu summary`)),
		)
	}
	logout := func(ctx context.Context) {
		t.Helper()
		run(ctx, "log out",
			chromedp.Click(byLabel("summary", "Hello, Joe!")),
			chromedp.Click(byLabel("button", "Log out")),
			chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		)
	}
	onCodePage := func(ctx context.Context) bool {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.HasSuffix(loc, "/login/code")
	}

	run(browser, "sign up",
		chromedp.Navigate(h.ts.URL+"/signup"),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "joe"),
		chromedp.SendKeys(chromedp.CSS(`input[name="display_name"]`), "Joe"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.SendKeys(chromedp.CSS(`input[name="password_confirm"]`), password),
		chromedp.Click(byLabel("button", "Sign up")),
		chromedp.WaitVisible(chromedp.ID("setup-required")),
	)
	if got := text(browser, "h1"); got != "Time Based Tokens" {
		t.Errorf("after sign-up: %q, want the set-up's Time Based Tokens", got)
	}
	if got := text(browser, "#days-left"); got != "14 days" {
		t.Errorf("days left: %q", got)
	}
	shots(browser, "setup-required")
	run(browser, "skip for now",
		chromedp.Click(byLabel("button", "Skip for now")),
		chromedp.WaitVisible(chromedp.CSS(".notice")), // the set-up page has none
	)
	if got := text(browser, ".notice"); !strings.Contains(got, "postponed") {
		t.Errorf("after skipping: %q", got)
	}

	run(browser, "enable: Security Settings, Click here to enable, Time Based Tokens, Get Started",
		chromedp.Click(byLabel("summary", "Hello, Joe!")),
		chromedp.Click(byLabel("a", "Security Settings")),
		chromedp.Click(byLabel("a", "Click here to enable")),
		chromedp.Click(byLabel("a", "Time Based Tokens")),
		chromedp.Click(byLabel("button", "Get Started")),
		chromedp.WaitVisible(chromedp.ID("secret")),
	)
	secret, err := totp.DecodeSecret(strings.ReplaceAll(text(browser, "#secret"), " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	k := &totp.Key{Type: totp.TOTP, Issuer: "Twofold Portal", Account: "joe", Secret: secret, Algorithm: totp.SHA1, Digits: 6, Period: 30}
	run(browser, "verify",
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), h.code(k)),
		chromedp.Click(byLabel("button", "Verify")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
		chromedp.Navigate(h.ts.URL+"/"),
		chromedp.WaitVisible(byLabel("summary", "Hello, Joe!")),
	)
	logout(browser)

	login(browser)
	if !onCodePage(browser) {
		t.Fatal("the code was not asked before the device was remembered")
	}
	shots(browser, "code-remember")
	h.nextStep()
	run(browser, "code with Don't ask again ticked",
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), h.code(k)),
		chromedp.Click(chromedp.CSS(`input[name="remember"]`)),
		chromedp.Click(byLabel("button", "Verify")),
		chromedp.WaitVisible(byLabel("summary", "Hello, Joe!")),
	)
	logout(browser)
	h.clock.Add(time.Hour)
	login(browser)
	if onCodePage(browser) {
		t.Fatal("the remembered browser was asked for the code")
	}
	run(browser, "signed in without a code", chromedp.WaitVisible(byLabel("summary", "Hello, Joe!")))

	other := newBrowser(t)
	login(other)
	if !onCodePage(other) {
		t.Error("another browser was not asked for the code")
	}

	run(browser, "Security Settings lists the remembered device",
		chromedp.Click(byLabel("summary", "Hello, Joe!")),
		chromedp.Click(byLabel("a", "Security Settings")),
		chromedp.WaitVisible(byLabel("h2", "Remembered devices")),
	)
	if got := text(browser, ".devices li strong"); got != "Chrome (headless) on Linux" {
		t.Errorf("remembered device shown as %q", got)
	}
	if got := text(browser, "#activity"); !strings.Contains(got, "Signed in from a remembered device") || !strings.Contains(got, "Device remembered") {
		t.Errorf("activity: %q", got)
	}
	shots(browser, "remembered-devices")
	run(browser, "Forget",
		chromedp.Click(byLabel("button", "Forget")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if got := text(browser, ".notice"); !strings.Contains(got, "forgotten") {
		t.Errorf("after Forget: %q", got)
	}
	logout(browser)
	login(browser)
	if !onCodePage(browser) {
		t.Error("a forgotten browser was not asked for the code")
	}
}
