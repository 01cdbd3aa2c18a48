//go:build !linux

package portal

// lowerThreadPriority does nothing outside Linux: hashes run at normal
// priority, bounded by the slots only.
func lowerThreadPriority() {}
