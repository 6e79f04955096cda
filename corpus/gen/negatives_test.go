package gen

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tomscan/tomscan/corpus/manifest"
)

// TestNegativesDeterministic builds the negative corpus twice: the same
// files, byte for byte, at least 100 of them, of every class; and the same
// as the corpus on disk when TOMSCAN_CORPUS is set.
func TestNegativesDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles PEs with mingw")
	}
	ctx := context.Background()
	build := func() []manifest.Negative {
		out := t.TempDir()
		g, err := New(Config{SpecsDir: "../specs", KeywordsDir: "../testdata/synthetic-keyword-lists", OutDir: out, CertDir: "../testdata/certs"})
		if err != nil {
			t.Fatal(err)
		}
		negs, err := g.Negatives(ctx, filepath.Join(out, "work"))
		if err != nil {
			t.Fatal(err)
		}
		return negs
	}
	a, b := build(), build()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs differ")
	}
	if len(a) < 100 {
		t.Fatalf("%d negatives, want at least 100", len(a))
	}
	classes := map[string]int{}
	for _, n := range a {
		classes[n.Class]++
		if n.Kind != "unrelated" && n.Kind != "undetermined" {
			t.Errorf("%s: kind %s", n.ID, n.Kind)
		}
	}
	for _, c := range []string{"cleaner", "plugin", "article", "forum", "document", "zip", "named-member"} {
		if classes[c] == 0 {
			t.Errorf("no %s negative", c)
		}
	}
	t.Logf("%d negatives: %v", len(a), classes)
	if dir := os.Getenv("TOMSCAN_CORPUS"); dir != "" {
		m, err := manifest.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.Negatives, a) {
			t.Errorf("the negatives in %s differ from a fresh build (rerun make corpus)", dir)
		}
	}
}
