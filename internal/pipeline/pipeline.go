// Package pipeline scans builds concurrently: one worker per job, each build
// with its own deadline, budget and scratch root. Whatever goes wrong inside a
// build ends up in that build's report; no build is lost to another's failure.
package pipeline

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/rules"
)

// Config is everything a scan needs, validated by the caller.
type Config struct {
	Limits     limits.Limits
	Rules      *rules.Set
	Engine     *unpack.Engine
	Jobs       int
	ScratchDir string // parent of per-build scratch roots; "" for the system temp dir
	TOM        tom.Options
	TrustRoots *x509.CertPool // --trust-store: the only store Authenticode chains are checked against
	Tool       reports.Tool
	Now        func() time.Time // non-nil only with --timestamps
}

// Build is one unique input (by sha256) with every path it was found at.
type Build struct {
	Key    string  // sha256 of the bytes; for unreadable inputs, "unreadable-" + sha256 of the path
	Inputs []Input // sorted by Ref
	Size   int64
	Err    error // the input could not be read during discovery
}

// Group hashes every input and merges inputs with identical bytes into one
// build, so a corpus with copies is analysed once per distinct file and the
// report lists every path. The order is the order of first appearance.
func Group(ctx context.Context, inputs []Input) ([]*Build, error) {
	byKey := map[string]*Build{}
	var out []*Build
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		key, size, err := hashFile(in.Path)
		if err != nil {
			sum := sha256.Sum256([]byte(in.Ref))
			key = "unreadable-" + hex.EncodeToString(sum[:])
		}
		b, ok := byKey[key]
		if !ok {
			b = &Build{Key: key, Size: size, Err: err}
			byKey[key] = b
			out = append(out, b)
		}
		b.Inputs = append(b.Inputs, in)
	}
	return out, nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("open input: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, fmt.Errorf("read input: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Result is a finished build.
type Result struct {
	Build  *Build
	Report *reports.Report
}

// Run scans builds with cfg.Jobs workers and calls done for each finished
// build, from one goroutine at a time, in completion order. Reports are
// independent of the order and of the number of workers.
func Run(ctx context.Context, cfg Config, builds []*Build, done func(Result)) error {
	jobs := cfg.Jobs
	if jobs < 1 {
		jobs = 1
	}
	work := make(chan *Build)
	results := make(chan Result)
	var wg sync.WaitGroup
	var startErr error
	var startOnce sync.Once
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var scanner *rules.Scanner
			if cfg.Rules != nil {
				s, err := cfg.Rules.NewScanner(time.Minute)
				if err != nil {
					startOnce.Do(func() { startErr = err })
				} else {
					scanner = s
					defer s.Close()
				}
			}
			a := &analyzer{limits: cfg.Limits, trust: cfg.TrustRoots, scanner: scanner}
			for b := range work {
				results <- Result{Build: b, Report: scanBuild(ctx, cfg, a, b)}
			}
		}()
	}
	go func() {
		defer close(work)
		for _, b := range builds {
			select {
			case work <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	for r := range results {
		done(r)
	}
	if startErr != nil {
		return startErr
	}
	return ctx.Err()
}

// scanBuild never panics and always returns a report.
func scanBuild(ctx context.Context, cfg Config, a *analyzer, b *Build) (rep *reports.Report) {
	first := b.Inputs[0]
	root := artifact.NewRoot(baseName(first.Ref))
	rep = &reports.Report{
		SchemaVersion: reports.SchemaVersion,
		Tool:          cfg.Tool,
		Limits:        cfg.Limits,
		Extractors:    cfg.Engine.Extractors(),
		Build:         reports.BuildRef{Path: first.Ref, Size: b.Size},
		Tree:          root,
	}
	if cfg.Rules != nil {
		rep.Rules = reports.RulesInfo{Digest: cfg.Rules.Digest, Count: len(cfg.Rules.Names)}
		for _, s := range cfg.Rules.Sources {
			rep.Rules.Files = append(rep.Rules.Files, reports.RuleFile{Namespace: s.Namespace, Path: s.Path})
		}
	}
	if len(b.Inputs) > 1 {
		for _, in := range b.Inputs {
			rep.Build.Paths = append(rep.Build.Paths, in.Ref)
		}
		sort.Strings(rep.Build.Paths)
	}
	if cfg.Now != nil {
		rep.ScannedAt = cfg.Now().UTC().Format(time.RFC3339)
	}
	defer func() {
		if r := recover(); r != nil {
			st := debug.Stack()
			if len(st) > 800 {
				st = st[:800]
			}
			root.AddIssue(artifact.KindPanic, "pipeline", fmt.Sprintf("panic: %v: %s", r, st))
		}
		rep.Summary, rep.Status, rep.StatusReason = reports.Summarize(root)
		rep.Build.MD5, rep.Build.SHA1, rep.Build.SHA256, rep.Build.Type = root.MD5, root.SHA1, root.SHA256, root.Type
		if root.Size > 0 {
			rep.Build.Size = root.Size
		}
	}()

	if b.Err != nil {
		root.AddIssue(artifact.KindRead, "read", b.Err.Error())
		return rep
	}
	bctx, cancel := context.WithTimeout(ctx, cfg.Limits.BuildTimeout)
	defer cancel()

	sc, err := scratch.New(cfg.ScratchDir)
	if err != nil {
		root.AddIssue(artifact.KindRead, "read", err.Error())
		return rep
	}
	defer func() {
		if err := sc.Close(); err != nil {
			root.AddIssue(artifact.KindExtract, "cleanup", err.Error())
		}
	}()

	f, err := os.Open(first.Path)
	if err != nil {
		root.AddIssue(artifact.KindRead, "read", fmt.Sprintf("open input: %v", err))
		return rep
	}
	defer f.Close()
	blob, err := rootBlob(f, cfg.Limits)
	if err != nil {
		root.AddIssue(artifact.KindRead, "read", err.Error())
		return rep
	}
	root.SetBlob(blob)
	a.tom = tom.NewBuild(cfg.TOM)
	defer func() { a.tom = nil }()
	cfg.Engine.Run(bctx, root, limits.NewBudget(cfg.Limits), sc, a.visit)
	judgeContainerChains(root, cfg.TrustRoots)
	if bctx.Err() != nil {
		root.AddIssue(artifact.KindTimeout, "pipeline", fmt.Sprintf("build timeout %s reached: the tree is incomplete", cfg.Limits.BuildTimeout))
	}
	rep.TOM = a.tom.Finish(bctx, root)
	return rep
}

// judgeContainerChains checks the chains of the signatures extractors found
// on containers (MSI, CAB) against the one explicit trust store, as
// pe.Analyze does for PE signatures; without a store they stay unjudged.
func judgeContainerChains(root *artifact.Node, roots *x509.CertPool) {
	if roots == nil {
		return
	}
	_ = root.Walk(func(n *artifact.Node) error {
		if n.Signature != nil && n.Signature.ChainTrusted == nil {
			n.Signature.CheckChain(roots)
		}
		return nil
	})
}

// rootBlob keeps small inputs in memory and reads large ones in place.
func rootBlob(f *os.File, l limits.Limits) (*artifact.Blob, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat input: %w", err)
	}
	if info.Size() > l.InMemoryBytes {
		return artifact.FileBlob(f, info.Size()), nil
	}
	b, err := io.ReadAll(io.LimitReader(f, l.InMemoryBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	return artifact.MemoryBlob(b), nil
}

func baseName(ref string) string {
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '/' {
			return ref[i+1:]
		}
	}
	return ref
}
