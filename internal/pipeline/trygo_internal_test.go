package pipeline

import (
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/limits"
)

// TestTryGoKeepsToTheBuildsLanes: the engine's digests run beside the walk
// only in a lane the build was given: none with no lanes or a limit of 0,
// one at a time with a limit of 1 (a second waits for the first), and the
// lane is free again once its work is done.
func TestTryGoKeepsToTheBuildsLanes(t *testing.T) {
	restore := SetLanes(0)
	a, err := newAnalyzer(Config{Limits: limits.Default()})
	restore()
	if err != nil {
		t.Fatal(err)
	}
	a.laneLimit = 1
	if a.TryGo(func() {}) {
		t.Fatal("ran with no lanes at all")
	}

	restore = SetLanes(2)
	a, err = newAnalyzer(Config{Limits: limits.Default()})
	restore()
	if err != nil {
		t.Fatal(err)
	}
	if a.TryGo(func() {}) {
		t.Fatal("ran beside a build given no lanes")
	}
	a.laneLimit = 1
	release, ran := make(chan struct{}), make(chan struct{})
	if !a.TryGo(func() { <-release; close(ran) }) {
		t.Fatal("a build given a lane could not use it")
	}
	if a.TryGo(func() {}) {
		t.Fatal("a second lane was used by a build given one")
	}
	close(release)
	<-ran
	deadline := time.Now().Add(10 * time.Second)
	for !a.TryGo(func() {}) {
		if time.Now().After(deadline) {
			t.Fatal("the lane was not freed when its work ended")
		}
		time.Sleep(time.Millisecond)
	}
}
