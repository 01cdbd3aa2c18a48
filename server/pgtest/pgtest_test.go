package pgtest

import (
	"net"
	"os"
	"strings"
	"testing"
)

func TestClusterLifecycle(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	dir := c.Dir
	url, err := c.CreateDB("lifecycle_1")
	if err != nil {
		t.Fatal(err)
	}
	psql := func() (string, error) {
		// The server's own psql, not Debian's perl wrapper, which warns about locales.
		out, err := c.command("psql", url, "-tAc", "select current_database()").CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if got, err := psql(); err != nil || got != "lifecycle_1" {
		t.Fatalf("psql: %q, %v", got, err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.Dial("tcp", c.addr()); err == nil {
		conn.Close()
		t.Fatal("port still open after Stop")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if got, err := psql(); err != nil || got != "lifecycle_1" {
		t.Fatalf("after restart: %q, %v", got, err)
	}
	if _, err := c.CreateDB("Bad-Name"); err == nil {
		t.Error("CreateDB took a bad name")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster dir left behind: %v", err)
	}
}
