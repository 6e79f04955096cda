package pipeline

import (
	"testing"

	"github.com/tomscan/tomscan/internal/nodecache"
)

// TestFreeBuffers: a replay's buffer is kept for the next one, emptied;
// one larger than maxPooledReplayBuffer is not, nor more than
// maxFreeReplayBuffers of them.
func TestFreeBuffers(t *testing.T) {
	var f freeBuffers
	if b := f.get(); b != nil {
		t.Fatalf("empty: got a buffer of %d", cap(b))
	}
	b := make([]byte, 100, 4096)
	f.put(b)
	got := f.get()
	if len(got) != 0 || cap(got) != 4096 || &got[:1][0] != &b[0] {
		t.Fatalf("got len %d cap %d, want the kept buffer, emptied", len(got), cap(got))
	}
	f.put(make([]byte, 0, maxPooledReplayBuffer+1))
	f.put(nil)
	if b := f.get(); b != nil {
		t.Fatalf("kept a buffer of %d bytes", cap(b))
	}
	for range maxFreeReplayBuffers + 3 {
		f.put(make([]byte, 0, 64))
	}
	if len(f.free) != maxFreeReplayBuffers {
		t.Fatalf("kept %d buffers, want at most %d", len(f.free), maxFreeReplayBuffers)
	}
}

// TestLargestBlob: a replay's buffer is made once, the size of the build's
// largest node bytes that a buffer holds; larger ones get memory of their
// own (GetBlobCheck), and do not size it.
func TestLargestBlob(t *testing.T) {
	order := []visitRec{
		{ID: "a", Blob: nodecache.Check{Len: 10}},
		{ID: "b", Blob: nodecache.Check{Len: 4096}},
		{ID: "c", Blob: nodecache.Check{Len: maxReplayBuffer + 1}},
		{ID: "d", Blob: nodecache.Check{Len: 300}},
	}
	if got := largestBlob(order); got != 4096 {
		t.Errorf("largestBlob = %d, want 4096", got)
	}
	if got := largestBlob(nil); got != 0 {
		t.Errorf("largestBlob(nil) = %d, want 0", got)
	}
}
