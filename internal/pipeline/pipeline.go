// Package pipeline scans builds concurrently: one worker per job, each build
// with its own deadline, budget and scratch root. Whatever goes wrong inside a
// build ends up in that build's report; no build is lost to another's failure.
package pipeline

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/nodecache"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/rules"
)

// Config is everything a scan needs, validated by the caller.
type Config struct {
	Limits limits.Limits
	Rules  *rules.Set
	Engine *unpack.Engine
	Jobs   int
	// Cores bounds the goroutines that analyse nodes at once over all
	// builds: a build scanned while other jobs are busy runs one node at a
	// time, one scanned alone spreads its children over the cores of the
	// idle jobs (lanes.go). 0: Jobs, so --jobs N uses N cores.
	Cores int
	// ConfineCores is set in a worker process of its own: each build
	// then runs on as many cores (GOMAXPROCS) as it was given, its walk
	// and its lanes (WorkerHandler).
	ConfineCores bool
	ScratchDir   string // parent of per-build scratch roots; "" for the system temp dir
	TOM          tom.Options
	TrustRoots   *x509.CertPool // --trust-store: the only store Authenticode chains are checked against
	Tool         reports.Tool
	Now          func() time.Time // non-nil only with --timestamps
	// Cache holds the digests the cache key is made of besides the above
	// (CacheKey); every report records its key.
	Cache CacheDigests
	// NodeCache (--cache), when set, keeps every build's rule-independent
	// tree and node bytes, so a scan with other rules replays them instead
	// of unpacking (replay.go).
	NodeCache *nodecache.Cache
	// Isolation runs each build in a worker process (see isolate.go); nil
	// runs builds in this process, as tests and fuzzing do.
	Isolation *Isolation
	// Preparer, when set, turns each build a worker scanned into what the
	// caller archives (its pages and index rows: archive.Prepare), in the
	// worker and on its core, so the parent neither decodes nor renders
	// it: Result.Prepared. Builds scanned in this process are not
	// prepared: the caller has their Report.
	Preparer Preparer
}

// A Preparer makes a finished build ready for the caller's archive.
// Prepare runs in the worker that scanned the build; when it fails, the
// build is handed over as without a Preparer (Report, JSON).
// Decode runs in the parent, on the job's goroutine: its error means the
// worker answered garbage, which costs the build (a worker-crashed report)
// as an unreadable report does.
type Preparer interface {
	Prepare(ctx context.Context, key string, r *reports.Report) ([]byte, error)
	Decode(b []byte) (any, error)
}

// Build is one unique input (by sha256) with every path it was found at.
type Build struct {
	Key    string  // sha256 of the bytes; for unreadable inputs, "unreadable-" + sha256 of the path
	Inputs []Input // sorted by Ref
	Size   int64
	Err    error // the input could not be read during discovery
	// Vouched, for a large input, is its SHA-1, made by Group in the same
	// read as its SHA-256, and the stamp its file had then.
	Vouched *Vouched
}

// Vouched is what Group made of a large input besides its key. A worker
// whose input still has Stamp takes the SHA-1 and the key as its SHA-256
// instead of reading the whole input once more to make them, and checks the
// stamp again after the walk: a file written to in between has another
// stamp, and its report says so (checkVouched). Group makes the SHA-1 on a
// core of its own beside the SHA-256, which runs at the same speed; the
// MD5, at half that speed, would hold every scan up: the worker makes it
// beside its walk.
type Vouched struct {
	SHA1  string             `json:"sha1"`
	Stamp artifact.FileStamp `json:"stamp"`
}

// stampOf is f's stamp now; false where the system gives no change time.
func stampOf(f *os.File) (artifact.FileStamp, bool) {
	fi, err := f.Stat()
	if err != nil {
		return artifact.FileStamp{}, false
	}
	return artifact.StampOf(fi)
}

// vouchAbove is the smallest input Group makes the SHA-1 of: below it a
// worker hashes the bytes it holds in memory, at little cost, and a rescan
// that reuses the build never needs it.
var vouchAbove int64 = 8 << 20

