//go:build !windows && !darwin

package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// Without a display the window is not tried (GLFW would panic): the
// message says why and what still works. (Windows and macOS always have
// a display: this file is built only where DISPLAY decides.)
func TestNoDisplayIsSaid(t *testing.T) {
	env := map[string]string{"TWOFOLD_CONFIG_DIR": t.TempDir()}
	var out, errOut bytes.Buffer
	err := run(context.Background(), nil, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	if !errors.Is(err, errNoDisplay) || !strings.Contains(err.Error(), "twofold list") {
		t.Fatalf("twofold with no display: %v", err)
	}
}
