package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"

	"twofold.dev/qa/xvfb"
)

// Group 7, desktop growth (issue 16): the same desktop at a thousand
// accounts, each figure against the same program at one account (or a
// hundred, or the frame budget) in the same run.

// growthSizes are the account lists group 7 opens.
var growthSizes = []int{1, 100, 1000}

// seeded returns the config directory of an n-account list in the
// private keyring, adding the accounts the first time: groups 5 and 7
// share them (a thousand adds take minutes, the keyring rewriting its
// file at each).
func seeded(ctx context.Context, cfg *Config, rep *Report, n int) (string, error) {
	dir := filepath.Join(cfg.Work, fmt.Sprintf("desktop-%04d", n))
	if _, err := os.Stat(filepath.Join(dir, "accounts.json")); err == nil {
		return dir, nil
	}
	rep.Progress("adding %d accounts to the private keyring", n)
	if err := seed(ctx, cfg, dir, n); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// firstLabel is the label of the first account seed adds.
const firstLabel = "Service 000:user0@example.com"

// timeCode runs `twofold code` once and returns how long the whole
// process took.
func timeCode(ctx context.Context, cfg *Config, dir string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(cfg.Bin, "twofold"), "-config", dir, "code", firstLabel)
	cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("twofold code: %v: %s", err, out)
	}
	if code := strings.TrimSpace(string(out)); len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return 0, fmt.Errorf("twofold code printed %q, not a 6-digit code", code)
	}
	return took, nil
}

// codeTimes times `twofold code` on each directory, alternated, runs
// times each after one unmeasured run each (the page cache).
func codeTimes(ctx context.Context, cfg *Config, dirs ...string) ([][]float64, error) {
	times := make([][]float64, len(dirs))
	for r := -1; r < cfg.Runs; r++ {
		for i, d := range dirs {
			took, err := timeCode(ctx, cfg, d)
			if err != nil {
				return nil, err
			}
			if r >= 0 {
				times[i] = append(times[i], ms(took))
			}
		}
	}
	return times, nil
}

// secretServiceCalls counts the D-Bus method calls to the Secret Service
// while fn runs, as dbus-monitor sees them on the session bus.
func secretServiceCalls(ctx context.Context, fn func() error) (int, error) {
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mon := exec.CommandContext(mctx, "dbus-monitor", "--session", "type='method_call',destination='org.freedesktop.secrets'")
	out, err := mon.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := mon.Start(); err != nil {
		return 0, fmt.Errorf("dbus-monitor (Debian package dbus-bin): %w", err)
	}
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// dbus-monitor says it has become a monitor with a NameLost signal
	// (or, on older buses, a NameAcquired one); calls before are unseen.
	ready := time.After(5 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return 0, errors.New("dbus-monitor ended at once")
			}
			if strings.Contains(l, "NameLost") || strings.Contains(l, "NameAcquired") {
				break wait
			}
		case <-ready:
			break wait
		}
	}
	if err := fn(); err != nil {
		return 0, err
	}
	time.Sleep(300 * time.Millisecond) // the last calls reach the monitor
	cancel()
	n := 0
	for l := range lines {
		if strings.HasPrefix(l, "method call") {
			n++
		}
	}
	mon.Wait()
	return n, nil
}

// keyboard sends keys and wheel turns to the display through XTEST, as a
// person's keyboard would: no program starts between the clock and the
// event.
type keyboard struct {
	c    *xgb.Conn
	root xproto.Window
	keys map[xproto.Keysym]xproto.Keycode
}

func newKeyboard(display string) (*keyboard, error) {
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, err
	}
	if err := xtest.Init(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("the X server has no XTEST: %w", err)
	}
	setup := xproto.Setup(c)
	k := &keyboard{c: c, root: setup.DefaultScreen(c).Root, keys: map[xproto.Keysym]xproto.Keycode{}}
	count := byte(setup.MaxKeycode - setup.MinKeycode + 1)
	m, err := xproto.GetKeyboardMapping(c, setup.MinKeycode, count).Reply()
	if err != nil {
		c.Close()
		return nil, err
	}
	per := int(m.KeysymsPerKeycode)
	for i := 0; i < int(count); i++ {
		for j := 0; j < per; j++ {
			if s := m.Keysyms[i*per+j]; s != 0 {
				if _, ok := k.keys[s]; !ok {
					k.keys[s] = xproto.Keycode(int(setup.MinKeycode) + i)
				}
			}
		}
	}
	return k, nil
}

