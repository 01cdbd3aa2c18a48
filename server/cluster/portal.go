// Package cluster runs real twofold-portal processes — one on SQLite, or
// several on one PostgreSQL database — and drives them over HTTP the way a
// client does: a cookie jar, same-origin requests, codes computed from the
// key the portal showed. Its tests prove the portal's guarantees across
// instances and under faults; its load generator (Load) is the engine of
// cmd/twofold-load.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// PortalPackage is the import path of the portal command.
const PortalPackage = "twofold.dev/server/cmd/twofold-portal"

// Build compiles the portal into dir and returns the binary's path. It
// runs in the current directory, which must be inside the workspace.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "twofold-portal")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, PortalPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building the portal: %v\n%s", err, out)
	}
	return bin, nil
}

// Instance is one portal process. Fill in the fields, then Start; Kill
// or Stop end it, and Start runs it again on the same address and data.
type Instance struct {
	Bin  string // portal binary
	Name string // for messages: "A", "B"
	// Data is the data directory (SQLite database when Database is
	// empty); SecretKeyFile is shared by instances of one cluster.
	Data          string
	Database      string // postgres:// URL, or "" for SQLite
	SecretKeyFile string
	Args          []string // more flags
	// Wrap is a command the portal runs under, e.g. taskset -c 1 to pin
	// it to a core from its start (nil: none). It must exec the portal
	// in its own process, so that signals reach the portal.
	Wrap []string
	// Addr and DebugAddr are picked on the first Start when empty.
	Addr      string
	DebugAddr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error // of the last exit
	log  bytes.Buffer
}

// URL is the portal's base URL.
func (in *Instance) URL() string { return "http://" + in.Addr }

// DebugURL is the base URL of the debug listener (/debug/vars).
func (in *Instance) DebugURL() string { return "http://" + in.DebugAddr }

// Log returns everything the process wrote so far, over all its runs.
func (in *Instance) Log() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.log.String()
}

// Write collects the process output (it is the cmd's stdout and stderr).
func (in *Instance) Write(p []byte) (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.log.Write(p)
}

// Command returns the command line of a run, for the error-at-start
// tests that run it themselves.
func (in *Instance) Command(ctx context.Context) *exec.Cmd {
	args := []string{"--addr", in.Addr, "--data", in.Data, "--debug-addr", in.DebugAddr}
	if in.SecretKeyFile != "" {
		args = append(args, "--secret-key-file", in.SecretKeyFile)
	}
	args = append(args, in.Args...)
	cmd := exec.CommandContext(ctx, in.Bin, args...)
	if len(in.Wrap) > 0 {
		cmd = exec.CommandContext(ctx, in.Wrap[0], append(append(in.Wrap[1:len(in.Wrap):len(in.Wrap)], in.Bin), args...)...)
	}
	// The database URL goes by environment: it may hold a password, and
	// the command line is visible to every local user.
	// The clients of a load or fault test all sign up from loopback: no
	// sign-up limit unless the environment or Args set one.
	cmd.Env = append(append([]string{"TWOFOLD_SIGNUP_RATE=0"}, os.Environ()...), "TWOFOLD_DATABASE="+in.Database)
	return cmd
}

// Start runs the process and waits until /healthz answers 200.
func (in *Instance) Start(ctx context.Context) error {
	if err := in.StartNoWait(); err != nil {
		return err
	}
	return in.WaitHealthy(ctx, 30*time.Second)
}

// StartNoWait runs the process without waiting for it to serve.
func (in *Instance) StartNoWait() error {
	if in.cmd != nil {
		return fmt.Errorf("instance %s: already running", in.Name)
	}
	var err error
	if in.Addr == "" {
		if in.Addr, err = FreeAddr(); err != nil {
			return err
		}
	}
	if in.DebugAddr == "" {
		if in.DebugAddr, err = FreeAddr(); err != nil {
			return err
		}
	}
	cmd := in.Command(context.Background())
	cmd.Stdout, cmd.Stderr = in, in
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("instance %s: %w", in.Name, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		in.mu.Lock()
		in.err = err
		in.mu.Unlock()
		close(done)
	}()
	in.cmd, in.done = cmd, done
	return nil
}

// WaitHealthy polls /healthz until it answers 200, the process exits, or
// the timeout passes.
func (in *Instance) WaitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if code, err := get(ctx, client, in.URL()+"/healthz"); err == nil && code == http.StatusOK {
			return nil
		}
		select {
		case <-in.done:
			in.cmd = nil
			return fmt.Errorf("instance %s exited before serving: %v\n%s", in.Name, in.exitErr(), in.Log())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("instance %s: /healthz not 200 after %v\n%s", in.Name, timeout, in.Log())
		}
	}
}

func get(ctx context.Context, client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (in *Instance) exitErr() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.err
}

// Kill ends the process with SIGKILL, as a crash or an OOM kill would.
func (in *Instance) Kill() error { return in.signal(syscall.SIGKILL) }

// Stop ends the process with SIGTERM (graceful shutdown) and returns its
// exit error.
func (in *Instance) Stop() error { return in.signal(syscall.SIGTERM) }

func (in *Instance) signal(sig syscall.Signal) error {
	if in.cmd == nil {
		return nil
	}
	if err := in.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-in.done:
	case <-time.After(20 * time.Second):
		in.cmd.Process.Kill()
		<-in.done
	}
	in.cmd = nil
	if sig == syscall.SIGKILL {
		return nil
	}
	return in.exitErr()
}

// Running reports whether the process is alive.
func (in *Instance) Running() bool {
	if in.cmd == nil {
		return false
	}
	select {
	case <-in.done:
		return false
	default:
		return true
	}
}

// FreeAddr returns a 127.0.0.1 address with a port free right now.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// WriteKeyFile writes a new secret key file (0600) shared by instances.
func WriteKeyFile(path string, key []byte) error {
	return os.WriteFile(path, []byte(fmt.Sprintf("%x\n", key)), 0o600)
}
