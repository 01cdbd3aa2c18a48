// Package smoke runs the real desktop binary: on a private X display under
// a private Secret Service (make test-qa runs it inside
// scripts/with-keyring.sh), and without any keyring.
package smoke

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"twofold.dev/qa/xvfb"
	"twofold.dev/shared/qr"
)

// The real binary on a real (virtual) X display: the window maps, and
// `twofold add --screen` and the window's Scan shortcut both read a QR code
// shown by another program. These tests wait on wall time, for real
// processes to start and answer; they never press a key twice.

var artifacts = flag.String("artifacts", "", "keep the screenshots in this directory")

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (make deps installs it): %v", tool, err)
		}
	}
}

// buildBinary compiles the desktop command into a temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "twofold")
	out, err := exec.Command("go", "build", "-o", bin, "twofold.dev/desktop/cmd/twofold").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// eventually retries check every 200 ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// session is the binary on a display, with its own config dir.
type session struct {
	t   *testing.T
	x   *xvfb.Server
	bin string
	env []string
	dir string // for screenshots
}

func (s *session) cmd(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = s.env
	return c
}

func (s *session) output(name string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	c := s.cmd(name, args...)
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// start runs a long-lived process on the display, stopped at the end.
func (s *session) start(name string, args ...string) {
	s.t.Helper()
	c := s.cmd(name, args...)
	var errOut bytes.Buffer
	c.Stderr = &errOut
	if err := c.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	s.t.Cleanup(func() {
		c.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			c.Process.Kill()
			<-done
		}
		if s.t.Failed() && errOut.Len() > 0 {
			s.t.Logf("%s stderr:\n%s", name, errOut.String())
		}
	})
}

func (s *session) screenshot(name string) {
	s.t.Helper()
	if err := s.x.Screenshot(context.Background(), filepath.Join(s.dir, name)); err != nil {
		s.t.Fatal(err)
	}
}

// within is a context for one wait on the real programs.
func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestBinaryUnderXvfb(t *testing.T) {
	secretService(t)
	need(t, "xdotool", "import", "display", "oathtool", "xclip")
	bin := buildBinary(t)
	x := xvfb.StartT(t, 1600, 1000)
	shots := *artifacts
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, x: x, bin: bin, dir: shots, env: append(x.Env(), "TWOFOLD_CONFIG_DIR="+t.TempDir())}
	defer func() {
		if t.Failed() {
			t.Logf("screenshots in %s", shots)
		}
	}()

	// 1. The window starts, is mapped and draws.
	s.start(bin)
	win, err := x.Window(within(t, 90*time.Second), "^Twofold$")
	if err != nil {
		t.Fatal(err)
	}
	s.screenshot("1-window.png")

	// 2. Another program shows a QR code; `twofold add --screen` finds it.
	secret := "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
	data, err := qr.PNG("otpauth://totp/Portal:qa@example.com?secret="+secret+"&issuer=Portal&digits=8&algorithm=SHA256", 300)
	if err != nil {
		t.Fatal(err)
	}
	qrFile := filepath.Join(t.TempDir(), "portal-qr.png")
	if err := os.WriteFile(qrFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s.start("display", "-geometry", "+900+150", qrFile)
	if _, err := x.Window(within(t, 60*time.Second), "portal-qr.png"); err != nil {
		t.Fatal(err)
	}
	s.screenshot("2-qr-shown.png")
	out, err := s.output(bin, "add", "--screen")
	if err != nil || out != "added Portal:qa@example.com\n" {
		t.Fatalf("twofold add --screen: %q %v", out, err)
	}

	// 3. Its codes are oathtool's.
	before := time.Now().Unix()
	out, err = s.output(bin, "code", "Portal")
	after := time.Now().Unix()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, at := range []int64{before, after} {
		want = append(want, oathtool(t, "--totp=SHA256", "-d", "8", "-b", "-N", "@"+strconv.FormatInt(at, 10), secret))
	}
	if got := strings.TrimSpace(out); got != want[0] && got != want[1] {
		t.Fatalf("twofold code %q, oathtool %v", got, want)
	}

	// 4. The same through the window: Ctrl+Shift+S scans, Enter adds.
	if _, err := s.output(bin, "remove", "Portal"); err != nil {
		t.Fatal(err)
	}
	if err := x.Focus(within(t, 30*time.Second), win); err != nil {
		t.Fatal(err)
	}
	confirm(t, s, win, "ctrl+shift+s", "3-scan-preview.png")
	s.screenshot("4-added-in-window.png")

	// 5. A QR image on the clipboard: Ctrl+V, Enter.
	if _, err := s.output(bin, "remove", "Portal"); err != nil {
		t.Fatal(err)
	}
	s.start("xclip", "-quiet", "-selection", "clipboard", "-t", "image/png", "-i", qrFile)
	eventually(t, 10*time.Second, "xclip owns the clipboard", func() error {
		_, err := s.output("xclip", "-selection", "clipboard", "-t", "TARGETS", "-o")
		return err
	})
	confirm(t, s, win, "ctrl+v", "5-paste-preview.png")
	s.screenshot("6-pasted-in-window.png")
}

