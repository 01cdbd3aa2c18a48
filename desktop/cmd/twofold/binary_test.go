package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// need fails (never skips) when a tool the test runs is missing.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (make deps installs it): %v", tool, err)
		}
	}
}

// buildBinary compiles this command into a temp dir, for tests that run
// the real program (a password prompt on a terminal, a kill -9), with the
// build tags given.
func buildBinary(t *testing.T, tags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "twofold")
	out, err := exec.Command("go", "build", "-tags="+strings.Join(tags, ","), "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
