package ruletest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/rules"
)

// NodeFunc receives one analysed node of a build with its bytes (valid only
// during the call) and the external variables the pipeline scans it with.
type NodeFunc func(n *artifact.Node, data []byte, vars rules.Variables) error

// Walker unpacks files with the engine the pipeline uses and hands every node
// that the pipeline would YARA-scan to a NodeFunc: the same nodes (duplicates
// of bytes already seen in the build are skipped, as the engine does), the
// same bytes, the same variables.
type Walker struct {
	Engine     *unpack.Engine
	Limits     limits.Limits
	ScratchDir string // parent of per-build scratch roots; "" for the system temp dir
}

// Walk unpacks the file at path and calls fn for each node, parents first.
// The first error fn returns stops the walk's callbacks and is returned.
func (w Walker) Walk(ctx context.Context, path string, fn NodeFunc) (*artifact.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, w.Limits.BuildTimeout)
	defer cancel()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ruletest: open %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("ruletest: stat %s: %w", path, err)
	}
	root := artifact.NewRoot(filepath.Base(path))
	if info.Size() > w.Limits.InMemoryBytes {
		root.SetBlob(artifact.FileBlob(f, info.Size()))
	} else {
		b, err := io.ReadAll(io.LimitReader(f, w.Limits.InMemoryBytes+1))
		if err != nil {
			return nil, fmt.Errorf("ruletest: read %s: %w", path, err)
		}
		root.SetBlob(artifact.MemoryBlob(b))
	}
	sc, err := scratch.New(w.ScratchDir)
	if err != nil {
		return nil, err
	}
	defer sc.Close()

	max := w.Limits.MaxPEBytes
	if w.Limits.MaxYARAMatchesBytes > max {
		max = w.Limits.MaxYARAMatchesBytes
	}
	var walkErr error
	visit := func(ctx context.Context, n, parent *artifact.Node) {
		if walkErr != nil {
			return
		}
		blob := n.Blob()
		if blob == nil || blob.Size() > w.Limits.MaxYARAMatchesBytes {
			return
		}
		data, err := blob.Bytes(max)
		if err != nil {
			return // the pipeline records this as a limit issue and does not scan either
		}
		walkErr = fn(n, data, rules.NodeVariables(n, parent))
	}
	w.Engine.Run(ctx, root, limits.NewBudget(w.Limits), sc, visit)
	if walkErr != nil {
		return root, walkErr
	}
	if err := ctx.Err(); err != nil {
		return root, fmt.Errorf("ruletest: walk %s: %w", path, err)
	}
	// A scratch folder that could not be made is the machine's failure,
	// not a finding about the sample.
	if err := sc.Failed(); err != nil {
		return root, fmt.Errorf("ruletest: walk %s: %w", path, err)
	}
	return root, nil
}
