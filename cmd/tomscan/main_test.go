package main

import (
	"context"
	"os"
	"testing"
)

// TestMain lets this test binary serve as its own scan workers: scans run
// in process by the tests (run(...)) start os.Executable() — this binary —
// with the hidden worker subcommand, as the real tomscan does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == workerCommand {
		os.Exit(cmdWorker(context.Background(), os.Stderr))
	}
	os.Exit(m.Run())
}
