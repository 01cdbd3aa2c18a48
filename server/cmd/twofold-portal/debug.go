package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"
)

// connStats is what a store says of its connection pool.
type connStats interface {
	Conns() (open, limit int)
}

// debugHandler serves GET /debug/vars in expvar's JSON format with the
// counters the load generator checks for leaks: goroutines, open file
// descriptors, and the descriptors a bounded pool may hold (database
// connections and their limit, open client connections), so that a pool
// filling up is told from a leak. It listens only on --debug-addr, never
// on the public address, and shows no configuration (expvar's default
// "cmdline" would show the database URL).
func debugHandler(db connStats, clients *atomic.Int64) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/vars", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		vars := map[string]int{
			"goroutines":   runtime.NumGoroutine(),
			"open_fds":     openFDs(),
			"client_conns": int(clients.Load()),
		}
		if db != nil {
			vars["db_conns"], vars["db_max_conns"] = db.Conns()
		}
		json.NewEncoder(w).Encode(vars)
	})
	return mux
}

// countConns is an http.Server ConnState hook that keeps n at the number
// of open client connections.
func countConns(n *atomic.Int64) func(c net.Conn, state http.ConnState) {
	return func(_ net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			n.Add(1)
		case http.StateClosed, http.StateHijacked:
			n.Add(-1)
		}
	}
}

// openFDs counts the process's open file descriptors (Linux), not
// counting the one used to list them; -1 if it cannot tell.
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries) - 1
}
