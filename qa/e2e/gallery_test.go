//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"twofold.dev/qa/xvfb"
	"twofold.dev/shared/qr"
)

// TestWindowGallery draws the real desktop window in the states a person
// meets, at the widths, themes and scales issue 12 asks for, into
// e2e-artifacts/window/. The pictures are for people to look at; the test
// checks only what a picture alone cannot hide: each window drew something
// and took the width it was given (or its minimum).
func TestWindowGallery(t *testing.T) {
	bin := mustAbs(t, filepath.Join(*binDir, "twofold"))
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s missing: run `make build` first (make e2e does)", bin)
	}
	for _, tool := range [][2]string{{"import", "imagemagick"}, {"display", "imagemagick"}, {"xdotool", "xdotool"}, {"xclip", "xclip"}, {"xprop", "x11-utils"}, {"secret-tool", "libsecret-tools"}} {
		if _, err := exec.LookPath(tool[0]); err != nil {
			t.Fatalf("%s not found: install the Debian package %s (make deps does)", tool[0], tool[1])
		}
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("no session bus: run this test through scripts/with-keyring.sh (make e2e does)")
	}
	out := filepath.Join(mustAbs(t, *artifactsDir), "window")
	os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	g := &gallery{t: t, bin: bin, out: out, x: xvfb.StartT(t, 1700, 1100)}

	empty := t.TempDir()
	five := g.seed(fiveAccounts())
	if _, err := g.run(five, nil, "pin", "Bank:anna"); err != nil { // a pinned row in every picture
		t.Fatal(err)
	}
	many := g.seed(manyAccounts(82))

	// Every size, light and dark, scale 1 and 2.
	for _, st := range []struct{ name, dir string }{{"empty", empty}, {"5-accounts", five}, {"82-accounts", many}} {
		for _, look := range []string{"light", "dark"} {
			for _, scale := range []string{"1", "2"} {
				w := g.open(st.dir, "FYNE_THEME="+look, "FYNE_SCALE="+scale)
				for _, width := range []int{320, 460, 900, 1600} {
					w.resize(width, 900)
					w.shot(fmt.Sprintf("%s-%s-scale%s-%d.png", st.name, look, scale, width))
				}
				w.close()
			}
		}
	}

	// Each route to a new account, up to its preview, and an error: light,
	// at the default size, over five accounts.
	w := g.open(five, "FYNE_THEME=light")
	w.shot("routes-0-window.png")

	w.press("ctrl+n", "routes-1-add-dialog.png")
	w.press("Escape", "")

	qrFile := filepath.Join(t.TempDir(), "shown-qr.png")
	png, err := qr.PNG("otpauth://totp/Gallery:scan@example.com?secret=KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU&issuer=Gallery", 300)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(qrFile, png, 0o600); err != nil {
		t.Fatal(err)
	}
	stopQR := g.start("display", "-geometry", "+1000+100", qrFile)
	if _, err := g.x.Window(g.within(time.Minute), "shown-qr.png"); err != nil {
		t.Fatal(err)
	}
	w.focus()
	w.press("ctrl+shift+s", "routes-2-scan-preview.png")
	w.press("Escape", "")
	stopQR()

	w.press("ctrl+o", "routes-3-open-file.png")
	w.press("Escape", "")

	stopClip := g.clipboard("UTF8_STRING", []byte("otpauth://totp/Gallery:pasted@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Gallery&digits=8"))
	w.press("ctrl+v", "routes-4-paste-link-preview.png")
	w.press("Escape", "")
	stopClip()

	stopClip = g.clipboard("UTF8_STRING", []byte("otpauth://totp/Broken?secret=not-base32!"))
	w.press("ctrl+v", "error-1-bad-link.png")
	w.press("Escape", "")
	stopClip()

	// A link handed over by a second start, as a browser's click does.
	before := w.capture()
	if _, err := g.run(five, nil, "otpauth://totp/Gallery:link@example.com?secret=GEZDGNBVGY3TQOJQ&issuer=Gallery"); err != nil {
		t.Fatal(err)
	}
	if err := g.x.WaitChange(g.within(time.Minute), w.id, before, 0.10); err != nil {
		t.Fatalf("no preview after a second start handed over a link: %v", err)
	}
	w.shot("routes-5-link-preview.png")
	w.press("Escape", "")
	w.close()

	// No Secret Service at all: one message and Retry, not a dialog storm.
	w = g.open(five, "FYNE_THEME=light", "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	w.shot("error-2-no-keyring.png")
	w.close()

	// The app lock, on at start: the lock screen, at two widths and both
	// themes, then unlocked with its password.
	prefs := g.lockOn(lockPassword)
	for _, look := range []string{"light", "dark"} {
		w = g.open(five, "FYNE_THEME="+look, "XDG_CONFIG_HOME="+prefs)
		for _, width := range []int{320, 460} {
			w.resize(width, 600)
			w.shot(fmt.Sprintf("locked-%s-%d.png", look, width))
		}
		w.close()
	}
	w = g.open(five, "FYNE_THEME=light", "XDG_CONFIG_HOME="+prefs)
	if _, err := g.x.Output(g.within(30*time.Second), "xdotool", "type", "--delay", "20", "wrong password"); err != nil {
		t.Fatal(err)
	}
	w.press("Return", "")
	w.shot("locked-wrong-password.png")
	for range len("wrong password") {
		w.press("BackSpace", "")
	}
	if _, err := g.x.Output(g.within(30*time.Second), "xdotool", "type", "--delay", "20", lockPassword); err != nil {
		t.Fatal(err)
	}
	w.press("Return", "unlocked.png")
	w.close()
	t.Logf("gallery in %s", out)
}

