//go:build !linux

package vault

// writeUnnamed is Linux's O_TMPFILE write; elsewhere a named temporary
// file is written and renamed, and a later backup sweeps one a killed
// process left.
func writeUnnamed(dir, path string, data []byte, beforeLink func(string)) (string, bool, error) {
	return "", false, nil
}
