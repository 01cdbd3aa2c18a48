package ui

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// TestModifierNamePerPlatform: the shortcut word each platform's build
// gets, read from the files that build selects (a macOS build cannot run
// here): Cmd on macOS, Ctrl on Windows and Linux, as
// fyne.KeyModifierShortcutDefault is there.
func TestModifierNamePerPlatform(t *testing.T) {
	for goos, want := range map[string]string{"darwin": "Cmd", "windows": "Ctrl", "linux": "Ctrl"} {
		ctx := build.Default
		ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = goos, "amd64", true
		var got []string
		for _, name := range []string{"keys_darwin.go", "keys_other.go"} {
			if ok, err := ctx.MatchFile(".", name); err != nil {
				t.Fatal(err)
			} else if ok {
				got = append(got, modifierIn(t, name))
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s builds modifierName %q, want %q", goos, got, want)
		}
	}
}

// modifierIn is the value of the constant modifierName in file.
func modifierIn(t *testing.T, file string) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	ast.Inspect(f, func(n ast.Node) bool {
		if s, ok := n.(*ast.ValueSpec); ok && len(s.Names) == 1 && s.Names[0].Name == "modifierName" {
			if lit, ok := s.Values[0].(*ast.BasicLit); ok {
				v, _ = strconv.Unquote(lit.Value)
			}
		}
		return true
	})
	if v == "" {
		t.Fatalf("%s has no string constant modifierName", file)
	}
	return v
}
