package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// buildTest compiles the tests of pkg into the scratch directory, so
// benchmarks can run one at a time, interleaved, without rebuilding.
func buildTest(ctx context.Context, cfg *Config, pkg string) (string, error) {
	bin := filepath.Join(cfg.Work, filepath.Base(pkg)+".test")
	out, err := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building the tests of %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+)\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op\s+([\d.]+) allocs/op)?`)

// benchResult is one line of `go test -bench` output.
type benchResult struct {
	NsPerOp, AllocsPerOp float64
}

// runBench runs one benchmark of a test binary once.
func runBench(ctx context.Context, testBin, name, benchtime string) (benchResult, error) {
	cmd := exec.CommandContext(ctx, testBin, "-test.run", "^$", "-test.bench", "^"+name+"$", "-test.benchmem", "-test.benchtime", benchtime)
	cmd.Dir = filepath.Dir(testBin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return benchResult{}, fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if m := benchLine.FindStringSubmatch(l); m != nil {
			var r benchResult
			r.NsPerOp, _ = strconv.ParseFloat(m[2], 64)
			r.AllocsPerOp, _ = strconv.ParseFloat(m[4], 64)
			return r, nil
		}
	}
	return benchResult{}, fmt.Errorf("%s: no result in\n%s", name, out)
}

// interleave runs benchmarks a and b alternately n times and returns the
// medians: both see the same machine load.
func interleave(ctx context.Context, testBin, a, b, benchtime string, n int) (ra, rb benchResult, err error) {
	var as, bs, aa, ba []float64
	for range n {
		x, err := runBench(ctx, testBin, a, benchtime)
		if err != nil {
			return ra, rb, err
		}
		y, err := runBench(ctx, testBin, b, benchtime)
		if err != nil {
			return ra, rb, err
		}
		as, bs = append(as, x.NsPerOp), append(bs, y.NsPerOp)
		aa, ba = append(aa, x.AllocsPerOp), append(ba, y.AllocsPerOp)
	}
	return benchResult{median(as), median(aa)}, benchResult{median(bs), median(ba)}, nil
}

func benchTOTP(ctx context.Context, cfg *Config, rep *Report) error {
	bin, err := buildTest(ctx, cfg, "./shared/totp")
	if err != nil {
		return err
	}
	rep.Progress("BenchmarkVerify and BenchmarkHMACSHA1, interleaved, 7 runs of 1s each")
	v, h, err := interleave(ctx, bin, "BenchmarkVerify", "BenchmarkHMACSHA1", "1s", 7)
	if err != nil {
		return err
	}
	rep.Add(&Figure{
		Name: "Verify a right current-step code (6 digits, SHA1, skew 1)", Value: v.NsPerOp, Unit: "ns/op",
		Baseline: "one HMAC-SHA1 of 8 bytes (hmac.New+Sum)", BaseValue: h.NsPerOp, BaseUnit: "ns/op",
		Target: 2, AtMost: true,
		Reproduce: "`go test -run '^$' -bench 'BenchmarkVerify$|BenchmarkHMACSHA1' -benchmem -count 7 ./shared/totp` (medians)",
		Note:      fmt.Sprintf("%.0f allocations per Verify, %.0f per HMAC", v.AllocsPerOp, h.AllocsPerOp),
	})
	return nil
}

// procRun is one whole-process run.
type procRun struct {
	Wall time.Duration
	Out  string
}

func runProc(ctx context.Context, name string, args ...string) (procRun, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return procRun{}, fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return procRun{Wall: wall, Out: out.String()}, nil
}

// peakRSS runs the command once under /usr/bin/time and returns its peak
// resident memory in KiB. (The rusage of a child forked from this big
// process would count this process's memory too.)
func peakRSS(ctx context.Context, name string, args ...string) (int64, error) {
	f := filepath.Join(os.TempDir(), fmt.Sprintf("twofold-bench-rss-%d", os.Getpid()))
	defer os.Remove(f)
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-f", "%M", "-o", f, name}, args...)...)
	cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("/usr/bin/time %s: %w", filepath.Base(name), err)
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
}

// decodePair runs `twofold decode FILE` and `zbarimg` alternately, after
// one unmeasured run of each, and returns the median times, the median
// peak RSS of three more runs under /usr/bin/time and the texts printed.
type pairResult struct {
	Ours, Zbar         time.Duration
	OursRSS, ZbarRSS   float64
	OursText, ZbarText string
}

func decodePair(ctx context.Context, cfg *Config, file string) (*pairResult, error) {
	ours := []string{filepath.Join(cfg.Bin, "twofold"), "decode", file}
	zbar := []string{"zbarimg", "--nodbus", "-q", "--raw", file}
	var ot, zt, orss, zrss []float64
	res := &pairResult{}
	for i := -1; i < cfg.Runs; i++ {
		o, err := runProc(ctx, ours[0], ours[1:]...)
		if err != nil {
			return nil, err
		}
		z, err := runProc(ctx, zbar[0], zbar[1:]...)
		if err != nil {
			return nil, err
		}
		res.OursText, res.ZbarText = o.Out, z.Out
		if i < 0 {
			continue // warm the page cache and the dynamic loader
		}
		ot, zt = append(ot, float64(o.Wall)), append(zt, float64(z.Wall))
	}
	for range 3 {
		o, err := peakRSS(ctx, ours[0], ours[1:]...)
		if err != nil {
			return nil, err
		}
		z, err := peakRSS(ctx, zbar[0], zbar[1:]...)
		if err != nil {
			return nil, err
		}
		orss, zrss = append(orss, float64(o)), append(zrss, float64(z))
	}
	res.Ours, res.Zbar = time.Duration(median(ot)), time.Duration(median(zt))
	res.OursRSS, res.ZbarRSS = median(orss)/1024, median(zrss)/1024
	return res, nil
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func benchQR(ctx context.Context, cfg *Config, rep *Report) error {
	if _, err := exec.LookPath("zbarimg"); err != nil {
		return errors.New("zbarimg not found: install the Debian package zbar-tools (make deps does)")
	}
	shot := filepath.Join(cfg.Work, "screenshot-4k.png")
	photo := filepath.Join(cfg.Work, "photo-ga-export.jpg")
	rep.Progress("drawing a 3840×2160 PNG screenshot with a ~200 px code, and a photo-like JPEG of a migration code")
	if err := writeScreenshot(shot); err != nil {
		return err
	}
	photoText, err := writePhoto(photo)
	if err != nil {
		return err
	}
	reproduce := func(file string) string {
		return fmt.Sprintf("`hyperfine -N -w 1 'bin/twofold decode %s' 'zbarimg --nodbus -q --raw %s'` (or `/usr/bin/time -v` on each; medians of %d runs, alternated)", file, file, cfg.Runs)
	}

	rep.Progress("whole process on the 4K screenshot, %d runs each, alternated", cfg.Runs)
	p, err := decodePair(ctx, cfg, shot)
	if err != nil {
		return err
	}
	ok := slicesEqual(lines(p.OursText), []string{screenshotText}) && slicesEqual(lines(p.ZbarText), []string{screenshotText})
	rep.Add(&Figure{
		Name: "`twofold decode` of a 4K PNG screenshot, whole process", Value: ms(p.Ours), Unit: "ms",
		Baseline: "zbarimg", BaseValue: ms(p.Zbar), BaseUnit: "ms", Target: 0.33, AtMost: true,
		Reproduce: reproduce("screenshot-4k.png"),
		Note:      fmt.Sprintf("peak RSS %.0f MiB vs zbarimg %.0f MiB; both read the right text: %v; the image is drawn by the bench (desktop, text, photo, the portal's code at 2511,1377)", p.OursRSS, p.ZbarRSS, ok),
	})
	if !ok {
		return fmt.Errorf("4K screenshot: twofold read %q, zbarimg %q", p.OursText, p.ZbarText)
	}

	rep.Progress("whole process on the synthetic camera photo")
	p, err = decodePair(ctx, cfg, photo)
	if err != nil {
		return err
	}
	ok = slicesEqual(lines(p.OursText), []string{photoText}) && slicesEqual(lines(p.ZbarText), []string{photoText})
	rep.Add(&Figure{Name: "Synthetic camera photo of a migration code (perspective, blur, noise, uneven light; 2000×1500 JPEG)",
		Check: "decodes in both", CheckOK: ok, Reproduce: reproduce("photo-ga-export.jpg"),
		Note: fmt.Sprintf("twofold %.0f ms, zbarimg %.0f ms (medians)", ms(p.Ours), ms(p.Zbar))})

	ga := filepath.Join(cfg.Samples, "ga-example_export.png")
	if _, err := os.Stat(ga); err != nil {
		rep.Progress("the real camera photo %s is ABSENT (it is GPLv3 and not in the repo; CI clones have ../shared beside the repo): not measured", ga)
		rep.Add(&Figure{Name: "Real camera photo of a Google Authenticator export (ga-example_export.png)",
			Check: "decodes in both", CheckOK: false, Reproduce: "put ga-example_export.png (scito/extract_otp_secrets) in ../shared/samples",
			Note: "ABSENT: " + ga + " not found, so this figure was not measured"})
	} else {
		rep.Progress("whole process on the real camera photo %s", ga)
		p, err = decodePair(ctx, cfg, ga)
		if err != nil {
			return err
		}
		o, z := lines(p.OursText), lines(p.ZbarText)
		ok = len(o) == 1 && strings.HasPrefix(o[0], "otpauth-migration://") && slicesEqual(o, z)
		rep.Add(&Figure{Name: "Real camera photo of a Google Authenticator export (ga-example_export.png, 523×942)",
			Check: "decodes in both", CheckOK: ok, Reproduce: reproduce("../shared/samples/ga-example_export.png"),
			Note: fmt.Sprintf("twofold %.0f ms, zbarimg %.0f ms (medians); same text: %v", ms(p.Ours), ms(p.Zbar), slicesEqual(o, z))})
	}

	rep.Progress("in-process: BenchmarkDecode4K and BenchmarkDecode4KGozxingPlain, interleaved, 5 runs")
	bin, err := buildTest(ctx, cfg, "./shared/qr")
	if err != nil {
		return err
	}
	d, g, err := interleave(ctx, bin, "BenchmarkDecode4K", "BenchmarkDecode4KGozxingPlain", "5x", 5)
	if err != nil {
		return err
	}
	rep.Add(&Figure{
		Name: "qr.Decode of a 4K image.Image (in process)", Value: d.NsPerOp / 1e6, Unit: "ms",
		Baseline: "gozxing plain TRY_HARDER decode", BaseValue: g.NsPerOp / 1e6, BaseUnit: "ms", Target: 0.25, AtMost: true,
		Reproduce: "`go test -run '^$' -bench 'Decode4K' -benchtime 5x -count 5 ./shared/qr` (medians)",
	})
	b, i, err := interleave(ctx, bin, "BenchmarkDecodeBytes4KPNG", "BenchmarkImagePNG4K", "5x", 3)
	if err != nil {
		return err
	}
	rep.Add(&Figure{
		Name: "qr.DecodeBytes of a 4K PNG (in process: PNG to grey, then decode)", Value: b.NsPerOp / 1e6, Unit: "ms",
		Baseline: "image/png.Decode alone", BaseValue: i.NsPerOp / 1e6, BaseUnit: "ms", Info: true,
		Reproduce: "`go test -run '^$' -bench '4KPNG|PNG4K' -benchtime 5x -count 3 ./shared/qr`",
	})
	return nil
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
