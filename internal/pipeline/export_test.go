package pipeline

import "time"

// SetTestHook makes every build call f with its input path first (in the
// process that scans it: a worker when isolated). Test binaries only.
func SetTestHook(f func(path string)) { testHook = f }

// SetWorkerGrace shortens how long past the build timeout a worker is waited
// for. Test binaries only.
func SetWorkerGrace(d time.Duration) { workerGrace = d }

// SetLanes makes every analyzer made from now on run n lanes beside its
// walk (0: one node at a time) and returns what restores the default. Test
// binaries only.
func SetLanes(n int) (restore func()) {
	old := laneCount
	laneCount = func() int { return n }
	return func() { laneCount = old }
}

// SetReplayPoison makes every replay overwrite each node's bytes once the
// rule stages are done with them, so a report that still reads them (a
// slice kept past its node) differs from a fresh scan's. Test binaries only.
func SetReplayPoison(on bool) {
	replayUsedBytes = nil
	if on {
		replayUsedBytes = func(b []byte) {
			for i := range b {
				b[i] = 0xa5
			}
		}
	}
}

// SetVouchAbove makes Group vouch for inputs of n bytes or more and returns
// what restores the default. Test binaries only.
func SetVouchAbove(n int64) (restore func()) {
	old := vouchAbove
	vouchAbove = n
	return func() { vouchAbove = old }
}

// SetAfterReadHook makes every build with a vouched input call f with the
// input's path once it is read, before its stamp is checked again (in the
// process that scans it). Test binaries only.
func SetAfterReadHook(f func(path string)) { testAfterRead = f }

// SetTOMMemoHook makes every lookup of the TOM result memo call f, with
// whether it was found (in the process that scans: in process in these
// tests). Test binaries only.
func SetTOMMemoHook(f func(hit bool)) { testTOMMemo = f }

// SetTestAhead makes every slot call f (from its own goroutine) with "ahead"
// when it sends a build behind the one its worker is on, and "again" when
// such a build is lost with its worker and goes to the next one. Test
// binaries only.
func SetTestAhead(f func(what string)) { testAhead = f }