// confirm presses a shortcut that opens the add preview, once, waits until
// the preview covers the window, presses Enter, once, and waits until the
// account is stored. A key press the window drops fails the test: a user
// would not press twice either.
func confirm(t *testing.T, s *session, win, keys, shot string) {
	t.Helper()
	before, err := s.x.Capture(within(t, 30*time.Second), win)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.x.Key(within(t, 30*time.Second), keys); err != nil {
		t.Fatal(err)
	}
	if err := s.x.WaitChange(within(t, 60*time.Second), win, before, 0.10); err != nil {
		s.screenshot(shot)
		t.Fatalf("no preview after %s: %v", keys, err)
	}
	s.screenshot(shot)
	if err := s.x.Key(within(t, 30*time.Second), "Return"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the account is stored after Enter in the preview", func() error {
		out, err := s.output(s.bin, "list")
		if err == nil && !strings.Contains(out, "Portal:qa@example.com") {
			err = fmt.Errorf("list: %q", out)
		}
		return err
	})
}

// Without a Secret Service the command line says so in one line, exits
// non-zero, and writes nothing.
func TestBinaryWithoutKeyring(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	c := exec.Command(bin, "add", "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP")
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=en_US.UTF-8",
		"TWOFOLD_CONFIG_DIR=" + dir, "DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(dir, "no-bus")}
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v", err)
	}
	msg := errOut.String()
	if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "twofold: ") || !strings.Contains(msg, "no keyring service available") || !strings.Contains(msg, "Install") {
		t.Fatalf("stderr %q", msg)
	}
	// Nothing but the empty lock an add holds while its item is written.
	files, _ := os.ReadDir(dir)
	if len(files) > 1 || len(files) == 1 && files[0].Name() != "accounts.json.adding" { // keyring.AddingFile
		t.Fatalf("wrote %v without a keyring", files)
	}
	for _, f := range files {
		if fi, err := f.Info(); err != nil || fi.Size() != 0 {
			t.Fatalf("%s holds data without a keyring: %v", f.Name(), err)
		}
	}
}

// secretService fails (never skips) when no private Secret Service runs.
func secretService(t *testing.T) {
	t.Helper()
	need(t, "secret-tool")
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("no session bus: run through scripts/with-keyring.sh, as make test-qa does")
	}
	if out, err := exec.Command("secret-tool", "search", "--all", "service", "twofold-probe").CombinedOutput(); err != nil && len(out) > 0 {
		t.Fatalf("no Secret Service reachable (run through scripts/with-keyring.sh, as make test-qa does): %v: %s", err, out)
	}
}

// oathtool is the independent oracle for codes.
func oathtool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("oathtool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}
