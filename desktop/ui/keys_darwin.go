package ui

// modifierName is the key of fyne.KeyModifierShortcutDefault on macOS.
const modifierName = "Cmd"