const lockPassword = "gallery lock pass"

// lockOn turns the app lock on as its Settings do: the password's argon2id
// hash in the keyring (service twofold-lock) and the switch in the app's
// preferences, in a config home of its own (returned), so the windows
// before it are not locked. The hash comes from the reference argon2
// command, not from Twofold's code.
func (g *gallery) lockOn(password string) string {
	salt := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		g.t.Fatal(err)
	}
	// -m 15: 32 MiB, within what the app accepts of a stored hash.
	ref := exec.Command("argon2", hex.EncodeToString(salt), "-id", "-t", "2", "-m", "15", "-p", "1", "-l", "32", "-e")
	ref.Stdin = strings.NewReader(password)
	out, err := ref.Output()
	if err != nil {
		g.t.Fatalf("argon2 (Debian package argon2): %v", err)
	}
	hash := strings.TrimSpace(string(out))
	store := exec.Command("secret-tool", "store", "--label", "Twofold app lock (gallery)", "service", "twofold-lock", "username", "password")
	store.Stdin = strings.NewReader(hash)
	if out, err := store.CombinedOutput(); err != nil {
		g.t.Fatalf("secret-tool store: %v %s", err, out)
	}
	g.t.Cleanup(func() { exec.Command("secret-tool", "clear", "service", "twofold-lock", "username", "password").Run() })
	home := g.t.TempDir()
	dir := filepath.Join(home, "fyne", "dev.twofold.authenticator")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "preferences.json"), []byte(`{"app-lock":true,"app-lock-idle-minutes":5}`), 0o600); err != nil {
		g.t.Fatal(err)
	}
	return home
}

// gallery is the real binary on one display, with pictures going to out.
type gallery struct {
	t   *testing.T
	bin string
	out string
	x   *xvfb.Server
}

func (g *gallery) within(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	g.t.Cleanup(cancel)
	return ctx
}

