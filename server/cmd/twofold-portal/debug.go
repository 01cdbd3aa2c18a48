package main

import (
	"encoding/json"
	"net/http"
	"os"
	"runtime"
)

// debugHandler serves GET /debug/vars in expvar's JSON format with the
// counters the load generator checks for leaks: goroutines and open file
// descriptors. It listens only on --debug-addr, never on the public
// address, and shows no configuration (expvar's default "cmdline" would
// show the database URL).
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/vars", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]int{
			"goroutines": runtime.NumGoroutine(),
			"open_fds":   openFDs(),
		})
	})
	return mux
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
