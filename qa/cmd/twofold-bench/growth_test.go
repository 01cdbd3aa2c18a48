package main

import (
	"io"
	"os"
	"os/exec"
	"slices"
	"testing"

	portalseed "twofold.dev/qa/seed"
	"twofold.dev/server/cluster"
)

func TestGrowthFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"twofold-bench", "-groups", "6", "-growth-accounts", "5000", "-growth-prune-args", "--prune-interval 1s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Groups[6] || len(cfg.Groups) != 1 || cfg.GrowthAccounts != 5000 || cfg.GrowthPruneArgs != "--prune-interval 1s" {
		t.Fatalf("config %+v", cfg)
	}
	if cfg, err = parseFlags([]string{"twofold-bench"}, io.Discard); err != nil || !cfg.Groups[6] || cfg.GrowthAccounts != 1_000_000 || len(cfg.GrowthDatabases) != 2 {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	if cfg, err = parseFlags([]string{"twofold-bench", "-growth-databases", "postgres"}, io.Discard); err != nil || !slices.Equal(cfg.GrowthDatabases, []string{"postgres"}) {
		t.Fatalf("-growth-databases postgres: %v, %v", cfg.GrowthDatabases, err)
	}
	if _, err := parseFlags([]string{"twofold-bench", "-growth-databases", "mysql"}, io.Discard); err == nil {
		t.Fatal("-growth-databases mysql accepted")
	}
	if _, err := parseFlags([]string{"twofold-bench", "-groups", "9"}, io.Discard); err == nil {
		t.Fatal("-groups 9 accepted")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{7: "7", 1000: "1,000", 20000: "20,000", 1_000_000: "1,000,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// The RSS read from /proc and the process found by its command line are
// those of the process meant.
func TestPortalPIDAndRSS(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 30", "--addr", "127.0.0.1:1", "x")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid, err := portalPID(&cluster.Instance{Bin: "/bin/sh", Addr: "127.0.0.1:1"})
	if err != nil || pid != cmd.Process.Pid {
		t.Fatalf("pid %d, %v; want %d", pid, err, cmd.Process.Pid)
	}
	if _, err := portalPID(&cluster.Instance{Bin: "/bin/sh", Addr: "127.0.0.1:2"}); err == nil {
		t.Fatal("found a process on another address")
	}
	self, err := rss(os.Getpid())
	if err != nil || self < 1<<20 {
		t.Fatalf("own RSS %d, %v", self, err)
	}
}

// The picker hands out every account with 2FA once, in some order.
func TestPickerTakesEachTwoFactorAccountOnce(t *testing.T) {
	sc := &portalseed.Config{Accounts: 7, Prefix: "g", Issuer: "Twofold Portal"}
	p := newPicker(sc)
	var names []string
	for range 4 {
		a, err := p.take()
		if err != nil {
			t.Fatal(err)
		}
		if a.key == nil || a.ip == "" {
			t.Fatalf("account %+v", a)
		}
		names = append(names, a.name)
	}
	slices.Sort(names)
	if want := []string{"g0", "g2", "g4", "g6"}; !slices.Equal(names, want) {
		t.Fatalf("took %v, want %v", names, want)
	}
	if _, err := p.take(); err == nil {
		t.Fatal("a fifth account from four")
	}
}
