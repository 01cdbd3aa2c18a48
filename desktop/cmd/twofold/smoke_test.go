package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"twofold.dev/shared/qr"
)

// The real binary on a real (virtual) X display: the window maps, and
// `twofold add --screen` and the window's Scan shortcut both read a QR code
// shown by another program. This is the one test that waits on wall time,
// for processes to start.

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (make deps installs it): %v", tool, err)
		}
	}
}

// buildBinary compiles this command into a temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "twofold")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startXvfb starts a private X server on a free display and stops it
// when the test ends.
func startXvfb(t *testing.T) string {
	t.Helper()
	for n := 110; n < 200; n++ {
		sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		if exists(sock) || exists(fmt.Sprintf("/tmp/.X%d-lock", n)) {
			continue
		}
		cmd := exec.Command("Xvfb", ":"+strconv.Itoa(n), "-screen", "0", "1600x1000x24", "-nolisten", "tcp")
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting Xvfb: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.After(10 * time.Second)
	wait:
		for !exists(sock) {
			select {
			case <-exited:
				break wait // display taken meanwhile: try the next
			case <-deadline:
				cmd.Process.Kill()
				t.Fatal("Xvfb did not start in 10 s")
			case <-time.After(20 * time.Millisecond):
			}
		}
		if !exists(sock) {
			continue
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		return ":" + strconv.Itoa(n)
	}
	t.Fatal("no free X display number in 110..199")
	return ""
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

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

type session struct {
	t   *testing.T
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

func (s *session) screenshot(name string) string {
	s.t.Helper()
	p := filepath.Join(s.dir, name)
	if out, err := s.cmd("import", "-window", "root", p).CombinedOutput(); err != nil {
		s.t.Fatalf("import: %v %s", err, out)
	}
	return p
}

func TestBinaryUnderXvfb(t *testing.T) {
	secretService(t)
	need(t, "Xvfb", "xdotool", "import", "display", "oathtool", "xclip")
	bin := buildBinary(t)
	display := startXvfb(t)
	shots := t.TempDir()
	s := &session{t: t, bin: bin, dir: shots, env: append(os.Environ(),
		"DISPLAY="+display, "LANG=en_US.UTF-8", "TWOFOLD_CONFIG_DIR="+t.TempDir())}
	defer func() {
		if t.Failed() {
			t.Logf("screenshots in %s", shots)
		}
	}()

	// 1. The window starts and is mapped.
	s.start(bin)
	var win string
	eventually(t, 60*time.Second, "the Twofold window is mapped", func() error {
		out, err := s.output("xdotool", "search", "--onlyvisible", "--name", "^Twofold$")
		win = strings.TrimSpace(out)
		if err == nil && win == "" {
			err = errors.New("no window")
		}
		return err
	})
	win = strings.Fields(win)[0]
	eventually(t, 30*time.Second, "the window draws its content", func() error {
		if n := distinctColours(t, s.screenshot("1-window.png"), image.Rect(0, 0, 400, 400)); n < 3 {
			return fmt.Errorf("the window area has %d colours", n)
		}
		return nil
	})

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
	eventually(t, 30*time.Second, "the QR code is shown", func() error {
		_, err := s.output("xdotool", "search", "--onlyvisible", "--name", "portal-qr.png")
		return err
	})
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
	if _, err := s.output("xdotool", "windowfocus", "--sync", win); err != nil {
		t.Fatal(err)
	}
	confirmUntilListed(t, s, bin, "ctrl+shift+s", "the window adds the scanned account on Enter")
	s.screenshot("3-added-in-window.png")

	// 5. A QR image on the clipboard: Ctrl+V, Enter.
	if _, err := s.output(bin, "remove", "Portal"); err != nil {
		t.Fatal(err)
	}
	s.start("xclip", "-quiet", "-selection", "clipboard", "-t", "image/png", "-i", qrFile)
	eventually(t, 10*time.Second, "xclip owns the clipboard", func() error {
		_, err := s.output("xclip", "-selection", "clipboard", "-t", "TARGETS", "-o")
		return err
	})
	confirmUntilListed(t, s, bin, "ctrl+v", "the window adds the pasted image's account on Enter")
	s.screenshot("4-pasted-in-window.png")
}

// distinctColours counts the colours in part of a PNG, up to 100.
func distinctColours(t *testing.T, file string, r image.Rectangle) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[4]uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr, cg, cb, ca}] = true
			if len(seen) >= 100 {
				return len(seen)
			}
		}
	}
	return len(seen)
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
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("wrote %v without a keyring", files)
	}
}

// confirmUntilListed presses keys (a shortcut that opens a preview) in the
// window, then Enter to confirm it, until the account appears in the
// store. On a loaded machine a key can arrive before the window is ready
// for it, so the shortcut is pressed again every few tries; a second
// preview of the same account only reports a duplicate.
func confirmUntilListed(t *testing.T, s *session, bin, keys, what string) {
	t.Helper()
	try := 0
	eventually(t, 30*time.Second, what, func() error {
		if try%4 == 0 {
			if _, err := s.output("xdotool", "key", "--clearmodifiers", keys); err != nil {
				return err
			}
		}
		try++
		if _, err := s.output("xdotool", "key", "Return"); err != nil {
			return err
		}
		out, err := s.output(bin, "list")
		if err == nil && !strings.Contains(out, "Portal:qa@example.com") {
			err = fmt.Errorf("list: %q", out)
		}
		return err
	})
}
