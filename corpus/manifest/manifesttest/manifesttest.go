// Package manifesttest gives tests the synthetic corpus and its manifest.
package manifesttest

import (
	"os"
	"testing"

	"github.com/tomscan/tomscan/corpus/manifest"
)

// Load returns the corpus folder ($TOMSCAN_CORPUS) and its manifest. It
// skips t when the variable is unset (make test always sets it) and fails t
// when the manifest does not load.
func Load(t testing.TB) (string, *manifest.Manifest) {
	t.Helper()
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS not set")
	}
	m, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}