func (k *keyboard) Close() { k.c.Close() }

// typeKey presses and releases the key of keysym (an ASCII character's
// keysym is the character; Escape is 0xff1b).
func (k *keyboard) typeKey(sym xproto.Keysym) error {
	code, ok := k.keys[sym]
	if !ok {
		return fmt.Errorf("no key for keysym %#x", sym)
	}
	if err := xtest.FakeInputChecked(k.c, xproto.KeyPress, byte(code), 0, k.root, 0, 0, 0).Check(); err != nil {
		return err
	}
	return xtest.FakeInputChecked(k.c, xproto.KeyRelease, byte(code), 0, k.root, 0, 0, 0).Check()
}

// move puts the pointer at x, y of the screen.
func (k *keyboard) move(x, y int16) error {
	return xtest.FakeInputChecked(k.c, xproto.MotionNotify, 0, 0, k.root, x, y, 0).Check()
}

// wheel turns the wheel one notch down (button 5) or up (4) at x, y of
// the screen.
func (k *keyboard) wheel(x, y int16, down bool) error {
	if err := k.move(x, y); err != nil {
		return err
	}
	b := byte(4)
	if down {
		b = 5
	}
	if err := xtest.FakeInputChecked(k.c, xproto.ButtonPress, b, 0, k.root, 0, 0, 0).Check(); err != nil {
		return err
	}
	return xtest.FakeInputChecked(k.c, xproto.ButtonRelease, b, 0, k.root, 0, 0, 0).Check()
}

// namesArea is the first row's issuer and name (the 460×600 window at
// scale 1): what a search or a scroll changes first, and the countdown,
// which moves every second, is outside it.
var namesArea = image.Rect(48, 76, 290, 136)

// latency does act and returns how long until win's area r, read straight
// from the X server every 2 ms, differs from before (noChange, 5 s, when it
// does not: counted, not fatal, so one lost event spoils no group); then
// how long until digits are painted in the first row's code area (0 if
// not within 5 s).
func latency(ctx context.Context, grab *xvfb.Grabber, win string, r image.Rectangle, act func() error) (changed, coded time.Duration, err error) {
	before, err := grab.Grab(win, r)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := act(); err != nil {
		return 0, 0, err
	}
	for changed == 0 {
		if time.Since(start) > noChange {
			return noChange, 0, nil
		}
		img, err := grab.Grab(win, r)
		if err != nil {
			return 0, 0, err
		}
		if !slices.Equal(img.Pix, before.Pix) {
			changed = time.Since(start)
			break
		}
		if err := sleepCtx(ctx, 2*time.Millisecond); err != nil {
			return 0, 0, err
		}
	}
	for time.Since(start) < 5*time.Second {
		img, err := grab.Grab(win, codeArea)
		if err == nil && digitsPainted(img) {
			return changed, time.Since(start), nil
		}
		if err := sleepCtx(ctx, 2*time.Millisecond); err != nil {
			return 0, 0, err
		}
	}
	return changed, 0, nil
}

// noChange is the latency recorded for an input after which the window
// did not change.
const noChange = 5 * time.Second

