package keysearch

import (
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkSearchNoKey: the worst case of a TOM build, every offset of two
// 4 KiB windows tried on four blobs (lengths that admit AES, DES and XOR)
// where no key fits: the cost per candidate key is the setup plus one block.
func BenchmarkSearchNoKey(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 8))
	fill := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		return p
	}
	windows := []Window{{Node: "a", Data: fill(4096)}, {Node: "b", Data: fill(4096)}}
	blobs := []Blob{{Data: fill(4096)}, {Data: fill(2048)}, {Data: fill(1000)}, {Data: fill(1600)}}
	b.ReportAllocs()
	for b.Loop() {
		found, _ := Search(context.Background(), windows, blobs, Limits{})
		if len(found) != 0 {
			b.Fatal("a key in random bytes")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/8192, "ns/offset")
}
