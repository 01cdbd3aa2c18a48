package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestDatabaseFlag(t *testing.T) {
	const url = "postgres://joe:pw-9c1d@127.0.0.1:1/portal?sslmode=disable&connect_timeout=2"
	if _, _, err := parseFlags([]string{"twofold-portal"}, env(map[string]string{"TWOFOLD_DATABASE": url}), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "--secret-key-file") {
		t.Errorf("--database without --secret-key-file: %v, want a refusal naming --secret-key-file", err)
	}
	key := filepath.Join(t.TempDir(), "secret.key")
	cfg, _, err := parseFlags([]string{"twofold-portal", "--secret-key-file", key}, env(map[string]string{"TWOFOLD_DATABASE": url}), io.Discard)
	if err != nil || cfg.Database != url {
		t.Fatalf("TWOFOLD_DATABASE: %+v, %v", cfg, err)
	}
	// Nothing listens on port 1: a clear error at start, without the password.
	err = run(t.Context(), []string{"twofold-portal", "--secret-key-file", key, "--data", t.TempDir(), "--database", url},
		env(nil), strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "database unavailable") || strings.Contains(err.Error(), "pw-9c1d") {
		t.Errorf("run on an unreachable database: %v", err)
	}
}

func TestDebugVars(t *testing.T) {
	var clients atomic.Int64
	srv := httptest.NewServer(debugHandler(fakePool{3, 16}, &clients))
	defer srv.Close()
	hook := countConns(&clients)
	hook(nil, http.StateNew)
	hook(nil, http.StateNew)
	hook(nil, http.StateActive)
	hook(nil, http.StateClosed)
	resp, err := http.Get(srv.URL + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var vars map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		t.Fatal(err)
	}
	if vars["goroutines"] < 1 || vars["open_fds"] < 3 || vars["db_conns"] != 3 || vars["db_max_conns"] != 16 || vars["client_conns"] != 1 || len(vars) != 5 {
		t.Errorf("/debug/vars = %v, want goroutines, open_fds, db_conns 3 of 16, client_conns 1, nothing else", vars)
	}
	if resp, err := http.Get(srv.URL + "/debug/pprof/"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("/debug/pprof/ is served: %v", err)
	}
}

type fakePool [2]int

func (p fakePool) Conns() (int, int) { return p[0], p[1] }
