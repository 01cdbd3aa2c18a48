//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"twofold.dev/qa/xvfb"
)

var (
	binDir       = flag.String("bin", "../../bin", "directory holding twofold-portal and twofold")
	artifactsDir = flag.String("artifacts", "../../e2e-artifacts", "where the screenshots go")
)

const (
	username    = "qa-joe"
	displayName = "Joe"
	password    = "correct horse battery staple"
	issuer      = "Twofold Portal"
	screenW     = 2200 // the browser on the left, the desktop app on the right
	screenH     = 1000
)

// run is one end-to-end session: a display, a portal, a browser.
type run struct {
	t         *testing.T
	x         *xvfb.Server
	display   string
	base      string // portal URL
	artifacts string
	shot      int
	configDir string // the desktop app's index (XDG_CONFIG_HOME)
	linkDir   string // the index of the app the browser's link starts
	browser   context.Context
}

func TestEnrollmentFlow(t *testing.T) {
	r := &run{t: t}
	r.artifacts = mustAbs(t, *artifactsDir)
	if err := os.MkdirAll(r.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	// Only this run's pictures of an earlier run go: the window gallery
	// and the package tests write beside them.
	old, _ := filepath.Glob(filepath.Join(r.artifacts, "[0-9][0-9]-*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	portal := mustAbs(t, filepath.Join(*binDir, "twofold-portal"))
	desktop := mustAbs(t, filepath.Join(*binDir, "twofold"))
	for _, p := range []string{portal, desktop} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s missing: run `make build` first (make e2e does)", p)
		}
	}
	for _, tool := range [][2]string{{"chromium", "chromium"}, {"import", "imagemagick"}, {"xdotool", "xdotool"}, {"secret-tool", "libsecret-tools"}} {
		if _, err := exec.LookPath(tool[0]); err != nil {
			t.Fatalf("%s not found: install the Debian package %s (make deps does)", tool[0], tool[1])
		}
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("no session bus: run this test through scripts/with-keyring.sh (make e2e does)")
	}
	r.configDir = t.TempDir()
	r.linkDir = t.TempDir()
	registerLinkHandler(t, desktop)

	r.x = xvfb.StartT(t, screenW, screenH)
	r.display = r.x.Display
	t.Setenv("DISPLAY", r.display) // chromedp's visible window reads it
	r.base = startPortal(t, portal)
	r.browser = startBrowser(t, r.display, r.base, r.linkDir)

	// 1–2: the announcement's steps, by their labels.
	r.step("portal-started", func() error {
		return chromedp.Do(r.browser, chromedp.Navigate(r.base+"/signup"), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)))
	})
	r.step("signed-up", func() error {
		return chromedp.Do(r.browser,
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
			chromedp.SendKeys(chromedp.CSS(`input[name=display_name]`), displayName),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
			chromedp.SendKeys(chromedp.CSS(`input[name=password_confirm]`), password),
			submit(`input[name=username]`),
			chromedp.WaitVisible(label("Hello, "+displayName+"!")),
		)
	})
	r.step("account-menu", func() error { return chromedp.Do(r.browser, chromedp.Click(label("Hello, "+displayName+"!"))) })
	r.step("security-settings", func() error {
		return chromedp.Do(r.browser, chromedp.Click(label("Security Settings")), chromedp.WaitVisible(label("Two Factor Authentication")))
	})
	r.step("click-here-to-enable", func() error {
		return chromedp.Do(r.browser, chromedp.Click(label("Click here to enable")), chromedp.WaitVisible(label("Time Based Tokens")))
	})
	r.step("time-based-tokens", func() error {
		return chromedp.Do(r.browser, chromedp.Click(label("Time Based Tokens")), chromedp.WaitVisible(label("Get Started")))
	})
	r.step("get-started", func() error {
		if err := chromedp.Do(r.browser, chromedp.Click(label("Get Started")), chromedp.WaitVisible(chromedp.CSS(`input[name=code]`))); err != nil {
			return err
		}
		// The QR image must have loaded before anything scans the screen.
		_, err := chromedp.Run(r.browser, chromedp.Poll[bool](`[...document.images].every(i => i.complete && i.naturalWidth > 0)`))
		return err
	})

	// 3: the desktop app finds the QR code on the screen.
	account := issuer + ":" + username
	r.step("twofold-add-screen", func() error {
		out, err := r.twofold(desktop, "add", "--screen")
		if err != nil {
			return err
		}
		if !strings.Contains(out, username) {
			return fmt.Errorf("twofold add --screen printed %q, want the account %s", out, username)
		}
		list, err := r.twofold(desktop, "list")
		if err != nil {
			return err
		}
		if !strings.Contains(list, account) {
			return fmt.Errorf("twofold list does not show %s:\n%s", account, list)
		}
		items, err := exec.Command("secret-tool", "search", "--all", "service", "twofold").CombinedOutput()
		if err != nil || !strings.Contains(string(items), "service = twofold") {
			return fmt.Errorf("no keyring item for the account: %v: %s", err, items)
		}
		return nil
	})

	// The GUI path once: the real window scans the same screen.
	stopGUI := func() {}
	r.step("gui-scan-from-screen", func() (err error) {
		stopGUI, err = r.guiScan(desktop)
		return err
	})
	stopGUI() // after the screenshot, which shows the account in the window

	// The set-up page's "Open in authenticator app on this computer" link:
	// Chromium hands the otpauth:// link to the handler registered for it
	// (the desktop app, by its .desktop file and xdg-mime), whose window
	// opens on the add preview; Enter adds. Its code signs in below.
	stopLink := func() {}
	r.step("open-link-in-desktop-app", func() (err error) {
		stopLink, err = r.linkAdd(desktop)
		return err
	})
	stopLink()

	// 4: the desktop app's code verifies the enrollment.
	var recovery []string
	r.step("verified-with-desktop-code", func() error {
		code, err := r.code(desktop, account)
		if err != nil {
			return err
		}
		if err := chromedp.Do(r.browser,
			chromedp.SendKeys(chromedp.CSS(`input[name=code]`), code),
			submit(`input[name=code]`),
			chromedp.WaitVisible(chromedp.ID("recovery-codes")),
		); err != nil {
			return err
		}
		codes, err := chromedp.Run(r.browser, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#recovery-codes code')].map(c => c.textContent.trim())`))
		if err != nil {
			return err
		}
		if len(codes) != 10 {
			return fmt.Errorf("%d recovery codes, want 10", len(codes))
		}
		recovery = codes
		return nil
	})
	enrolledStep := time.Now().Unix() / 30

	// 5: log out and back in with the desktop app's next code.
	r.step("logged-out", func() error { return r.logout() })
	r.step("password-then-code-prompt", func() error { return r.password() })
	r.step("logged-in-with-fresh-code", func() error {
		// A code is single-use: wait for the step after the enrollment's.
		for time.Now().Unix()/30 <= enrolledStep {
			time.Sleep(time.Until(time.Unix((enrolledStep+1)*30, 0)) + 200*time.Millisecond)
		}
		// The account the link added: its code signs in.
		code, err := r.codeIn(desktop, r.linkDir, account)
		if err != nil {
			return err
		}
		return chromedp.Do(r.browser,
			chromedp.SendKeys(chromedp.CSS(`input[name=code]`), code),
			submit(`input[name=code]`),
			chromedp.WaitVisible(label("Hello, "+displayName+"!")),
		)
	})

	// 6: a recovery code works once.
	r.step("logged-out-again", func() error { return r.logout() })
	r.step("recovery-code-accepted", func() error {
		if err := r.password(); err != nil {
			return err
		}
		return r.recoveryCode(recovery[0], true)
	})
	r.step("recovery-code-refused-second-time", func() error {
		if err := r.logout(); err != nil {
			return err
		}
		if err := r.password(); err != nil {
			return err
		}
		return r.recoveryCode(recovery[0], false)
	})

	// 7: turn 2FA off, then the password alone logs in.
	r.step("2fa-turned-off", func() error {
		if err := r.recoveryCode(recovery[1], true); err != nil {
			return fmt.Errorf("logging in with a second recovery code: %w", err)
		}
		return chromedp.Do(r.browser,
			chromedp.Navigate(r.base+"/settings/security"),
			chromedp.WaitVisible(chromedp.CSS(`form[action$="/2fa/disable"] input[name=password]`)),
			chromedp.SendKeys(chromedp.CSS(`form[action$="/2fa/disable"] input[name=password]`), password),
			chromedp.SendKeys(chromedp.CSS(`form[action$="/2fa/disable"] input[name=recovery_code]`), recovery[2]),
			submit(`form[action$="/2fa/disable"] input[name=password]`),
			chromedp.WaitVisible(label("Click here to enable")),
		)
	})
	r.step("password-alone-logs-in", func() error {
		if err := r.logout(); err != nil {
			return err
		}
		return chromedp.Do(r.browser,
			chromedp.Navigate(r.base+"/login"),
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
			submit(`input[name=username]`),
			chromedp.WaitVisible(label("Hello, "+displayName+"!")),
		)
	})
	t.Logf("all steps passed; screenshots in %s", r.artifacts)
}

