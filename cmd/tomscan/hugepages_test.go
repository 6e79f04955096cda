package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/tomscan/tomscan/internal/hugepages"
)

// A worker prepares its heap out of the address space --max-worker-memory
// lets a build add (see prepareWorkerHeap): never more than an eighth of
// the cap, whose three quarters are the worker's GOMEMLIMIT.
func TestPrepareWorkerHeapFitsTheCap(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	for _, c := range []struct{ limit, want int64 }{
		{math.MaxInt64, hugepages.HeapBytes},     // no cap
		{(2 << 30) / 4 * 3, hugepages.HeapBytes}, // the default 2 GiB cap
		{(64 << 20) / 4 * 3, 8 << 20},            // a 64 MiB cap: an eighth
	} {
		debug.SetMemoryLimit(c.limit)
		if got := prepareWorkerHeap(); int64(got) != c.want {
			t.Errorf("GOMEMLIMIT %d: prepared %d bytes, want %d", c.limit, got, c.want)
		}
	}
}
