package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of this process when TOMSCAN_CPUPROFILE
// names a file (a development aid for the performance work of issue 16; not
// documented for users). Worker processes write beside it, one file each
// (PATH.worker.PID), so `go tool pprof` can read the parent and the workers
// together. The returned function stops the profile and closes the file.
func startProfile(worker bool) func() {
	path := os.Getenv("TOMSCAN_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	if worker {
		path = fmt.Sprintf("%s.worker.%d", path, os.Getpid())
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tomscan: TOMSCAN_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "tomscan: TOMSCAN_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
