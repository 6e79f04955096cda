package unpacktest

import (
	"context"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/internal/unpack"
)

// RunEngine unpacks data recursively with the given extractors, as the
// pipeline does (scratch root closed when done), and returns the tree. It
// fails t if anything is left on disk or written outside the scratch root.
func RunEngine(ctx context.Context, t testing.TB, xs []unpack.Extractor, name string, data []byte, l limits.Limits) *artifact.Node {
	t.Helper()
	parent := t.TempDir()
	sc, err := scratch.New(parent)
	if err != nil {
		t.Fatal(err)
	}
	root := artifact.NewRoot(name)
	root.SetBlob(artifact.MemoryBlob(data))
	unpack.New(xs, unpack.FindTools()).Run(ctx, root, limits.NewBudget(l), sc, nil)
	if err := sc.Close(); err != nil {
		t.Errorf("scratch close: %v", err)
	}
	if left := listTree(t, parent); len(left) > 0 {
		t.Errorf("files left after the build: %v", left)
	}
	return root
}

// Issues lists "node-id: kind: message" for every issue in the tree.
func Issues(root *artifact.Node) []string {
	var out []string
	root.Walk(func(n *artifact.Node) error {
		for _, i := range n.Issues {
			out = append(out, n.ID+": "+i.Kind+": "+i.Message)
		}
		return nil
	})
	return out
}

// Find returns the node with the given path chain, or nil.
func Find(root *artifact.Node, path ...string) *artifact.Node {
	var hit *artifact.Node
	root.Walk(func(n *artifact.Node) error {
		if len(n.Path) == len(path) {
			for i := range path {
				if n.Path[i] != path[i] {
					return nil
				}
			}
			hit = n
		}
		return nil
	})
	return hit
}