// unchanged counts the latencies that are noChange.
func unchanged(ms []float64) int {
	n := 0
	for _, v := range ms {
		if v >= float64(noChange/time.Millisecond) {
			n++
		}
	}
	return n
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func benchDesktopGrowth(ctx context.Context, cfg *Config, rep *Report) error {
	for _, tool := range []string{"xdotool", "dbus-monitor"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found (make deps installs it)", tool)
		}
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return errors.New("no session bus: run under scripts/with-keyring.sh (a private, unlocked Secret Service)")
	}
	dirs := map[int]string{}
	var err error
	if dirs[1], err = seeded(ctx, cfg, rep, 1); err != nil {
		return err
	}
	// The keyring's own growth, for context: the 1-account list's code
	// while the keyring holds few items, and again once it holds a
	// thousand more (the Secret Service searches all its items).
	rep.Progress("twofold code with 1 account, before the keyring holds a thousand more items")
	small, err := codeTimes(ctx, cfg, dirs[1])
	if err != nil {
		return err
	}
	for _, n := range growthSizes[1:] {
		if dirs[n], err = seeded(ctx, cfg, rep, n); err != nil {
			return err
		}
	}

	rep.Progress("twofold code: 1 and 1000 accounts, %d runs each, alternated", cfg.Runs)
	times, err := codeTimes(ctx, cfg, dirs[1], dirs[1000])
	if err != nil {
		return err
	}
	var calls [2]int
	for i, n := range []int{1, 1000} {
		if calls[i], err = secretServiceCalls(ctx, func() error {
			_, err := timeCode(ctx, cfg, dirs[n])
			return err
		}); err != nil {
			return err
		}
	}
	rep.Add(&Figure{
		Name: "`twofold code LABEL`, 1000 accounts", Value: median(times[1]), Unit: "ms",
		Baseline: "1 account", BaseValue: median(times[0]), BaseUnit: "ms", Target: 1.2, AtMost: true,
		Reproduce: "`time bin/twofold -config DIR code 'Service 000:user0@example.com'` on lists of 1000 and 1 accounts in one keyring (whole process, medians, alternated)",
		Note:      fmt.Sprintf("Secret Service method calls (dbus-monitor): %d with 1000 accounts, %d with 1", calls[1], calls[0]),
	})
	rep.Add(&Figure{
		Name: "Secret Service calls of `twofold code`, 1000 accounts", Value: float64(calls[1]), Unit: "calls",
		Baseline: "1 account", BaseValue: float64(calls[0]), BaseUnit: "calls", Target: 1, AtMost: true,
		Reproduce: "`dbus-monitor --session \"type='method_call',destination='org.freedesktop.secrets'\"` while `twofold code` runs: one keyring read, not a thousand",
	})
	rep.Add(&Figure{
		Name: "`twofold code LABEL`, 1 account, keyring grown by 1100 items", Value: median(times[0]), Unit: "ms",
		Baseline: "1 account, keyring of few items", BaseValue: median(small[0]), BaseUnit: "ms", Info: true,
		Reproduce: "as above, before and after the 100- and 1000-account lists are added to the same keyring: the Secret Service's own growth, not Twofold's",
	})

	x, err := xvfb.Start(ctx, 1600, 1000)
	if err != nil {
		return err
	}
	defer x.Close()
	grab, err := x.Grabber()
	if err != nil {
		return err
	}
	defer grab.Close()
	open := func(n int) (*gui, error) {
		return startGUI(ctx, x.Display, "Twofold", filepath.Join(cfg.Bin, "twofold"), "-config", dirs[n])
	}

	rep.Progress("window start to first code painted: 1 and 1000 accounts, 5 starts each, alternated")
	codes := map[int][]float64{}
	for range 5 {
		for _, n := range []int{1, 1000} {
			g, err := open(n)
			if err != nil {
				return err
			}
			d, err := g.firstCode(ctx, grab)
			if err != nil {
				g.stop()
				return fmt.Errorf("%d accounts: %w", n, err)
			}
			codes[n] = append(codes[n], ms(d))
			time.Sleep(300 * time.Millisecond)
			g.stop()
		}
	}
	rep.Add(&Figure{
		Name: "Window start to first code painted, 1000 accounts", Value: median(codes[1000]), Unit: "ms",
		Baseline: "1 account", BaseValue: median(codes[1]), BaseUnit: "ms", Target: 1.3, AtMost: true,
		Reproduce: "as group 5's start to first code (the first row's code area read with X GetImage every 5 ms), medians of 5, alternated",
	})

	// One window at a time: startGUI finds a window by its title.
	kb, err := newKeyboard(x.Display)
	if err != nil {
		return err
	}
	defer kb.Close()
	rep.Progress("100, then 1000 accounts listed: resident memory 20 s after the first code, then 8 search letters and 30 wheel notches")
	var rss [2]float64
	var in [2]*inputTimes
	for i, n := range []int{100, 1000} {
		g, err := open(n)
		if err != nil {
			return err
		}
		err = func() error {
			defer g.stop()
			if _, err := g.firstCode(ctx, grab); err != nil {
				return err
			}
			if err := sleepCtx(ctx, 20*time.Second); err != nil {
				return err
			}
			if rss[i], err = rssKiB(g.cmd.Process.Pid); err != nil {
				return err
			}
			in[i], err = measureInput(ctx, x, grab, kb, g)
			return err
		}()
		if err != nil {
			return fmt.Errorf("%d accounts: %w", n, err)
		}
	}
	rep.Add(&Figure{
		Name: "Resident memory, 1000 accounts listed", Value: rss[1] / 1024, Unit: "MiB",
		Baseline: "100 accounts listed", BaseValue: rss[0] / 1024, BaseUnit: "MiB", Target: 1.3, AtMost: true,
		Reproduce: "`grep VmRSS /proc/PID/status` of `bin/twofold` under Xvfb with 100, then 1000 accounts, 20 s after its first code",
	})
	rep.Add(&Figure{
		Name: "Search letter to filtered list painted, 1000 accounts (slowest of 8)", Value: slices.Max(in[1].search), Unit: "ms",
		Baseline: "a frame budget", BaseValue: 50, BaseUnit: "ms", Target: 1, AtMost: true,
		Reproduce: "the real window under Xvfb: a digit typed into the search box through XTEST, the first row's name area read with X GetImage every 2 ms until it changes",
		Note: fmt.Sprintf("median %.0f ms; its code painted after %.0f ms (median; slowest %.0f ms), read from the keyring when the row is filled; the 100-account window in this run: median %.0f ms, slowest %.0f ms; letters after which nothing changed within 5 s: %d and %d",
			median(in[1].search), median(in[1].searchCode), slices.Max(in[1].searchCode), median(in[0].search), slices.Max(in[0].search), unchanged(in[1].search), unchanged(in[0].search)),
	})
	rep.Add(&Figure{
		Name: "Wheel notch to list scrolled and painted, 1000 accounts (slowest of 30)", Value: slices.Max(in[1].scroll), Unit: "ms",
		Baseline: "a frame budget", BaseValue: 50, BaseUnit: "ms", Target: 1, AtMost: true,
		Reproduce: "the real window under Xvfb: the mouse wheel turned over the list through XTEST (20 notches down, 10 up), the first row's name area read with X GetImage every 2 ms until it changes",
		Note: fmt.Sprintf("median %.0f ms; the 100-account window in this run: median %.0f ms, slowest %.0f ms; notches after which nothing changed within 5 s: %d and %d",
			median(in[1].scroll), median(in[0].scroll), slices.Max(in[0].scroll), unchanged(in[1].scroll), unchanged(in[0].scroll)),
	})
	return nil
}

