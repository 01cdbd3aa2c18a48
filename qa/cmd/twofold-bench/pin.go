package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Group 4 runs the load generator (this process) on one core and every
// server it measures (the bare handler, the portal instances, PostgreSQL)
// on the other, with taskset (util-linux): the two sides never take each
// other's time, and the bare handler and the portal get the same single
// core, so their ratio compares like with like.
const (
	loadCore   = "0"
	serverCore = "1"
)

// onServerCore is the command prefix that starts a server pinned to
// serverCore from its first instruction (the Go runtime sizes GOMAXPROCS
// from the affinity it starts with).
func onServerCore() []string { return []string{"taskset", "-c", serverCore} }

// checkPinning says why group 4 cannot pin, nil when it can.
func checkPinning() error {
	if _, err := exec.LookPath("taskset"); err != nil {
		return errors.New("taskset not found: install util-linux (apt-get install util-linux)")
	}
	if n := runtime.NumCPU(); n < 2 {
		return fmt.Errorf("group 4 pins the load generator and the servers to cores %s and %s: this process may use %d core", loadCore, serverCore, n)
	}
	return nil
}

// pinSelf pins every thread of this process (threads started later
// inherit it) to core and returns a function that restores the
// affinity it had.
func pinSelf(core string) (restore func() error, err error) {
	pid := strconv.Itoa(os.Getpid())
	out, err := exec.Command("taskset", "-p", pid).Output()
	if err != nil {
		return nil, fmt.Errorf("reading the affinity of the bench: %w", err)
	}
	// "pid 123's current affinity mask: 3"
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return nil, fmt.Errorf("reading the affinity of the bench: taskset said %q", out)
	}
	mask := f[len(f)-1]
	if out, err := exec.Command("taskset", "-a", "-p", "-c", core, pid).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pinning the bench to core %s: %w: %s", core, err, out)
	}
	return func() error {
		if out, err := exec.Command("taskset", "-a", "-p", mask, pid).CombinedOutput(); err != nil {
			return fmt.Errorf("restoring the affinity of the bench: %w: %s", err, out)
		}
		return nil
	}, nil
}

// pinTree pins process pid, all its threads and its child processes
// (recursively) to core; processes it forks later inherit the pinning.
func pinTree(pid int, core string) error {
	if out, err := exec.Command("taskset", "-a", "-p", "-c", core, strconv.Itoa(pid)).CombinedOutput(); err != nil {
		return fmt.Errorf("pinning process %d to core %s: %w: %s", pid, core, err, out)
	}
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread ended meanwhile
		}
		for _, c := range strings.Fields(string(b)) {
			child, err := strconv.Atoi(c)
			if err != nil {
				continue
			}
			if err := pinTree(child, core); err != nil {
				if _, gone := os.Stat(fmt.Sprintf("/proc/%d", child)); gone != nil {
					continue // it ended meanwhile
				}
				return err
			}
		}
	}
	return nil
}

// postmasterPID reads the server's process id from its data directory
// (the first line of postmaster.pid).
func postmasterPID(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("finding the PostgreSQL server process: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("finding the PostgreSQL server process: postmaster.pid starts with %q", line)
	}
	return pid, nil
}
