package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"twofold.dev/qa/xvfb"
	"twofold.dev/shared/migration"
	"twofold.dev/shared/totp"
)

// seed adds n TOTP accounts to the keyring and an index in dir.
func seed(ctx context.Context, cfg *Config, dir string, n int) error {
	var keys []*totp.Key
	for i := range n {
		keys = append(keys, &totp.Key{Type: totp.TOTP, Issuer: fmt.Sprintf("Service %03d", i), Account: fmt.Sprintf("user%d@example.com", i),
			Secret: []byte(fmt.Sprintf("bench-secret-%03d-%s", i, dir[len(dir)-4:])), Algorithm: totp.SHA1, Digits: 6, Period: 30})
	}
	uris, err := migration.Encode(keys, 1, 100)
	if err != nil {
		return err
	}
	args := append([]string{"-config", dir, "add"}, uris...)
	out, err := exec.CommandContext(ctx, filepath.Join(cfg.Bin, "twofold"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("seeding %d accounts: %v: %s", n, err, out)
	}
	return nil
}

// gui is a running window process.
type gui struct {
	cmd   *exec.Cmd
	start time.Time
	toMap time.Duration
	win   string // X window id
}

// startGUI runs a window program and waits until a window of that title
// is mapped (xdotool polled every 10 ms).
func startGUI(ctx context.Context, display, title string, name string, args ...string) (*gui, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANG=en_US.UTF-8")
	var errb lockedBuffer // written by exec's copying goroutine, read here
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	g := &gui{cmd: cmd, start: start}
	for time.Since(start) < 30*time.Second {
		x := exec.CommandContext(ctx, "xdotool", "search", "--onlyvisible", "--name", "^"+title+"$")
		x.Env = cmd.Env
		out, _ := x.Output()
		if f := strings.Fields(string(out)); len(f) > 0 {
			g.toMap, g.win = time.Since(start), f[0]
			return g, nil
		}
		if strings.Contains(errb.String(), "Failed to open display") {
			g.stop()
			return nil, fmt.Errorf("%s: %s", filepath.Base(name), strings.TrimSpace(errb.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.stop()
	return nil, fmt.Errorf("%s: no window %q after 30s: %s", filepath.Base(name), title, errb.String())
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// codeArea is where the first row's code is drawn in Twofold's default
// window (460×600 at scale 1, no window manager): until the code is known
// it holds a thin dash line ("--- ---"); digits fill most of its height.
var codeArea = image.Rect(300, 84, 420, 114)

// firstCode watches the window's code area, straight from the X server
// every 5 ms, and returns the time from start until digits are painted
// there: what a user sees, measured from outside the program (at most one
// poll, 5 ms, late).
func (g *gui) firstCode(ctx context.Context, grab *xvfb.Grabber) (time.Duration, error) {
	var last error
	for time.Since(g.start) < 30*time.Second {
		img, err := grab.Grab(g.win, codeArea)
		if err == nil && digitsPainted(img) {
			return time.Since(g.start), nil
		}
		last = err
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("no code painted 30 s after start (last grab: %v)", last)
}

// digitsPainted tells digits from the placeholder dash: rows holding ink
// (pixels far from the background, the area's most common colour) span
// at least 40 % of the area's height, where a dash line spans a few rows.
func digitsPainted(img *image.RGBA) bool {
	b := img.Bounds()
	counts := map[[3]uint8]int{}
	for i := 0; i+3 < len(img.Pix); i += 4 {
		counts[[3]uint8{img.Pix[i], img.Pix[i+1], img.Pix[i+2]}]++
	}
	var bg [3]uint8
	for c, n := range counts {
		if n > counts[bg] {
			bg = c
		}
	}
	inked := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			i := img.PixOffset(x, y)
			d := absDiff(img.Pix[i], bg[0]) + absDiff(img.Pix[i+1], bg[1]) + absDiff(img.Pix[i+2], bg[2])
			if d > 150 {
				n++
			}
		}
		if n >= 2 {
			inked++
		}
	}
	return inked*10 >= b.Dy()*4
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func (g *gui) stop() {
	g.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { g.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		g.cmd.Process.Kill()
		<-done
	}
}

// cpuTicks is user+system time of pid in clock ticks.
func cpuTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

// rssKiB is the resident memory of pid.
func rssKiB(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb float64
			fmt.Sscan(strings.TrimPrefix(l, "VmRSS:"), &kb)
			return kb, nil
		}
	}
	return 0, errors.New("no VmRSS")
}

const clockTicks = 100 // USER_HZ on Linux

func benchDesktop(ctx context.Context, cfg *Config, rep *Report) error {
	for _, tool := range []string{"xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found (make deps installs it)", tool)
		}
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return errors.New("no session bus: run under scripts/with-keyring.sh (a private, unlocked Secret Service)")
	}
	x, err := xvfb.Start(ctx, 1600, 1000)
	if err != nil {
		return err
	}
	defer x.Close()
	display := x.Display
	dirs := map[int]string{}
	for _, n := range []int{1, 100, 200} {
		if dirs[n], err = seeded(ctx, cfg, rep, n); err != nil {
			return err
		}
	}
	twofold, bareBin := filepath.Join(cfg.Bin, "twofold"), filepath.Join(cfg.Bin, "barewindow")
	open := func(n int) (*gui, error) {
		return startGUI(ctx, display, "Twofold", twofold, "-config", dirs[n])
	}
	openBare := func() (*gui, error) { return startGUI(ctx, display, "barewindow", bareBin) }
	grab, err := x.Grabber()
	if err != nil {
		return err
	}
	defer grab.Close()

	// Start times: alternate the programs, 5 starts each.
	rep.Progress("start to window mapped and to first code painted: bare window, 1, 100 and 200 accounts, 5 starts each, alternated")
	times := map[string][]float64{} // start to window mapped
	codes := map[string][]float64{} // start to first code painted
	for range 5 {
		for _, c := range []struct {
			name string
			fn   func() (*gui, error)
		}{{"bare", openBare}, {"1", func() (*gui, error) { return open(1) }}, {"100", func() (*gui, error) { return open(100) }}, {"200", func() (*gui, error) { return open(200) }}} {
			g, err := c.fn()
			if err != nil {
				return err
			}
			times[c.name] = append(times[c.name], ms(g.toMap))
			if c.name != "bare" {
				d, err := g.firstCode(ctx, grab)
				if err != nil {
					g.stop()
					return fmt.Errorf("%s accounts: %w", c.name, err)
				}
				codes[c.name] = append(codes[c.name], ms(d))
			}
			time.Sleep(300 * time.Millisecond) // let it draw before it goes
			g.stop()
		}
	}

	// At rest: both windows side by side over the same idle window.
	rep.Progress("at rest: twofold with 100 accounts and the bare window, side by side, %v", cfg.Idle)
	app, err := open(100)
	if err != nil {
		return err
	}
	defer app.stop()
	bare, err := openBare()
	if err != nil {
		return err
	}
	defer bare.stop()
	ticking, err := startGUI(ctx, display, "barewindow-tick", bareBin, "-tick")
	if err != nil {
		return err
	}
	defer ticking.stop()
	time.Sleep(5 * time.Second) // keyring reads, first paint
	a0, err := cpuTicks(app.cmd.Process.Pid)
	if err != nil {
		return err
	}
	b0, _ := cpuTicks(bare.cmd.Process.Pid)
	k0, _ := cpuTicks(ticking.cmd.Process.Pid)
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(cfg.Idle):
	}
	a1, err := cpuTicks(app.cmd.Process.Pid)
	if err != nil {
		return err
	}
	b1, _ := cpuTicks(bare.cmd.Process.Pid)
	k1, _ := cpuTicks(ticking.cmd.Process.Pid)
	secs := time.Since(t0).Seconds()
	appCPU := float64(a1-a0) / clockTicks / secs * 100
	bareCPU := float64(b1-b0) / clockTicks / secs * 100
	tickCPU := float64(k1-k0) / clockTicks / secs * 100
	appRSS, err := rssKiB(app.cmd.Process.Pid)
	if err != nil {
		return err
	}
	bareRSS, _ := rssKiB(bare.cmd.Process.Pid)

	rep.Add(&Figure{
		Name: fmt.Sprintf("CPU at rest, 100 accounts listed, over %.0f s", secs), Value: appCPU, Unit: "% of a core",
		Baseline: "one core", BaseValue: 100, BaseUnit: "%", Target: 0.01, AtMost: true,
		Reproduce: "`scripts/with-keyring.sh scripts/with-xvfb.sh bin/twofold` then `pidstat -p PID 60 1` (or /proc/PID/stat utime+stime before and after 60 s)",
		Note:      fmt.Sprintf("the bare window used %.2f%% meanwhile", bareCPU),
	})
	// Issue 12's target: at most the bare window + 0.3 points.
	rep.Add(&Figure{
		Name: "CPU at rest over the bare window, 100 accounts listed", Value: appCPU - bareCPU, Unit: "points",
		Baseline: "allowed", BaseValue: 0.3, BaseUnit: "points", Target: 1, AtMost: true,
		Reproduce: "the two CPU figures above and below, over the same idle window: twofold's share of a core minus the bare window's",
		Note:      fmt.Sprintf("%.2f%% against %.2f%%; a bare window whose one label changes once a second (`barewindow -tick`) used %.2f%%", appCPU, bareCPU, tickCPU),
	})
	rep.Add(&Figure{
		Name: "CPU at rest, a bare window repainting once a second", Value: tickCPU - bareCPU, Unit: "points",
		Baseline: "allowed to Twofold", BaseValue: 0.3, BaseUnit: "points", Info: true,
		Reproduce: "`bin/barewindow -tick` (one label, changed once a second) beside `bin/barewindow` (unchanged), over the same idle window: what any window costs that shows a second counting down under Fyne on this X server",
		Note:      fmt.Sprintf("%.2f%% against %.2f%%", tickCPU, bareCPU),
	})
	rep.Add(&Figure{
		Name: "Resident memory, 100 accounts listed", Value: appRSS / 1024, Unit: "MiB",
		Baseline: "bare Fyne window with one label", BaseValue: bareRSS / 1024, BaseUnit: "MiB", Target: 1.3, AtMost: true,
		Reproduce: "`grep VmRSS /proc/PID/status` of `bin/twofold` and `bin/barewindow` under Xvfb, after the same idle minute",
	})
	for _, n := range []string{"1", "100", "200"} {
		rep.Add(&Figure{
			Name: "Start to first code painted, " + n + " account(s)", Value: median(codes[n]), Unit: "ms",
			Baseline: "bare window, start to mapped", BaseValue: median(times["bare"]), BaseUnit: "ms", Target: 1.5, AtMost: true,
			Reproduce: "`bin/twofold -config DIR` under Xvfb, watched from outside: the first row's code area (x 300–420, y 84–114 of the 460×600 window) read with X GetImage every 5 ms until digits, not the placeholder dash, fill it; the bare window is timed by polling `xdotool search --onlyvisible --name '^barewindow$'` every 10 ms (medians of 5, alternated)",
			Note:      fmt.Sprintf("window mapped after %.0f ms", median(times[n])),
		})
	}
	rep.Add(&Figure{
		Name: "Start to first code painted, 200 accounts in the keyring", Value: median(codes["200"]), Unit: "ms",
		Baseline: "1 account", BaseValue: median(codes["1"]), BaseUnit: "ms", Target: 1.2, AtMost: true,
		Reproduce: "as above, on indexes of 200 and 1 accounts",
		Note:      fmt.Sprintf("window mapped: %.0f ms with 200 accounts, %.0f ms with 1; the keyring is read off the UI thread, the visible rows' codes first", median(times["200"]), median(times["1"])),
	})
	return nil
}