// label selects the innermost visible element whose text is exactly s, the
// way a person finds a button or a link.
func label(s string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[self::a or self::button or self::summary or self::h1 or self::h2 or self::h3 or self::label or self::span][normalize-space()=%q]`, s))
}

// step runs one step, saves a screenshot of the whole display after it,
// and on failure says which step failed and where the pictures are.
func (r *run) step(name string, fn func() error) {
	r.t.Helper()
	browser := r.browser
	if browser != nil {
		ctx, cancel := context.WithTimeout(browser, stepTimeout)
		defer cancel()
		r.browser = ctx
	}
	err := fn()
	r.browser = browser
	file := r.screenshot(name)
	if err != nil {
		r.t.Fatalf("step %d %q failed: %v\nscreenshots (the last one shows the failure): %s", r.shot, name, err, r.artifacts)
	}
	r.t.Logf("step %d %s: ok (%s)", r.shot, name, filepath.Base(file))
}

// stepTimeout bounds one step of the flow, waits for a fresh time step
// (up to 30 s) included; a slow machine gets it whole for every step.
const stepTimeout = 3 * time.Minute

// screenshot saves the whole display as NN-name.png.
func (r *run) screenshot(name string) string {
	r.shot++
	file := filepath.Join(r.artifacts, fmt.Sprintf("%02d-%s.png", r.shot, name))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The DOM of an answer is ready before the browser paints it: wait for
	// two frames, so the picture shows what the step saw.
	if r.browser != nil {
		fctx, fcancel := context.WithTimeout(r.browser, 10*time.Second)
		chromedp.Do(fctx, chromedp.Evaluate[chromedp.Void](`new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))`, chromedp.EvalAwaitPromise))
		fcancel()
	}
	if err := r.x.Screenshot(ctx, file); err != nil {
		r.t.Logf("screenshot %s: %v", file, err)
	}
	return file
}

func (r *run) logout() error {
	return chromedp.Do(r.browser,
		chromedp.Click(label("Hello, "+displayName+"!")),
		chromedp.Click(label("Log out")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] input[name=password]`)),
	)
}