// Group hashes every input and merges inputs with identical bytes into one
// build, so a corpus with copies is analysed once per distinct file and the
// report lists every path. The order is the order of first appearance.
// Inputs that cannot be opened, are no longer regular files, or are
// tomscan's own reports are skipped with their reason. Hashing stops as soon
// as ctx ends (an interrupted run, a huge file), and then ctx's error is
// returned.
func Group(ctx context.Context, inputs []Input) ([]*Build, []Skipped, error) {
	hashes := hashAll(ctx, inputs)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	byKey := map[string]*Build{}
	var out []*Build
	var skipped []Skipped
	for i, in := range inputs {
		key, size, own, err := hashes[i].key, hashes[i].size, hashes[i].own, hashes[i].err
		vouched := hashes[i].vouched
		switch {
		case own:
			skipped = append(skipped, Skipped{Path: in.Path, Reason: "a tomscan report or archive index: tomscan does not read its own output"})
			continue
		case err != nil && size == 0:
			skipped = append(skipped, Skipped{Path: in.Path, Reason: "cannot be read: " + errText(err)})
			continue
		case err != nil:
			// Opened, but failed part way: a build with a read error
			// (a damaged disk), so its report says what was lost.
			sum := sha256.Sum256([]byte(in.Ref))
			key = "unreadable-" + hex.EncodeToString(sum[:])
		}
		b, ok := byKey[key]
		if !ok {
			// The inputs come sorted (Discover): the first one is the
			// one a worker reads, and the stamp is its.
			b = &Build{Key: key, Size: size, Err: err, Vouched: vouched}
			byKey[key] = b
			out = append(out, b)
		}
		b.Inputs = append(b.Inputs, in)
	}
	return out, skipped, nil
}

// inputHash is hashFile's answer for one input.
type inputHash struct {
	key     string
	size    int64
	own     bool
	vouched *Vouched
	err     error
}

// hashAll hashes the inputs on as many goroutines as there are CPUs, each
// with one read buffer for all its files, and returns the answers in input
// order. An unchanged rescan is mostly this (every other step is an index
// lookup), and a fresh 1 MiB buffer per file cost more than the hashing of
// small inputs. It stops early when ctx ends; the caller checks ctx.
func hashAll(ctx context.Context, inputs []Input) []inputHash {
	out := make([]inputHash, len(inputs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := min(runtime.GOMAXPROCS(0), len(inputs)); w > 0; w-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(inputs) || ctx.Err() != nil {
					return
				}
				h := &out[i]
				h.key, h.size, h.own, h.vouched, h.err = hashFile(ctx, inputs[i].Path, buf)
			}
		}()
	}
	wg.Wait()
	return out
}

// hashFile returns the sha256 and size of a regular file, reading in chunks
// into buf and checking ctx between them, and whether it is tomscan's own
// output. A file of vouchAbove bytes or more gets its SHA-1 too, made
// beside the SHA-256 from the same chunks, and its stamp, when it is the
// same after the read as before.
func hashFile(ctx context.Context, path string, buf []byte) (key string, size int64, own bool, v *Vouched, err error) {
	f, err := openRegular(path)
	if err != nil {
		return "", 0, false, nil, err
	}
	defer f.Close()
	before, vouch := stampOf(f)
	vouch = vouch && before.Size >= vouchAbove
	h := sha256.New()
	var h1 hash.Hash
	// A large input is read into one buffer while the chunk in the other
	// is hashed, SHA-256 and SHA-1 each on a goroutine: the read (about a
	// seventh of the SHA-256's time) hides behind the hashes.
	var spare []byte
	var hashing sync.WaitGroup
	defer hashing.Wait() // no hash may still read buf once the caller has it back
	if vouch {
		h1 = sha1.New()
		spare = make([]byte, len(buf))
	}
	for first := true; ; first = false {
		if err := ctx.Err(); err != nil {
			return "", size, false, nil, err
		}
		n, rerr := io.ReadFull(f, buf)
		if first && isOwnOutput(path, buf[:min(n, ownOutputHead)]) {
			return "", 0, true, nil, nil
		}
		chunk := buf[:n]
		if vouch {
			hashing.Wait() // the chunk before is hashed: its buffer is free
			hashing.Go(func() { h.Write(chunk) })
			hashing.Go(func() { h1.Write(chunk) })
			buf, spare = spare, buf
		} else {
			h.Write(chunk)
		}
		size += int64(n)
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return "", size, false, nil, fmt.Errorf("read input: %w", rerr)
		}
	}
	hashing.Wait()
	key = hex.EncodeToString(h.Sum(nil))
	if vouch {
		if after, ok := stampOf(f); ok && after == before && after.Size == size {
			v = &Vouched{SHA1: hex.EncodeToString(h1.Sum(nil)), Stamp: after}
		}
	}
	return key, size, false, v, nil
}

