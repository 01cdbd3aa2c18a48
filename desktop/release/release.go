// Package release is the app's name, ID and version, as FyneApp.toml at
// the top of the repository gives them: info.go is generated from that
// file, and a test fails when the two disagree.
package release

import _ "embed"

//go:generate sh ../../scripts/gen-release.sh

// Icon is the app's icon (FyneApp.toml's Icon, a PNG): the window and the
// tray show it. A plain go build has no other: only fyne package bundles
// FyneApp.toml's.
//
//go:embed icon.png
var Icon []byte

// String is what `twofold --version` prints.
func String() string {
	return Name + " " + Version
}
