package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cpusAllowed is the Cpus_allowed_list of a process or thread status file.
func cpusAllowed(t *testing.T, status string) string {
	t.Helper()
	b, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s has no Cpus_allowed_list", status)
	return ""
}

// Group 4's pinning, with the real taskset: a process and the child it
// started end up on the core asked for, and this process's threads come
// back to the cores they had.
func TestPinning(t *testing.T) {
	if err := checkPinning(); err != nil {
		t.Fatal(err) // taskset comes with util-linux; group 4 needs two cores
	}
	// A shell with a child of its own, whose pid it prints: the child
	// must be pinned too.
	sh := exec.Command("sh", "-c", "sleep 60 & echo $!; wait")
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Process.Kill(); sh.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child := strings.TrimSpace(line)
	t.Cleanup(func() { exec.Command("kill", child).Run() })
	if err := pinTree(sh.Process.Pid, serverCore); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []string{strconv.Itoa(sh.Process.Pid), child} {
		if got := cpusAllowed(t, "/proc/"+pid+"/status"); got != serverCore {
			t.Errorf("process %s may run on %q, want %q", pid, got, serverCore)
		}
	}

	before := cpusAllowed(t, "/proc/self/status")
	restore, err := pinSelf(loadCore)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if got := cpusAllowed(t, task); got != loadCore {
			t.Errorf("thread %s may run on %q, want %q", task, got, loadCore)
		}
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if got := cpusAllowed(t, "/proc/self/status"); got != before {
		t.Errorf("after restore the bench may run on %q, want %q as before", got, before)
	}
}

func TestPostmasterPID(t *testing.T) {
	dir := t.TempDir()
	// The first lines of a real postmaster.pid.
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte("4242\n/tmp/pg/data\n1764500000\n5432\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pid, err := postmasterPID(dir); err != nil || pid != 4242 {
		t.Errorf("postmasterPID = %d, %v; want 4242", pid, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := postmasterPID(dir); err == nil {
		t.Error("an empty postmaster.pid gave no error")
	}
	if _, err := postmasterPID(t.TempDir()); err == nil {
		t.Error("a missing postmaster.pid gave no error")
	}
}
