package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/tomscan/tomscan/internal/hugepages"
)

// A worker prepares its heap out of the address space --max-worker-memory
// lets a build add (see prepareWorkerHeap): never more than half its
// GOMEMLIMIT (three quarters of the cap), and at most workerHeapMax.
func TestWorkerHeapFitsTheCap(t *testing.T) {
	for _, c := range []struct{ limit, want int64 }{
		{math.MaxInt64, 768 << 20},     // no cap
		{(2 << 30) / 4 * 3, 768 << 20}, // the default 2 GiB cap
		{(1 << 30) / 4 * 3, 384 << 20}, // a 1 GiB cap: half its limit
		{(64 << 20) / 4 * 3, 24 << 20}, // a 64 MiB cap
	} {
		if got := workerHeapBytes(c.limit); int64(got) != c.want {
			t.Errorf("GOMEMLIMIT %d: prepares %d bytes, want %d", c.limit, got, c.want)
		}
	}
}

// prepareWorkerHeap reads the limit the worker runs under.
func TestPrepareWorkerHeapReadsTheLimit(t *testing.T) {
	t.Setenv(hugepages.DisableEnv, "off") // the sizes only: no 24 MiB block in the test process
	old := debug.SetMemoryLimit((64 << 20) / 4 * 3)
	defer debug.SetMemoryLimit(old)
	if got := prepareWorkerHeap(); got != 24<<20 {
		t.Errorf("prepared %d bytes under a 64 MiB cap, want %d", got, 24<<20)
	}
}