// run is the desktop CLI against config dir dir, with input on stdin.
func (g *gallery) run(dir string, stdin []byte, args ...string) (string, error) {
	cmd := g.x.Command(g.within(time.Minute), g.bin, append([]string{"-config", dir}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("twofold %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// seed is a config dir holding the accounts of uris, added by the CLI.
func (g *gallery) seed(uris []string) string {
	dir := g.t.TempDir()
	if _, err := g.run(dir, nil, append([]string{"add"}, uris...)...); err != nil {
		g.t.Fatal(err)
	}
	return dir
}

// start runs a helper program on the display until the returned stop.
func (g *gallery) start(name string, args ...string) (stop func()) {
	cmd := g.x.Command(context.Background(), name, args...)
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	done := false
	stop = func() {
		if !done {
			done = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	g.t.Cleanup(stop)
	return stop
}

// clipboard puts data on the display's clipboard until stop.
func (g *gallery) clipboard(mime string, data []byte) (stop func()) {
	f := filepath.Join(g.t.TempDir(), "clip")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		g.t.Fatal(err)
	}
	stop = g.start("xclip", "-quiet", "-selection", "clipboard", "-t", mime, "-i", f)
	ctx := g.within(30 * time.Second)
	for {
		if _, err := g.x.Output(ctx, "xclip", "-selection", "clipboard", "-t", "TARGETS", "-o"); err == nil {
			return stop
		}
		select {
		case <-ctx.Done():
			g.t.Fatal("xclip never owned the clipboard")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// window is one run of the desktop window.
type window struct {
	g     *gallery
	id    string
	stop  func()
	width int
}

// open starts the window on config dir dir, with env added to the
// display's environment.
func (g *gallery) open(dir string, env ...string) *window {
	g.t.Helper()
	cmd := g.x.Command(context.Background(), g.bin, "-config", dir)
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	id, err := g.x.Window(g.within(2*time.Minute), "^Twofold$")
	if err != nil {
		stop()
		g.t.Fatalf("the window did not map (%s): %v\n%s", strings.Join(env, " "), err, out.String())
	}
	w := &window{g: g, id: id, stop: stop}
	g.t.Cleanup(stop)
	w.focus()
	w.settle()
	return w
}

func (w *window) close() { w.stop() }

// focus gives the window the keyboard (there is no window manager).
func (w *window) focus() {
	if err := w.g.x.Focus(w.g.within(30*time.Second), w.id); err != nil {
		w.g.t.Fatal(err)
	}
}

func (w *window) capture() image.Image {
	img, err := w.g.x.Capture(w.g.within(30*time.Second), w.id)
	if err != nil {
		w.g.t.Fatal(err)
	}
	return img
}

// settle waits until the window has painted all of itself (a window
// still busy after a resize shows black where it has not drawn yet) and
// two looks a moment apart show the same picture, or differ only as a
// countdown does (under 2% of the pixels).
func (w *window) settle() image.Image {
	ctx := w.g.within(time.Minute)
	prev := w.capture()
	for {
		select {
		case <-ctx.Done():
			w.g.t.Fatal("the window never stopped changing, or never painted its corners")
		case <-time.After(150 * time.Millisecond):
		}
		img := w.capture()
		if painted(img) && xvfb.Diff(prev, img) < 0.02 {
			return img
		}
		prev = img
	}
}

// painted reports whether img's corners are drawn: neither theme paints
// pure black, which is what X shows where a window has not drawn.
func painted(img image.Image) bool {
	b := img.Bounds()
	for _, p := range []image.Point{{b.Min.X + 2, b.Max.Y - 3}, {b.Max.X - 3, b.Max.Y - 3}, {b.Max.X - 3, b.Min.Y + 2}} {
		if r, g, bl, _ := img.At(p.X, p.Y).RGBA(); r == 0 && g == 0 && bl == 0 {
			return false
		}
	}
	return true
}

// resize asks for width × height as a window manager would: no smaller
// than the minimum size the window asks for (WM_NORMAL_HINTS; Xvfb has no
// window manager to hold it). The file name says what was asked, the log
// what was given.
func (w *window) resize(width, height int) {
	w.g.t.Helper()
	ctx := w.g.within(30 * time.Second)
	hints, err := w.g.x.Output(ctx, "xprop", "-id", w.id, "WM_NORMAL_HINTS")
	if err != nil {
		w.g.t.Fatal(err)
	}
	if m := minSize.FindStringSubmatch(hints); m != nil {
		minW, _ := strconv.Atoi(m[1])
		minH, _ := strconv.Atoi(m[2])
		if width < minW || height < minH {
			w.g.t.Logf("asked for %d×%d; the window's minimum is %d×%d", width, height, minW, minH)
		}
		width, height = max(width, minW), max(height, minH)
	}
	if _, err := w.g.x.Output(ctx, "xdotool", "windowsize", "--sync", w.id, strconv.Itoa(width), strconv.Itoa(height)); err != nil {
		w.g.t.Fatal(err)
	}
	w.width = width
}

var minSize = regexp.MustCompile(`minimum size: (\d+) by (\d+)`)

// shot saves the settled window; a window that drew nothing fails.
func (w *window) shot(name string) {
	w.g.t.Helper()
	img := w.settle()
	if xvfb.Colours(img, 3) < 3 {
		w.g.t.Fatalf("%s: the window drew nothing", name)
	}
	if got := img.Bounds().Dx(); w.width != 0 && got != w.width {
		w.g.t.Errorf("%s: the window is %d px wide, not the %d it was given", name, got, w.width)
	}
	if err := xvfb.WriteImage(filepath.Join(w.g.out, name), img); err != nil {
		w.g.t.Fatal(err)
	}
}

// press presses keys once; with a picture name, it waits for the window
// to change (a dialog opening) and saves it.
func (w *window) press(keys, name string) {
	w.g.t.Helper()
	before := w.settle()
	if err := w.g.x.Key(w.g.within(30*time.Second), keys); err != nil {
		w.g.t.Fatal(err)
	}
	if name == "" {
		w.settle()
		return
	}
	if err := w.g.x.WaitChange(w.g.within(time.Minute), w.id, before, 0.05); err != nil {
		w.g.t.Fatalf("%s: nothing opened after %s: %v", name, keys, err)
	}
	w.shot(name)
}

// fiveAccounts are the kinds a person has: 6 and 8 digits, SHA-256, a
// 60-second period, HOTP, and an account without an issuer.
func fiveAccounts() []string {
	return []string{
		"otpauth://totp/GitHub:joe@example.com?secret=JBSWY3DPEHPK3PXP&issuer=GitHub",
		"otpauth://totp/Twofold%20Portal:qa-joe?secret=KRSXG5CTMVRXEZLU&issuer=Twofold%20Portal",
		"otpauth://totp/Bank:anna?secret=GEZDGNBVGY3TQOJQGEZDGNBV&algorithm=SHA256&digits=8&period=60&issuer=Bank",
		"otpauth://hotp/VPN:joe?secret=MFRGGZDFMZTWQ2LK&counter=4&issuer=VPN",
		"otpauth://totp/home-server?secret=ONSWG4TFOQ",
	}
}

// manyAccounts are n accounts with made-up, varied names.
func manyAccounts(n int) []string {
	issuers := []string{"GitHub", "GitLab", "Google", "Microsoft", "Amazon Web Services", "Dropbox", "Proton", "Fastmail", "Cloudflare", "Bitwarden", "Namecheap", "DigitalOcean"}
	var uris []string
	for i := 0; i < n; i++ {
		uris = append(uris, fmt.Sprintf("otpauth://totp/%s:user%02d@example.com?secret=JBSWY3DPEHPK3P%s&issuer=%s",
			strings.ReplaceAll(issuers[i%len(issuers)], " ", "%20"), i, base32Pair(i), strings.ReplaceAll(issuers[i%len(issuers)], " ", "%20")))
	}
	return uris
}

// base32Pair is two base32 letters that differ for each i below 1024, so
// no two made-up accounts share a secret.
func base32Pair(i int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	return string([]byte{alphabet[i/32%32], alphabet[i%32]})
}
