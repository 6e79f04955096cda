package pe

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestAnalyzeMutations: random byte mutations of the signed fixture, each
// parsed under a deadline: a hang is a denial of service, a panic is
// already an error (recovered), so only time is checked here; a hanging
// input is written to the test's temp dir for the fuzz corpus.
func TestAnalyzeMutations(t *testing.T) {
	fx := buildFixtures(t)
	rng := rand.New(rand.NewPCG(7, 9))
	for iter := 0; iter < 500; iter++ {
		b := append([]byte(nil), fx.signed...)
		n := 1 + rng.IntN(8)
		for k := 0; k < n; k++ {
			var p int
			if rng.IntN(2) == 0 {
				p = rng.IntN(0x400)
			} else {
				p = rng.IntN(len(b))
			}
			b[p] = byte(rng.Uint32())
		}
		if rng.IntN(4) == 0 {
			b = b[:rng.IntN(len(b))]
		}
		done := make(chan struct{})
		go func() { Analyze(context.Background(), b, Options{MaxBytes: 4 << 20}); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			dir := t.TempDir()
			os.WriteFile(dir+"/hang.bin", b, 0o644)
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("Analyze still running after 3s on mutation %d (input kept in %s):\n%s", iter, dir, buf[:n])
		}
	}
}
