package release

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestMatchesFyneApp: the constants are those of FyneApp.toml's [Details]
// (run `go generate ./desktop/release` after changing the file).
func TestMatchesFyneApp(t *testing.T) {
	f, err := os.Open("../../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	details := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && section == "Details" {
			details[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, got string }{
		{"Name", Name}, {"ID", ID}, {"Version", Version}, {"Build", strconv.Itoa(Build)},
	} {
		if details[c.key] != c.got {
			t.Errorf("FyneApp.toml %s = %q, release says %q: run go generate ./desktop/release", c.key, details[c.key], c.got)
		}
	}
	if got, want := String(), "Twofold "+details["Version"]; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestIconIsFyneApps: the embedded icon is FyneApp.toml's, byte for byte.
func TestIconIsFyneApps(t *testing.T) {
	want, err := os.ReadFile("../../assets/icon.png")
	if err != nil {
		t.Fatal(err)
	}
	if string(Icon) != string(want) {
		t.Fatal("desktop/release/icon.png differs from assets/icon.png: run go generate ./desktop/release")
	}
}