// inputTimes are a window's latencies, in ms, from input to repaint.
type inputTimes struct {
	search, searchCode, scroll []float64
}

// measureInput types 8 search letters (each then cleared with Escape)
// into window g and turns the wheel 30 notches over its list.
func measureInput(ctx context.Context, x *xvfb.Server, grab *xvfb.Grabber, kb *keyboard, g *gui) (*inputTimes, error) {
	if _, err := x.Output(ctx, "xdotool", "windowfocus", "--sync", g.win); err != nil {
		return nil, err
	}
	if err := x.Key(ctx, "ctrl+f"); err != nil {
		return nil, err
	}
	time.Sleep(300 * time.Millisecond)
	t := &inputTimes{}
	for _, c := range "23456789" { // each changes the first row: the first account has none
		changed, coded, err := latency(ctx, grab, g.win, namesArea, func() error { return kb.typeKey(xproto.Keysym(c)) })
		if err != nil {
			return nil, fmt.Errorf("search %q: %w", c, err)
		}
		t.search, t.searchCode = append(t.search, ms(changed)), append(t.searchCode, ms(coded))
		time.Sleep(200 * time.Millisecond)
		if _, _, err := latency(ctx, grab, g.win, namesArea, func() error { return kb.typeKey(0xff1b) }); err != nil { // Escape empties the box
			return nil, fmt.Errorf("clearing the search: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	geo, err := x.Output(ctx, "xdotool", "getwindowgeometry", "--shell", g.win)
	if err != nil {
		return nil, err
	}
	var wx, wy int
	for _, l := range strings.Fields(geo) {
		fmt.Sscanf(l, "X=%d", &wx)
		fmt.Sscanf(l, "Y=%d", &wy)
	}
	// A window learns where the pointer is from its motion: one left
	// where the previous window's wheel was would move nothing, and the
	// window would scroll whatever it last saw the pointer over.
	if err := kb.move(int16(wx+230), int16(wy+250)); err != nil {
		return nil, err
	}
	time.Sleep(100 * time.Millisecond)
	for i := range 30 {
		changed, _, err := latency(ctx, grab, g.win, namesArea, func() error { return kb.wheel(int16(wx+230), int16(wy+300), i < 20) })
		if err != nil {
			return nil, fmt.Errorf("scroll %d: %w", i+1, err)
		}
		t.scroll = append(t.scroll, ms(changed))
		time.Sleep(100 * time.Millisecond)
	}
	return t, nil
}
