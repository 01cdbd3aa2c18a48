package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"twofold.dev/desktop/keyring"
	"twofold.dev/desktop/release"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errOut); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if got, want := out.String(), "Twofold "+release.Version+"\n"; got != want {
			t.Errorf("%v printed %q, want %q", args, got, want)
		}
	}
}

func TestIsLink(t *testing.T) {
	for arg, want := range map[string]bool{
		"otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP": true,
		"OTPAUTH://totp/A:b?secret=JBSWY3DPEHPK3PXP": true,
		"otpauth-migration://offline?data=CgA%3D":    true,
		"list":                           false,
		"https://example.com/otpauth://": false,
		"otpauth:/totp/A:b?secret=JBSWY3DPEHPK3PXP": false,
		"-config": false,
	} {
		if got := isLink(arg); got != want {
			t.Errorf("isLink(%q) = %v, want %v", arg, got, want)
		}
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"otpauth://totp/A:b?secret=X", "otpauth://totp/A:c?secret=Y"},
		func(k string) string { return map[string]string{"TWOFOLD_CONFIG_DIR": t.TempDir()}[k] }, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "give one link") {
		t.Fatalf("two links: %v", err)
	}
}

// TestWatchIndex: replacing the index by a rename (as the store writes it)
// is reported, once for a burst, within a second; other files are not.
func TestWatchIndex(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed := make(chan struct{}, 10)
	var stderr bytes.Buffer
	if err := watchIndex(ctx, dir, func() { changed <- struct{}{} }, &stderr); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		tmp := filepath.Join(dir, ".tmp")
		if err := os.WriteFile(tmp, []byte{byte('0' + i)}, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, keyring.IndexFile)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-changed:
	case <-time.After(time.Second):
		t.Fatal("no change reported within a second")
	}
	// The burst settles into one report: a second one would come settle
	// after the first at the latest.
	select {
	case <-changed:
		t.Error("one burst of writes reported twice")
	case <-time.After(4 * settle):
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
}
