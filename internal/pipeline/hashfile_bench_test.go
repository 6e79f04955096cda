package pipeline

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkHashFileLarge: discovery's read of one large input (its SHA-256,
// and the SHA-1 it vouches for).
func BenchmarkHashFileLarge(b *testing.B) {
	data := make([]byte, 128<<20)
	rand.New(rand.NewSource(1)).Read(data)
	path := filepath.Join(b.TempDir(), "large.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, _, _, v, err := hashFile(context.Background(), path, buf); err != nil || v == nil {
			b.Fatal(v, err)
		}
	}
}
