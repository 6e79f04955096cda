package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/tomscan/tomscan/internal/hugepages"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/nodecache"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/registry"
	"github.com/tomscan/tomscan/internal/worker"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/export"
	"github.com/tomscan/tomscan/rules"
)

// workerCommand is the hidden subcommand a scan starts its worker processes
// with; it is not for people (README: Safety).
const workerCommand = "__worker"

// scanSpec is everything a scan's configuration is built from, so that the
// parent and every worker build the same pipeline.Config from the same
// bytes: the rule texts themselves (not their paths, which could change
// under a running scan), the trust store's PEM, the limits.
type scanSpec struct {
	Limits       limits.Limits `json:"limits"`
	Rules        []specRule    `json:"rules"`
	FrozenRules  []byte        `json:"frozen_rules"` // the parent's compiled Rules (rules.Set.Freeze)
	KeywordLists string        `json:"keyword_lists"`
	TrustPEM     []byte        `json:"trust_pem"`
	Tool         reports.Tool  `json:"tool"`
	Timestamps   bool          `json:"timestamps"`
	ScratchDir   string        `json:"scratch_dir"`
	// Passwords tried on encrypted archives: the defaults, then --password
	// and --password-file (the worker reads no flags or files of its own).
	Passwords []unpack.Password `json:"passwords"`
	// Cache: the digests every report's cache key is made of (CacheKey).
	Cache pipeline.CacheDigests `json:"cache"`
	// NodeCache and NodeCacheBytes: --cache and --cache-bytes ("": none).
	NodeCache      string `json:"node_cache,omitempty"`
	NodeCacheBytes int64  `json:"node_cache_bytes,omitempty"`
	// Prepare: what a worker makes of each report for the archive (nil:
	// the parent renders, as `rules test` and the tests' scans do, and as
	// it does for builds scanned --in-process).
	Prepare *archivePreparer `json:"prepare,omitempty"`
}

// archivePreparer prepares a scan's builds for its archive where they were
// scanned (pipeline.Preparer): the pages --format asks for, the index rows
// and, with --ndjson, the build's line.
type archivePreparer struct {
	Pages  archive.PageSpec `json:"pages"`
	NDJSON bool             `json:"ndjson"`
}

func (a *archivePreparer) Prepare(ctx context.Context, key string, r *reports.Report) ([]byte, error) {
	var line func(v *reports.View) ([]byte, error)
	if a.NDJSON {
		line = func(v *reports.View) ([]byte, error) {
			var b bytes.Buffer
			err := export.WriteLine(&b, export.NewRecordView(key, r, v))
			return b.Bytes(), err
		}
	}
	p, err := archive.Prepare(ctx, key, r, a.Pages, line)
	if err != nil {
		return nil, err
	}
	return p.Encode()
}

func (a *archivePreparer) Decode(b []byte) (any, error) { return archive.DecodePrepared(b) }

type specRule struct {
	Namespace string `json:"namespace"`
	Path      string `json:"path"`
	Text      []byte `json:"text"`
}

// config builds the pipeline configuration; set is the compiled rules when
// the caller has them already (the parent), else they are compiled here.
func (s scanSpec) config(ctx context.Context, set *rules.Set) (pipeline.Config, error) {
	if set == nil {
		var srcs []rules.Source
		for _, r := range s.Rules {
			srcs = append(srcs, rules.Source{Namespace: r.Namespace, Path: r.Path, Text: r.Text})
		}
		var err error
		if s.FrozenRules != nil {
			set, err = rules.Thaw(s.FrozenRules, srcs)
		} else {
			set, err = rules.Compile(ctx, srcs)
		}
		if err != nil {
			return pipeline.Config{}, err
		}
	}
	cfg, err := s.baseConfig()
	if err != nil {
		return pipeline.Config{}, err
	}
	cfg.Rules = set
	return cfg, nil
}

// baseConfig is config without the rules: a parent whose every build is
// reusable never compiles them.
func (s scanSpec) baseConfig() (pipeline.Config, error) {
	trust, err := trustPool(s.TrustPEM)
	if err != nil {
		return pipeline.Config{}, usagef("scan: --trust-store: %v", err)
	}
	cfg := pipeline.Config{
		Limits:     s.Limits,
		Engine:     unpack.New(registry.All(), registry.Tools()).WithPasswords(s.Passwords),
		Jobs:       1,
		ScratchDir: s.ScratchDir,
		TOM:        tom.Options{KeywordListsDir: s.KeywordLists},
		TrustRoots: trust,
		Tool:       s.Tool,
		Cache:      s.Cache,
	}
	if s.Prepare != nil {
		cfg.Preparer = s.Prepare
	}
	if s.Timestamps {
		cfg.Now = time.Now
	}
	if s.NodeCache != "" {
		nc, err := nodecache.Open(s.NodeCache, s.NodeCacheBytes)
		if err != nil {
			return pipeline.Config{}, usagef("scan: --cache %s: %v: name a folder tomscan can write to", esc(s.NodeCache), err)
		}
		cfg.NodeCache = nc
	}
	return cfg, nil
}

