//go:build !darwin

package ui

// modifierName is the key of fyne.KeyModifierShortcutDefault here.
const modifierName = "Ctrl"
