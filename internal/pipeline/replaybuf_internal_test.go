package pipeline

import "testing"

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
