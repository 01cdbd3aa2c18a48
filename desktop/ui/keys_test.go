package ui

import (
	"runtime"
	"testing"
)

func TestKeysNamePlatformModifier(t *testing.T) {
	want := map[string]string{"darwin": "Cmd+Shift+S, Cmd+O"}[runtime.GOOS]
	if want == "" {
		want = "Ctrl+Shift+S, Ctrl+O"
	}
	if got := Keys("Ctrl+Shift+S, Ctrl+O"); got != want {
		t.Errorf("Keys = %q, want %q on %s", got, want, runtime.GOOS)
	}
}
