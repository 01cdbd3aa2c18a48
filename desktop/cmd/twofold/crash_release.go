//go:build !crashtest

package main

// crashStep is empty in every binary but the crash tests' (crashtest tag):
// a shipped Twofold has no way to be told to kill itself.
func crashStep(func(string) string) string { return "" }
