//go:build crashtest

package main

// crashStep is $TWOFOLD_TEST_CRASH in a binary built for the crash tests
// (go build -tags crashtest).
func crashStep(getenv func(string) string) string { return getenv("TWOFOLD_TEST_CRASH") }
