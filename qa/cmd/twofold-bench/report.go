package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Figure is one measured number with its baseline from the same run.
type Figure struct {
	Name      string
	Value     float64
	Unit      string
	Baseline  string // what the value is compared with
	BaseValue float64
	BaseUnit  string
	// Target is the bound on Value/BaseValue: At most (≤) or at least.
	Target float64
	AtMost bool
	// Met overrides the ratio test for yes/no figures ("decodes in both").
	Check     string // non-empty: the figure is this yes/no check
	CheckOK   bool
	Info      bool // no target: a number for context
	Reproduce string
	Note      string
}

// Ratio is Value/BaseValue.
func (f *Figure) Ratio() float64 {
	if f.BaseValue == 0 {
		return 0
	}
	return f.Value / f.BaseValue
}

// Met reports whether the target holds.
func (f *Figure) Met() bool {
	if f.Check != "" {
		return f.CheckOK
	}
	if f.AtMost {
		return f.Ratio() <= f.Target
	}
	return f.Ratio() >= f.Target
}

func (f *Figure) targetText() string {
	switch {
	case f.Info:
		return "(context)"
	case f.Check != "":
		return f.Check
	case f.AtMost:
		return fmt.Sprintf("≤ %.2f", f.Target)
	}
	return fmt.Sprintf("≥ %.2f", f.Target)
}

func (f *Figure) verdict() string {
	switch {
	case f.Info:
		return "-"
	case f.Met():
		return "met"
	}
	return "MISSED"
}

// Report prints figures as they come and keeps them for the Markdown.
type Report struct {
	w       io.Writer
	groups  []int
	figures map[int][]*Figure
	errors  map[int]error
	cur     int
}

func newReport(w io.Writer) *Report {
	return &Report{w: w, figures: map[int][]*Figure{}, errors: map[int]error{}}
}

var groupTitles = map[int]string{
	1: "TOTP verification",
	2: "QR decoding",
	3: "Portal logins",
	4: "Portal code checks",
	5: "Desktop at rest",
	6: "Portal growth",
	7: "Desktop growth",
}

// Group starts group n.
func (r *Report) Group(n int) {
	r.cur = n
	r.groups = append(r.groups, n)
	fmt.Fprintf(r.w, "\n== %d. %s ==\n", n, groupTitles[n])
}

// Progress prints a line about what is being measured.
func (r *Report) Progress(format string, args ...any) {
	fmt.Fprintf(r.w, "   ... "+format+"\n", args...)
}

// Add records and prints a figure of the current group.
func (r *Report) Add(f *Figure) {
	r.figures[r.cur] = append(r.figures[r.cur], f)
	fmt.Fprintf(r.w, "%s\n", f.Name)
	if f.Check != "" {
		fmt.Fprintf(r.w, "   %s: %v  [%s]\n", f.Check, f.CheckOK, f.verdict())
	} else {
		fmt.Fprintf(r.w, "   %s %s   baseline %s: %s %s   ratio %.3f   target %s  [%s]\n",
			num(f.Value), f.Unit, f.Baseline, num(f.BaseValue), f.BaseUnit, f.Ratio(), f.targetText(), f.verdict())
	}
	if f.Note != "" {
		fmt.Fprintf(r.w, "   note: %s\n", f.Note)
	}
	fmt.Fprintf(r.w, "   reproduce: %s\n", f.Reproduce)
}

// Failed records that group n could not be measured.
func (r *Report) Failed(n int, err error) {
	r.errors[n] = err
	fmt.Fprintf(r.w, "   FAILED: %v\n", err)
}

// Summary prints which targets are met.
func (r *Report) Summary(took time.Duration) {
	met, missed := 0, []string{}
	for _, g := range r.groups {
		for _, f := range r.figures[g] {
			if f.Info {
				continue
			}
			if f.Met() {
				met++
			} else {
				missed = append(missed, fmt.Sprintf("%d. %s", g, f.Name))
			}
		}
	}
	fmt.Fprintf(r.w, "\n== summary ==\n%d targets met, %d missed, %d groups failed (%s)\n", met, len(missed), len(r.errors), took.Round(time.Second))
	for _, m := range missed {
		fmt.Fprintf(r.w, "   missed: %s\n", m)
	}
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 0.1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// WriteMarkdown writes every figure with the date and the machine.
func (r *Report) WriteMarkdown(path string, took time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark results\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (`qa/cmd/twofold-bench`); every ratio compares two numbers measured in the same run, on the same machine.\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %s, %d cores (GOMAXPROCS %d), %s\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), memTotal())
	fmt.Fprintf(&b, "- Go: %s %s/%s; load average at the end: %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAvg())
	fmt.Fprintf(&b, "- Run time: %s\n\n", took.Round(time.Second))
	for _, g := range r.groups {
		fmt.Fprintf(&b, "## %d. %s\n\n", g, groupTitles[g])
		if err := r.errors[g]; err != nil {
			fmt.Fprintf(&b, "**Not measured:** %s\n\n", strings.ReplaceAll(err.Error(), "\n", " "))
		}
		if len(r.figures[g]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "| Figure | Value | Baseline (same run) | Ratio | Target | Met |\n|---|---|---|---|---|---|\n")
		for _, f := range r.figures[g] {
			if f.Check != "" {
				fmt.Fprintf(&b, "| %s | %v | | | %s | %s |\n", f.Name, f.CheckOK, f.Check, f.verdict())
				continue
			}
			fmt.Fprintf(&b, "| %s | %s %s | %s: %s %s | %.3f | %s | %s |\n", f.Name, num(f.Value), f.Unit,
				f.Baseline, num(f.BaseValue), f.BaseUnit, f.Ratio(), f.targetText(), f.verdict())
		}
		fmt.Fprintf(&b, "\n")
		for _, f := range r.figures[g] {
			fmt.Fprintf(&b, "- **%s** — reproduce: %s", f.Name, f.Reproduce)
			if f.Note != "" {
				fmt.Fprintf(&b, " — %s", f.Note)
			}
			fmt.Fprintf(&b, "\n")
		}
		fmt.Fprintf(&b, "\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	data, _ := os.ReadFile("/proc/meminfo")
	var kb int
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			fmt.Sscan(strings.TrimPrefix(l, "MemTotal:"), &kb)
		}
	}
	return fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
}

func loadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
