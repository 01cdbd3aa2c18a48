package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"twofold.dev/server/cluster"
	"twofold.dev/server/pgtest"
)

// portalPID finds the process of a running instance by its command line
// (cluster.Instance keeps its process to itself).
func portalPID(in *cluster.Instance) (int, error) {
	want := []byte("\x00--addr\x00" + in.Addr + "\x00")
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(b, []byte(in.Bin+"\x00")) || !bytes.Contains(b, want) {
			continue
		}
		return strconv.Atoi(filepath.Base(filepath.Dir(p)))
	}
	return 0, fmt.Errorf("no process of %s on %s", in.Bin, in.Addr)
}

// rss is the resident set size of process pid, in bytes (VmRSS).
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the portal's memory: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading the portal's memory: %q", l)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("reading the portal's memory: no VmRSS in /proc/%d/status", pid)
}

// sampleRSS reads pid's RSS every 100 ms until the returned function is
// called, which returns the peak.
func sampleRSS(ctx context.Context, pid int) func() int64 {
	var mu sync.Mutex
	var peak int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if v, err := rss(pid); err == nil {
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	return func() int64 {
		once.Do(func() { close(stop); <-done })
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

const countQuery = `SELECT (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM attempts), (SELECT COUNT(*) FROM activity)`

// countRows counts the rows the pruner works on, read-only.
func countRows(ctx context.Context, db, data, database string) (tableRows, error) {
	var t tableRows
	if db == "sqlite" {
		d, err := sql.Open("sqlite", "file:"+filepath.Join(data, "portal.db")+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			return t, err
		}
		defer d.Close()
		err = d.QueryRowContext(ctx, countQuery).Scan(&t.sessions, &t.attempts, &t.activity)
		return t, err
	}
	conn, err := pgx.Connect(ctx, database)
	if err != nil {
		return t, err
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx, countQuery).Scan(&t.sessions, &t.attempts, &t.activity)
	return t, err
}

// pgSize runs VACUUM ANALYZE and returns the bytes of the portal's
// tables with their indexes and TOAST.
func pgSize(ctx context.Context, database string) (int64, error) {
	conn, err := pgx.Connect(ctx, database)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return 0, fmt.Errorf("vacuum analyze: %w", err)
	}
	var size int64
	err = conn.QueryRow(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
		WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace`).Scan(&size)
	return size, err
}

// dropDB removes a database of the throwaway cluster (its files with it).
func dropDB(pg *pgtest.Cluster, name string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
	return err
}