// password logs in up to the code prompt.
func (r *run) password() error {
	return chromedp.Do(r.browser,
		chromedp.Navigate(r.base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		submit(`input[name=username]`),
		chromedp.WaitVisible(chromedp.CSS(`input[name=code]`)),
	)
}

func (r *run) recoveryCode(code string, wantOK bool) error {
	if err := chromedp.Do(r.browser,
		chromedp.Click(label("Use a recovery code")),
		chromedp.WaitVisible(chromedp.CSS(`input[name=recovery_code]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=recovery_code]`), code),
		submit(`input[name=recovery_code]`),
	); err != nil {
		return err
	}
	if wantOK {
		return chromedp.Do(r.browser, chromedp.WaitVisible(label("Hello, "+displayName+"!")))
	}
	// Refused: the portal's answer is the recovery form again, with a
	// message, not signed in.
	if err := chromedp.Do(r.browser, chromedp.WaitVisible(chromedp.CSS(`input[name=recovery_code]`))); err != nil {
		return err
	}
	body, err := chromedp.Run(r.browser, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil {
		return err
	}
	if strings.Contains(body, "Hello, "+displayName+"!") {
		return errors.New("a used recovery code signed in again")
	}
	if !strings.Contains(body, "already used") {
		return fmt.Errorf("the refusal does not say why; the page reads:\n%s", body)
	}
	return nil
}

// twofoldIn runs the desktop app's command line against the index in dir.
func (r *run) twofoldIn(bin, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-config", dir}, args...)...)
	cmd.Env = r.x.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("twofold %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// codeIn is the current code of account in the index in dir.
func (r *run) codeIn(bin, dir, account string) (string, error) {
	out, err := r.twofoldIn(bin, dir, "code", account)
	if err != nil {
		return "", err
	}
	code := strings.TrimSpace(out)
	if !sixDigits.MatchString(code) {
		return "", fmt.Errorf("twofold code printed %q, want 6 digits", code)
	}
	return code, nil
}

// twofold runs the desktop app's command line on the display and the
// private keyring, with its own config dir.
func (r *run) twofold(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+r.display, "XDG_CONFIG_HOME="+r.configDir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("twofold %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

func (r *run) code(bin, account string) (string, error) {
	out, err := r.twofold(bin, "code", account)
	if err != nil {
		return "", err
	}
	code := strings.TrimSpace(out)
	if !sixDigits.MatchString(code) {
		return "", fmt.Errorf("twofold code printed %q, want 6 digits", code)
	}
	return code, nil
}

// guiScan starts the real window with its own (empty) config dir, moves it
// beside the browser, presses the "Scan QR from screen" shortcut once,
// waits for the preview, confirms it with Enter once and waits until the
// account is stored. A dropped key press fails the step. The caller stops
// the window.
func (r *run) guiScan(bin string) (stop func(), err error) {
	dir := r.t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(r.x.Env(), "XDG_CONFIG_HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return func() {}, err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	fail := func(err error) (func(), error) {
		stop()
		return func() {}, fmt.Errorf("%w\nwindow output:\n%s", err, out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	win, err := r.x.Window(ctx, "^Twofold")
	if err != nil {
		return fail(err)
	}
	if _, err := r.x.Output(ctx, "xdotool", "windowmove", "--sync", win, "1300", "0"); err != nil {
		return fail(err)
	}
	// There is no window manager: give the window the keyboard directly.
	if err := r.x.Focus(ctx, win); err != nil {
		return fail(err)
	}
	before, err := r.x.Capture(ctx, win)
	if err != nil {
		return fail(err)
	}
	if err := r.x.Key(ctx, "ctrl+shift+s"); err != nil {
		return fail(err)
	}
	if err := r.x.WaitChange(ctx, win, before, 0.10); err != nil {
		return fail(fmt.Errorf("no preview after Ctrl+Shift+S: %w", err))
	}
	r.screenshot("gui-preview")
	if err := r.x.Key(ctx, "Return"); err != nil {
		return fail(err)
	}
	for {
		cli := exec.CommandContext(ctx, bin, "list")
		cli.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir)
		list, err := cli.CombinedOutput()
		if err == nil && strings.Contains(string(list), issuer+":"+username) {
			return stop, nil
		}
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("after Enter in the preview, twofold list (%v):\n%s", err, list))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func startPortal(t *testing.T, bin string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--addr", addr, "--data", data, "--issuer", issuer)
	logFile, err := os.Create(filepath.Join(mustAbs(t, *artifactsDir), "portal.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait(); logFile.Close() })
	base := "http://" + addr
	for i := 0; ; i++ {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if i == 200 {
			t.Fatalf("portal did not become healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func startBrowser(t *testing.T, display, base, linkDir string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.VisibleWindow,
		chromedp.Flag("start-maximized", false),
		chromedp.WindowSize(1280, screenH),
		chromedp.Flag("window-position", "0,0"),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("test-type", true), // no "unsupported flag" bar over the page
		chromedp.UserDataDir(profile(t, base)),
		chromedp.Env("DISPLAY="+display),
		// What the link handler (the desktop app) inherits through xdg-open.
		chromedp.Env("TWOFOLD_CONFIG_DIR="+linkDir, "LANG=en_US.UTF-8"),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	// No deadline on the browser's own context: its first Run starts
	// chromium, which a deadline there would close. Each step has its own
	// (run.step); the whole flow once had five minutes, which a busy
	// machine used up by step 16.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// profile is a fresh browser profile whose password manager stays quiet
// (its "Save password?" bubble would cover the page in the screenshots)
// and which lets the portal's page open otpauth:// links without asking,
// as a user who ticked "Always allow" would.
func profile(t *testing.T, base string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	prefs := fmt.Sprintf(`{"credentials_enable_service": false, "profile": {"password_manager_enabled": false},
		"protocol_handler": {"allowed_origin_protocol_pairs": {%q: {"otpauth": true, "otpauth-migration": true}}}}`, base)
	if err := os.WriteFile(filepath.Join(dir, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// submit submits the form of the input sel and waits until the portal's
// answer has replaced the page. The old document is marked first, and the
// wait is for a document without the mark: an element the answer shares
// with the old page (the same form, shown again with a message) must not
// be mistaken for the answer.
func submit(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.twofoldE2EOldPage = true`)); err != nil {
			return err
		}
		if err := chromedp.Do(ctx, chromedp.Submit(chromedp.CSS(sel))); err != nil {
			return err
		}
		for {
			// Evaluating fails while the navigation swaps the documents.
			replaced, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.twofoldE2EOldPage === undefined && document.readyState === "complete"`))
			if err == nil && replaced {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("no answer replaced the page after submitting %s: %w", sel, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// registerLinkHandler makes the desktop binary the handler of otpauth://
// links in this test's private HOME, as the .deb's .desktop file does for
// an installed Twofold: the packaged file with its Exec pointing at bin.
func registerLinkHandler(t *testing.T, bin string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(moduleRoot(t), "packaging", "linux", "dev.twofold.authenticator.desktop"))
	if err != nil {
		t.Fatal(err)
	}
	entry := strings.Replace(string(src), "Exec=twofold ", "Exec="+bin+" ", 1)
	if entry == string(src) {
		t.Fatal("the packaged .desktop file has no Exec=twofold line")
	}
	home := os.Getenv("HOME")
	apps := filepath.Join(home, ".local", "share", "applications")
	if err := os.MkdirAll(apps, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(apps, "dev.twofold.authenticator.desktop"), []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"otpauth", "otpauth-migration"} {
		if out, err := exec.Command("xdg-mime", "default", "dev.twofold.authenticator.desktop", "x-scheme-handler/"+scheme).CombinedOutput(); err != nil {
			t.Fatalf("xdg-mime: %v: %s", err, out)
		}
	}
}

// moduleRoot is the repository's top folder (the e2e test runs in qa/e2e).
func moduleRoot(t *testing.T) string {
	t.Helper()
	return mustAbs(t, filepath.Join("..", ".."))
}

// linkAdd clicks the set-up page's link to the desktop app, waits for the
// app's window (started by the browser through xdg-open), presses Enter
// once on its add preview and waits until the account is stored.
func (r *run) linkAdd(bin string) (stop func(), err error) {
	stop = func() {} // nothing to stop until a window came
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := chromedp.Do(r.browser, chromedp.Click(chromedp.CSS(`#otpauth-link`))); err != nil {
		return stop, err
	}
	win, err := r.x.Window(ctx, "^Twofold")
	if err != nil {
		return stop, fmt.Errorf("no desktop window after the link was clicked: %w", err)
	}
	stop = func() {
		if pid, err := r.x.Output(context.Background(), "xdotool", "getwindowpid", win); err == nil {
			exec.Command("kill", strings.TrimSpace(pid)).Run()
		}
	}
	if _, err := r.x.Output(ctx, "xdotool", "windowmove", "--sync", win, "1300", "0"); err != nil {
		return stop, err
	}
	if err := r.x.Focus(ctx, win); err != nil {
		return stop, err
	}
	// The window shows the preview in its first frame (OpenLink runs before
	// it is shown), so Enter is pressed once, on it.
	r.screenshot("link-preview")
	if err := r.x.Key(ctx, "Return"); err != nil {
		return stop, err
	}
	for {
		list, err := r.twofoldIn(bin, r.linkDir, "list")
		if err == nil && strings.Contains(list, issuer+":"+username) {
			return stop, nil
		}
		select {
		case <-ctx.Done():
			return stop, fmt.Errorf("after Enter in the link's preview, twofold list (%v):\n%s", err, list)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
