// Package pgtest starts a throwaway PostgreSQL cluster for tests: Debian's
// server binaries, a private data directory in a temp dir, a free port on
// 127.0.0.1, trust authentication, and no state left behind. Run as root,
// the server runs as the unprivileged "postgres" user, as PostgreSQL demands.
package pgtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cluster is one running (or stopped) PostgreSQL server.
type Cluster struct {
	Dir  string // holds data/ and the socket; removed by Close
	Port int
	bin  string
	cred *syscall.Credential
	cmd  *exec.Cmd
	done chan error
}

// User is the superuser the cluster is created with.
const User = "twofold"

// BinDir finds the newest PostgreSQL server installed by Debian's packages.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var ok []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		return "", errors.New("PostgreSQL server not found: install the Debian package postgresql (make deps does)")
	}
	sort.Slice(ok, func(i, j int) bool { return version(ok[i]) < version(ok[j]) })
	return ok[len(ok)-1], nil
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// New creates and starts a cluster. Close stops it and removes its files.
func New() (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "twofold-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresUser(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	out, err := c.command("initdb", "-D", c.data(), "-U", User, "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs an unprivileged user; the Debian package creates \"postgres\": %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (c *Cluster) data() string { return filepath.Join(c.Dir, "data") }

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

// Start runs the server (again, after Stop) on the cluster's port, picking
// a free one the first time.
func (c *Cluster) Start() error {
	if c.cmd != nil {
		return errors.New("pgtest: already running")
	}
	for attempt := 0; ; attempt++ {
		if c.Port == 0 || attempt > 0 {
			p, err := freePort()
			if err != nil {
				return err
			}
			c.Port = p
		}
		err := c.start()
		if err == nil || attempt == 3 {
			return err
		}
	}
}

func (c *Cluster) start() error {
	log, err := os.Create(filepath.Join(c.Dir, "server.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	if c.cred != nil {
		os.Chown(log.Name(), int(c.cred.Uid), int(c.cred.Gid))
	}
	// Durability settings off: the tests kill the portal, never the database.
	cmd := c.command("postgres", "-D", c.data(), "-p", strconv.Itoa(c.Port), "-h", "127.0.0.1", "-k", c.Dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if conn, err := net.DialTimeout("tcp", c.addr(), 200*time.Millisecond); err == nil {
			conn.Close()
			if c.command("pg_isready", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", User).Run() == nil {
				break
			}
		}
		select {
		case err := <-done:
			out, _ := os.ReadFile(filepath.Join(c.Dir, "server.log"))
			return fmt.Errorf("postgres exited: %v: %s", err, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return errors.New("postgres did not accept connections in 30 s")
		}
	}
	c.cmd, c.done = cmd, done
	return nil
}

func (c *Cluster) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)) }

// Stop shuts the server down cleanly ("fast" mode: open sessions end).
func (c *Cluster) Stop() error {
	if c.cmd == nil {
		return nil
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	c.cmd = nil
	return nil
}

// Close stops the server and removes every file of the cluster.
func (c *Cluster) Close() error {
	c.Stop()
	return os.RemoveAll(c.Dir)
}

// URL is a connection string for database db.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", User, c.addr(), db)
}

// CreateDB makes an empty database and returns its URL.
func (c *Cluster) CreateDB(name string) (string, error) {
	if strings.ContainsFunc(name, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
		return "", fmt.Errorf("pgtest: database name %q: use a-z, 0-9 and _", name)
	}
	out, err := c.command("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", User, name).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("createdb %s: %v: %s", name, err, out)
	}
	return c.URL(name), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