// isolation runs builds in workers: this same program, the hidden subcommand.
func isolation(spec scanSpec, maxMem int64) (*pipeline.Isolation, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("scan: find tomscan's own program for its workers: %w", err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("scan: encode worker spec: %w", err)
	}
	return &pipeline.Isolation{Path: exe, Args: []string{workerCommand}, Spec: b, MaxMemory: maxMem}, nil
}

// spawnWorkers starts n workers ahead of a run (pipeline.Isolation.Spawned),
// as isolation would start them; a process start is about 35 ms, which a
// rules-only rescan otherwise waited for after compiling the rules. None
// when tomscan's own program cannot be found (isolation says why).
func spawnWorkers(n int, maxMem int64) chan *worker.Process {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	ch := make(chan *worker.Process, n)
	for i := 0; i < n; i++ {
		p, err := worker.Spawn(worker.Options{Path: exe, Args: []string{workerCommand}, MaxMemory: maxMem})
		if err != nil {
			break // the run starts them itself, and says what fails
		}
		ch <- p
	}
	return ch
}

// discardWorkers ends the spawned workers the run did not take.
func discardWorkers(ch chan *worker.Process) {
	for {
		select {
		case p := <-ch:
			p.Discard()
		default:
			return
		}
	}
}

// cmdWorker serves builds for a parent scan over fd 3 and 4 until the parent
// closes them.
func cmdWorker(ctx context.Context, stderr io.Writer) int {
	err := worker.Serve(ctx, func(raw []byte) (worker.Handler, error) {
		var spec scanSpec
		if err := json.Unmarshal(raw, &spec); err != nil {
			return nil, fmt.Errorf("decode spec: %w", err)
		}
		cfg, err := spec.config(ctx, nil)
		if err != nil {
			return nil, err
		}
		cfg.ConfineCores = true // this process is the worker: a build runs on the cores it is given
		h, err := pipeline.WorkerHandler(cfg)
		if err != nil {
			return nil, err
		}
		prepared := false // one build at a time: no lock
		return func(ctx context.Context, req []byte) ([]byte, error) {
			if !prepared {
				prepared = true
				prepareWorkerHeap()
			}
			return h(ctx, req)
		}, nil
	})
	if err != nil {
		fmt.Fprintf(stderr, "tomscan %s: %v\n", workerCommand, err)
		return exitRuntime
	}
	return exitOK
}

// prepareWorkerHeap advises a worker's heap for huge pages (see package
// hugepages) at its first request, once the parent has capped its address
// space: the prepared heap is then part of what a build may add
// (--max-worker-memory), as the heap it stands for would have been, not
// slack the cap was measured over. A refused advice is not reported: the
// worker's stderr is its build's (a crash's reason), and the heap is then
// as it would have been. It returns the bytes it asked for.
func prepareWorkerHeap() int {
	n := workerHeapBytes(debug.SetMemoryLimit(-1))
	_, _ = hugepages.PrepareHeap(n)
	return n
}

// workerHeapMax is the most heap a worker prepares. A worker's heap is one
// build's: a large build's grows to hundreds of MiB (the 1 GB ZIP of the
// bench, 550-600 MB resident), and only the prepared part is faulted in 2 MiB
// at a time. With 64 MiB prepared that build took 140,000 page faults and
// 6.7-7.6 s; with 768 MiB, 17,000 and 0.5-0.9 s less (measured in the same
// rounds); the synthetic corpus's scans and peak RSS did not change.
const workerHeapMax = 768 << 20

// workerHeapBytes is how much heap a worker under memory limit limit
// (GOMEMLIMIT, three quarters of --max-worker-memory: runtimeEnv) prepares:
// workerHeapMax, and at most half the limit, so that a small cap keeps room
// for the C libraries' memory (libyara), which the Go heap cannot lend.
func workerHeapBytes(limit int64) int {
	return int(min(workerHeapMax, limit/2))
}
