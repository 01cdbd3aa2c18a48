package cluster

import (
	"strings"
	"testing"
)

// The descriptor check tells a pool that filled from a leak: database
// connections up to the pool's limit are allowed, descriptors outside the
// pools are not.
func TestLoadCheckTellsPoolFromLeak(t *testing.T) {
	before := Vars{Goroutines: 9, OpenFDs: 20, DBConns: 3, DBMaxConns: 16}
	for _, tc := range []struct {
		name  string
		after Vars
		leak  string // "" when the check must pass
	}{
		{"pool filled", Vars{Goroutines: 9, OpenFDs: 33, DBConns: 16, DBMaxConns: 16}, ""},
		{"pool shrank", Vars{Goroutines: 9, OpenFDs: 17, DBConns: 0, DBMaxConns: 16}, ""},
		{"client still connected", Vars{Goroutines: 10, OpenFDs: 22, DBConns: 4, DBMaxConns: 16, ClientConns: 1}, ""},
		{"leak beside a steady pool", Vars{Goroutines: 9, OpenFDs: 25, DBConns: 3, DBMaxConns: 16}, "other than database and client connections grew from 17 to 22"},
		{"leak hidden in the pool's room", Vars{Goroutines: 9, OpenFDs: 30, DBConns: 4, DBMaxConns: 16}, "(a leak)"},
	} {
		s := &Summary{Slack: 4, Server: []ServerCounters{{Instance: "A", Before: before, After: tc.after}}}
		err := s.Check(s.Slack)
		switch {
		case tc.leak == "" && err != nil:
			t.Errorf("%s: %v, want no complaint", tc.name, err)
		case tc.leak != "" && (err == nil || !strings.Contains(err.Error(), tc.leak)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.leak)
		}
	}
	s := &Summary{Slack: 4, Server: []ServerCounters{{Instance: "A", Before: before, After: Vars{Goroutines: 9, OpenFDs: 25, DBConns: 8, DBMaxConns: 16}}}}
	if out := s.String(); !strings.Contains(out, "open fds 20 -> 25 (database connections 3 -> 8 of at most 16, client connections 0 -> 0, other fds 17 -> 17, bound 37)") {
		t.Errorf("summary line:\n%s", out)
	}
}
