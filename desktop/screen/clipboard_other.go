//go:build windows || darwin

package screen

// ClipboardImageReader is nil on Windows and macOS: "Paste image" is not
// offered there (Paste still reads a copied otpauth:// link). Fyne's
// clipboard holds only text, and no clipboard library that reads images
// there is in this project's dependencies yet.
func ClipboardImageReader() func() ([]byte, error) { return nil }
