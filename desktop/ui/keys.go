package ui

import "strings"

// Keys writes a text's shortcuts for this platform: "Ctrl+N" becomes
// "Cmd+N" on macOS, where Fyne's default shortcut modifier
// (fyne.KeyModifierShortcutDefault) is Command.
func Keys(s string) string {
	if modifierName == "Ctrl" {
		return s
	}
	return strings.ReplaceAll(s, "Ctrl+", modifierName+"+")
}
