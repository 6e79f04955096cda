package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
)

// TestTryGoKeepsToTheBuildsLanes: the engine's digests run beside the walk
// only in a lane the build was given: none with no lanes or a limit of 0,
// one at a time with a limit of 1 (a second waits for the first), and the
// lane is free again once its work is done.
func TestTryGoKeepsToTheBuildsLanes(t *testing.T) {
	a := analyzerWithLanes(t, 0)
	a.laneLimit = 1
	if a.TryGo(func() {}) {
		t.Fatal("ran with no lanes at all")
	}

	a = analyzerWithLanes(t, 2)
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

// analyzerWithLanes is an analyzer with n lanes and no rules, given none of
// them yet (laneLimit 0).
func analyzerWithLanes(t *testing.T, n int) *analyzer {
	t.Helper()
	restore := SetLanes(n)
	defer restore()
	a, err := newAnalyzer(Config{Limits: limits.Default()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestBusyLanesDrainTheBacklog: with the build's one lane busy, the nodes
// the walk hands over wait in the backlog, and the lane runs them once it is
// free, without the walk. A walk that must commit nodes while the lane stays
// busy takes them back and runs them itself, instead of waiting for a lane
// that has not started them. Every node gets its strings either way, and the
// lane is free at the end.
func TestBusyLanesDrainTheBacklog(t *testing.T) {
	a := analyzerWithLanes(t, 1)
	a.laneLimit = 1
	ctx := context.Background()
	nodes := func(k int) []*artifact.Node {
		var ns []*artifact.Node
		for i := range k {
			n := artifact.NewRoot(fmt.Sprintf("node-%d", i))
			a.visitLater(ctx, n, nil, []byte(fmt.Sprintf("\x00\x01printable string number %d\x00", i)))
			ns = append(ns, n)
		}
		return ns
	}
	stringsOf := func(ns []*artifact.Node) {
		t.Helper()
		for _, n := range ns {
			if n.Strings == nil || n.Strings.Count == 0 {
				t.Fatalf("%s: no strings: its stages did not run", n.ID)
			}
		}
	}
	backlog := func() int {
		a.lanes.mu.Lock()
		defer a.lanes.mu.Unlock()
		return len(a.lanes.backlog)
	}

	// The lane drains the backlog once its own work ends.
	release := make(chan struct{})
	if !a.TryGo(func() { <-release }) {
		t.Fatal("the build's lane could not be used")
	}
	first := nodes(4)
	if got := backlog(); got != 4 {
		t.Fatalf("backlog %d, want 4 nodes waiting for the busy lane", got)
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for backlog() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the lane did not drain the backlog")
		}
		time.Sleep(time.Millisecond)
	}
	a.finishLanes()
	stringsOf(first)

	// The walk runs the backlog itself when the lane stays busy.
	release = make(chan struct{})
	defer close(release)
	for !a.TryGo(func() { <-release }) {
		if time.Now().After(deadline) {
			t.Fatal("the lane was not freed")
		}
		time.Sleep(time.Millisecond)
	}
	second := nodes(3)
	finished := make(chan struct{})
	go func() { a.finishLanes(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("the walk waited for a busy lane instead of running the backlog")
	}
	stringsOf(second)
	if got := backlog(); got != 0 {
		t.Fatalf("backlog %d after the walk committed every node", got)
	}
}