// Result is a finished build.
type Result struct {
	Build  *Build
	Report *reports.Report
	// JSON is the report as the worker encoded it, to be archived byte for
	// byte; nil when the build ran in this process (encode Report).
	JSON []byte
	// JSONFile, instead of JSON, is a file in the run's scratch folder
	// holding the report as the worker wrote it (prepared builds): the
	// caller moves it into its archive. It is not synced: the caller
	// syncs it before the move (archived reports are always complete).
	JSONFile string
	// Interrupted: the run was cancelled while this build was in flight.
	// Report is nil: an incomplete tree is not a result and is not archived
	// (a rerun scans the build again).
	Interrupted bool
	// Err: the environment failed (scratch folder, worker start), not the
	// build; Report is nil and the run should stop rather than archive a
	// report that blames the build.
	Err error
	// Stats says how the report was made: unpacked, or replayed from the
	// node cache.
	Stats Stats
	// Prepared is what Config.Preparer made of the report (decoded); nil
	// without. From a worker, Report is then nil: JSON is the report.
	Prepared any
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
	// One finished build per worker may wait while done runs (the parent
	// writes a report and its index rows), so a worker takes its next
	// build at once instead of idling until done returns.
	results := make(chan Result, jobs)
	budget := newLaneBudget(jobs, cfg.Cores, len(builds))
	var wg sync.WaitGroup
	var startErr error
	var startOnce sync.Once
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cfg.Isolation != nil {
				iso := newIsolated(cfg, i)
				defer iso.close()
				iso.run(ctx, work, budget, results)
				return
			}
			a, err := newAnalyzer(cfg)
			if err != nil {
				startOnce.Do(func() { startErr = err })
			}
			defer a.close()
			for b := range work {
				a.laneLimit = budget.take()
				r := scanHere(ctx, cfg, a, b)
				budget.done(a.laneLimit)
				results <- r
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

// scanHere scans b in this process.
func scanHere(ctx context.Context, cfg Config, a *analyzer, b *Build) Result {
	rep, st, err := scanBuildCached(ctx, cfg, a, b)
	switch {
	case ctx.Err() != nil:
		return Result{Build: b, Interrupted: true}
	case err != nil:
		return Result{Build: b, Err: err}
	}
	return Result{Build: b, Report: rep, Stats: st}
}

// newReport is a build's report before its tree is filled in.
func newReport(cfg Config, b *Build) (*reports.Report, *artifact.Node) {
	first := b.Inputs[0]
	root := artifact.NewRoot(baseName(first.Ref))
	rep := &reports.Report{
		SchemaVersion: reports.SchemaVersion,
		Tool:          cfg.Tool,
		Limits:        cfg.Limits,
		Extractors:    cfg.Engine.Extractors(),
		Build:         reports.BuildRef{Path: first.Ref, Size: b.Size},
		Tree:          root,
	}
	if cfg.Rules != nil {
		rep.Rules = rulesInfo(cfg)
	}
	rep.Cache = &reports.Cache{Key: CacheKey(cfg, b), KeywordLists: cfg.Cache.KeywordLists, TrustStore: cfg.Cache.TrustStore, GeoIP: reportedGeoIP(cfg.Cache.GeoIP)}
	if len(b.Inputs) > 1 {
		for _, in := range b.Inputs {
			rep.Build.Paths = append(rep.Build.Paths, in.Ref)
		}
		sort.Strings(rep.Build.Paths)
	}
	if cfg.Now != nil {
		rep.ScannedAt = cfg.Now().UTC().Format(time.RFC3339)
	}
	return rep, root
}

// finishReport sums the tree up into the report's status and identity.
func finishReport(rep *reports.Report, root *artifact.Node) {
	rep.Summary, rep.Status, rep.StatusReason = reports.Summarize(root)
	rep.Build.MD5, rep.Build.SHA1, rep.Build.SHA256, rep.Build.Type = root.MD5, root.SHA1, root.SHA256, root.Type
	if root.Size > 0 {
		rep.Build.Size = root.Size
	}
}

// testHook, set only by this package's tests, runs first in every build with
// the input's path, so a test can make a worker crash on a chosen input.
var testHook func(path string)

// testAfterRead, set only by this package's tests, runs when a build's
// vouched input has been read (checkVouched), before its stamp is checked.
var testAfterRead func(path string)

// scanBuild never panics. It returns a report, or an error when the
// environment (not the build) failed: the scratch folder cannot be made.
func scanBuild(ctx context.Context, cfg Config, a *analyzer, b *Build) (rep *reports.Report, envErr error) {
	first := b.Inputs[0]
	rep, root := newReport(cfg, b)
	defer func() {
		if r := recover(); r != nil {
			st := debug.Stack()
			if len(st) > 800 {
				st = st[:800]
			}
			root.AddIssue(artifact.KindPanic, "pipeline", fmt.Sprintf("panic: %v: %s", r, st))
		}
		if rep != nil { // nil after an environment error: no report
			finishReport(rep, root)
		}
	}()

	if b.Err != nil {
		root.AddIssue(artifact.KindRead, "read", b.Err.Error())
		return rep, nil
	}
	if testHook != nil {
		testHook(first.Path)
	}
	bctx, cancel := context.WithTimeout(ctx, cfg.Limits.BuildTimeout)
	defer cancel()

	sc, err := scratch.New(cfg.ScratchDir)
	if err != nil {
		// Not the build's fault: a report saying "failed" would replace a
		// good one in the archive.
		return nil, err
	}
	defer func() {
		if err := sc.Close(); err != nil {
			root.AddIssue(artifact.KindExtract, "cleanup", err.Error())
		}
		// The folder is made at the first spill: when that failed, the
		// nodes that needed it carry the error, but it is the machine's.
		if err := sc.Failed(); err != nil {
			rep, envErr = nil, err
		}
	}()

	f, err := openRegular(first.Path)
	if err != nil {
		root.AddIssue(artifact.KindRead, "read", err.Error())
		return rep, nil
	}
	defer f.Close()
	vouched := b.Vouched != nil && isSHA256Hex(b.Key)
	if vouched {
		now, ok := stampOf(f)
		vouched = ok && now == b.Vouched.Stamp
	}
	blob, err := rootBlob(f, cfg.Limits)
	if err != nil {
		root.AddIssue(artifact.KindRead, "read", err.Error())
		return rep, nil
	}
	root.SetBlob(blob)
	// The key is the input's SHA-256 as discovery read it: the engine
	// takes it instead of hashing the input on the walk when it has a
	// spare core, and checks it against the bytes either way. With the
	// SHA-1 discovery made too, of a file that has not been written to
	// since (its stamp), the engine takes both, and the stamp is checked
	// again once the bytes are read.
	if isSHA256Hex(b.Key) {
		root.SHA256 = b.Key
	}
	if vouched {
		root.SHA1 = b.Vouched.SHA1
		if blob.InMemory() {
			// Read already: if the file was written to meanwhile, the
			// engine hashes the bytes it holds, and checks the key.
			if !stillStamped(f, b.Vouched.Stamp) {
				root.SHA1 = ""
			}
		} else {
			defer checkVouched(root, f, b.Vouched.Stamp) // after the walk, before f closes
		}
	}
	a.tom = tom.NewBuild(cfg.TOM)
	defer func() { a.tom = nil }()
	defer a.finishLanes() // after a panic too: no lane may still write the tree
	cfg.Engine.RunBeside(bctx, root, limits.NewBudget(cfg.Limits), sc, a.visit, a)
	a.finishLanes()
	judgeContainerChains(root, cfg.TrustRoots)
	// Only the build's own deadline is a timeout; a cancelled run (ctx)
	// is an interruption, which the caller sees in ctx and does not archive.
	if bctx.Err() != nil && ctx.Err() == nil {
		root.AddIssue(artifact.KindTimeout, "pipeline", fmt.Sprintf("build timeout %s reached: the tree is incomplete", cfg.Limits.BuildTimeout))
	}
	if a.rec != nil {
		a.rec.rootIssues = len(root.Issues)
	}
	rep.TOM = finishTOM(bctx, cfg, a.tom, root, a.treeKey)
	return rep, nil
}

// checkVouched compares the stamp of an input read in place (a spilled
// root) with the one its digests were made under, once the walk is done
// with it. A file written to meanwhile was scanned as other bytes than those
// digests are of, or as a mix: its MD5 and SHA-1 are dropped, and an issue
// says so; the SHA-256 stays, as the build's key, named as such.
func checkVouched(root *artifact.Node, f *os.File, was artifact.FileStamp) {
	if stillStamped(f, was) {
		return
	}
	now, _ := stampOf(f)
	root.MD5, root.SHA1 = "", ""
	root.AddIssue(artifact.KindRead, "read", fmt.Sprintf("the input changed while it was scanned: sha256 %s when the scan began (%d bytes modified %s), %d bytes modified %s when read: its digests are of the input when the scan began, not of the bytes scanned",
		root.SHA256, was.Size, time.Unix(0, was.ModNs).UTC().Format(time.RFC3339Nano), now.Size, time.Unix(0, now.ModNs).UTC().Format(time.RFC3339Nano)))
}

// stillStamped tells whether f has the stamp was, once it has been read.
func stillStamped(f *os.File, was artifact.FileStamp) bool {
	if testAfterRead != nil {
		testAfterRead(f.Name())
	}
	now, ok := stampOf(f)
	return ok && now == was
}

// isSHA256Hex tells whether k is a SHA-256 in lower-case hex, as Group
// makes keys of readable inputs.
func isSHA256Hex(k string) bool {
	if len(k) != 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
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
