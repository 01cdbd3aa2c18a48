// Package release is the app's name, ID and version, as FyneApp.toml at
// the top of the repository gives them: info.go is generated from that
// file, and a test fails when the two disagree.
package release

//go:generate sh ../../scripts/gen-release.sh

// String is what `twofold --version` prints.
func String() string {
	return Name + " " + Version
}
