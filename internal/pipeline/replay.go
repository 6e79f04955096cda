package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/nodecache"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/reports"
)

// Stats says how one build's report was made.
type Stats struct {
	Nodes     int `json:"nodes"`      // nodes in the build's tree
	Unpacked  int `json:"unpacked"`   // nodes the engine unpacked and analysed afresh
	CacheHits int `json:"cache_hits"` // nodes replayed from the node cache: only the rule stages ran
	// Warnings about the node cache (damaged entries ignored), from a
	// worker, whose stderr is not the user's: the parent prints them.
	Warnings []string `json:"warnings,omitempty"`
	// Prepared is the length of Config.Preparer's output, which follows
	// the report in a worker's answer (0: none).
	Prepared int `json:"prepared,omitempty"`
	// ReportFile: the worker wrote the report there (request.ReportFile)
	// and the answer holds none.
	ReportFile string `json:"report_file,omitempty"`
	// Cores is how many cores a worker that confines its builds
	// (Config.ConfineCores) ran this one on: its walk and its lanes.
	Cores int `json:"cores,omitempty"`
}

// A build's scan is staged by what each stage depends on:
//
//	identify, unpack, PE, iOS, Mach-O, strings, trust   the bytes, limits, tools, trust store, passwords
//	YARA, TOM (Visit per node, Finish per build)        also the rules, the keyword-list snapshots, GeoIP
//
// With a node cache (--cache), a fresh scan records what the rule stages
// need to run again without the first group: every node's bytes (by
// sha256), the order the engine visited the nodes in (the TOM analysers
// keep bounded candidates in that order), and the tree as the first group
// left it (no matches, no findings, no issues of the rule stages, whose
// places are recorded). A later scan whose rules or snapshots changed, but
// nothing else, replays that: the rule stages over the cached bytes in the
// recorded order, each node's rule issues put back in their place, then
// Finish. The report is the one a fresh scan would write (tested:
// TestReplayEqualsFreshScan). Anything missing or damaged in the cache is a
// miss, and the build is scanned afresh.

// treeEntry is a build's cached rule-independent tree.
type treeEntry struct {
	Order []visitRec     `json:"order"` // nodes in the order the engine visited them
	Tree  *artifact.Node `json:"tree"`
}

// visitRec is one visited node: where its rule-stage issues were.
type visitRec struct {
	ID     string `json:"id"`
	Parent string `json:"parent,omitempty"` // "" for the root
	At     int    `json:"at"`               // index in Issues where the rule stages began
	Count  int    `json:"count"`            // issues the rule stages added
	// Blob: the node's bytes as the rule stages read them, checked when
	// read back (a CRC, not the sha256 again: see nodecache.GetBlobCheck).
	Blob nodecache.Check `json:"blob"`
}

// recorder collects a fresh scan's treeEntry.
type recorder struct {
	cfg        Config
	order      []visitRec
	complete   bool // every visited node's bytes are in the cache
	rootIssues int  // root issues before tom Finish
}

func (r *recorder) visited(n, parent *artifact.Node, at, count int, data []byte) {
	rec := visitRec{ID: n.ID, At: at, Count: count, Blob: nodecache.CheckOf(data)}
	if parent != nil {
		rec.Parent = parent.ID
	}
	r.order = append(r.order, rec)
	if !r.cfg.NodeCache.PutBlob(n.SHA256, data) {
		r.complete = false
	}
}

// treeFormat names the layout of a cached tree entry; a change to it (or
// to what the entry means) gets a new name, so older entries are never read.
const treeFormat = "tree-v3" // v2: strings that are not UTF-8 escaped (rawstrings.go); v3: string listings in a binary block (treecodec.go)

// treeKey is the node cache's key for b's tree: CacheKey's inputs without
// the rules and the keyword-list snapshots (only the rule stages read them).
func treeKey(cfg Config, b *Build) string {
	c := cfg
	c.Rules = nil
	c.Cache.KeywordLists = ""
	c.Cache.GeoIP = "" // the tree does not depend on it either: the TOM analysers do
	c.Now = nil
	sum := sha256.Sum256([]byte(treeFormat + "\x00" + CacheKey(c, b)))
	return hex.EncodeToString(sum[:])
}

// scanBuildCached is scanBuild with the node cache: a replay when the
// build's tree is cached, else a fresh scan that fills the cache.
func scanBuildCached(ctx context.Context, cfg Config, a *analyzer, b *Build) (*reports.Report, Stats, error) {
	if cfg.NodeCache == nil || b.Err != nil {
		rep, err := scanBuild(ctx, cfg, a, b)
		return rep, freshStats(rep), err
	}
	cfg.TOM.Search = memoSearch(cfg) // keymemo.go
	cfg.TOM.Compare = memoCompare(cfg)
	key := treeKey(cfg, b)
	a.treeKey = key
	defer func() { a.treeKey = "" }()
	if payload, ok := cfg.NodeCache.GetTree(key); ok {
		if rep, ok := replay(ctx, cfg, a, b, payload); ok {
			return rep, Stats{Nodes: rep.Summary.Nodes, CacheHits: rep.Summary.Nodes}, nil
		}
		if ctx.Err() != nil {
			return nil, Stats{}, nil // interrupted: the caller sees ctx
		}
	}
	a.rec = &recorder{cfg: cfg, complete: true}
	rec := a.rec
	rep, err := scanBuild(ctx, cfg, a, b)
	a.rec = nil
	if err == nil && rep != nil && ctx.Err() == nil && rec.complete {
		if payload, ok := rec.entry(rep); ok {
			_ = cfg.NodeCache.PutTree(key, payload) // a cache that cannot be written is only slower
		}
	}
	return rep, freshStats(rep), err
}

func freshStats(rep *reports.Report) Stats {
	if rep == nil {
		return Stats{}
	}
	return Stats{Nodes: rep.Summary.Nodes, Unpacked: rep.Summary.Nodes}
}

// entry strips rep's tree of what the rule stages added and encodes it;
// false when the build is not worth replaying (a timeout, a crash, issues
// after Finish that a replay would not make again).
func (r *recorder) entry(rep *reports.Report) ([]byte, bool) {
	root := rep.Tree
	if root == nil || len(root.Issues) < r.rootIssues {
		return nil, false
	}
	for _, is := range root.Issues[r.rootIssues:] {
		if is.Stage != "tom" {
			return nil, false // cleanup or panic after Finish
		}
	}
	bad := false
	_ = root.Walk(func(n *artifact.Node) error {
		for _, is := range n.Issues {
			if is.Kind == artifact.KindTimeout || is.Kind == artifact.KindWorkerCrashed || (is.Kind == artifact.KindPanic && is.Stage == "pipeline") {
				bad = true
			}
		}
		return nil
	})
	if bad {
		return nil, false
	}
	// A deep copy through JSON: the report keeps its tree. The string
	// listings, most of it, are not copied: they go to the entry's binary
	// block as they are (treecodec.go), and are taken off the tree for the
	// copy. Other strings that are not UTF-8 are escaped for the round
	// trip (rawstrings.go). Both in place and back: nothing else uses the
	// report meanwhile.
	sets := detachStrings(root)
	mapStrings(reflect.ValueOf(root), escapeRaw)
	raw, err := json.Marshal(root)
	mapStrings(reflect.ValueOf(root), unescapeRaw)
	attachStrings(root, sets)
	if err != nil {
		return nil, false
	}
	var tree artifact.Node
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, false
	}
	mapStrings(reflect.ValueOf(&tree), unescapeRaw) // encodeEntry escapes again
	tree.Issues = tree.Issues[:r.rootIssues]
	byID := map[string]*artifact.Node{}
	_ = tree.Walk(func(n *artifact.Node) error {
		byID[n.ID] = n
		n.Matches, n.Findings = nil, nil
		return nil
	})
	for _, v := range r.order {
		n := byID[v.ID]
		if n == nil || v.At+v.Count > len(n.Issues) {
			return nil, false
		}
		n.Issues = append(n.Issues[:v.At:v.At], n.Issues[v.At+v.Count:]...)
	}
	payload, err := encodeEntry(treeEntry{Order: r.order, Tree: &tree}, sets)
	if err != nil {
		return nil, false
	}
	return payload, true
}

// replay makes b's report from a cached tree entry: the rule stages over
// the cached node bytes, in the recorded order, then Finish. false: the
// entry cannot be used (damaged, a node's bytes evicted, the build
// deadline): scan afresh.
func replay(ctx context.Context, cfg Config, a *analyzer, b *Build, payload []byte) (*reports.Report, bool) {
	e, err := decodeEntry(payload)
	if err != nil {
		warn(cfg, fmt.Sprintf("node cache: tree of %s unreadable (%v): scanned afresh", b.Key, err))
		return nil, false
	}
	root := e.Tree
	byID := map[string]*artifact.Node{}
	_ = root.Walk(func(n *artifact.Node) error {
		byID[n.ID] = n
		return nil
	})
	// Every node's bytes must be there before anything runs.
	for _, v := range e.Order {
		n := byID[v.ID]
		if n == nil || (v.Parent != "" && byID[v.Parent] == nil) || v.At > len(n.Issues) || !cfg.NodeCache.HasBlob(n.SHA256) {
			return nil, false
		}
	}
	rep, _ := newReport(cfg, b)
	rep.Tree = root
	bctx, cancel := context.WithTimeout(ctx, cfg.Limits.BuildTimeout)
	defer cancel()
	a.tom = tom.NewBuild(cfg.TOM)
	defer func() { a.tom = nil }()
	// One buffer holds each node's bytes in turn: the rule stages keep
	// none of them (YARA's matches and the TOM analysers' windows and
	// blobs are copies; the tests overwrite the buffer after each node to
	// hold them to it). Fresh memory for every node, zeroed and faulted
	// in, was a third of reading the blobs. The buffer then goes to the
	// next build's replay (replayBuffers), which would otherwise fault in
	// fresh memory for its first node.
	buf := replayBuffers.get()
	defer func() { replayBuffers.put(buf) }()
	// It is made at once the size of the build's largest node: grown node
	// by node, each larger node's bytes went to a fresh allocation, and
	// memory touched for the first time is what costs most here (on this
	// kind of VM each new page costs microseconds to fault in and map).
	if largest := largestBlob(e.Order); int64(cap(buf)) < largest {
		buf = make([]byte, 0, largest)
	}
	for _, v := range e.Order {
		n, parent := byID[v.ID], byID[v.Parent]
		data, ok := cfg.NodeCache.GetBlobCheck(buf, n.SHA256, v.Blob)
		if !ok || bctx.Err() != nil {
			return nil, false // evicted or damaged under us, or out of time: scan afresh
		}
		tail := append([]artifact.Issue(nil), n.Issues[v.At:]...)
		n.Issues = n.Issues[:v.At]
		a.ruleStages(bctx, n, parent, data)
		if replayUsedBytes != nil {
			replayUsedBytes(data)
		}
		if cap(data) <= maxReplayBuffer {
			buf = data[:0]
		}
		n.Issues = append(n.Issues, tail...)
		if len(n.Issues) == 0 {
			n.Issues = nil
		}
	}
	rep.TOM = finishTOM(bctx, cfg, a.tom, root, a.treeKey)
	if bctx.Err() != nil {
		return nil, false
	}
	finishReport(rep, root)
	return rep, true
}

// maxReplayBuffer bounds the buffer a replay keeps between nodes: a
// larger node's bytes are read into memory of their own, and let go.
const maxReplayBuffer = 64 << 20

// largestBlob is the length of the largest node bytes in order that a
// replay buffer holds (at most maxReplayBuffer).
func largestBlob(order []visitRec) int64 {
	var largest int64
	for _, v := range order {
		if n := v.Blob.Len; n > largest && n <= maxReplayBuffer {
			largest = n
		}
	}
	return largest
}

// replayBuffers holds replay buffers between builds: at most
// maxFreeReplayBuffers of them, each of at most maxPooledReplayBuffer
// bytes. Not a sync.Pool: the collector, which runs several times a build,
// empties one, and the next build faulted in fresh memory again.
var replayBuffers freeBuffers

const (
	maxPooledReplayBuffer = 16 << 20
	maxFreeReplayBuffers  = 4
)

type freeBuffers struct {
	mu   sync.Mutex
	free [][]byte
}

// get returns a kept buffer, emptied, or nil.
func (f *freeBuffers) get() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.free)
	if n == 0 {
		return nil
	}
	b := f.free[n-1]
	f.free = f.free[:n-1]
	return b[:0]
}

// put keeps b for a later get, unless it is too large or enough are kept.
func (f *freeBuffers) put(b []byte) {
	if c := cap(b); c == 0 || c > maxPooledReplayBuffer {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.free) < maxFreeReplayBuffers {
		f.free = append(f.free, b)
	}
}

// replayUsedBytes, in tests, is handed each node's bytes once the rule
// stages are done with them (SetReplayPoison).
var replayUsedBytes func([]byte)

func warn(cfg Config, msg string) {
	if cfg.NodeCache != nil && cfg.NodeCache.Warn != nil {
		cfg.NodeCache.Warn(msg)
	}
}

// statsPrefix opens a worker's answer when it carries Stats: one line of
// JSON, then the report's JSON byte for byte.
const statsPrefix = "tomscan-stats "

// answer is a worker's answer: the stats line, then the report's JSON,
// encoded in place after it (a large report is not copied once more).
func answer(st Stats, rep *reports.Report, prepared []byte) ([]byte, error) {
	st.Prepared = len(prepared)
	line, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	out := append(append([]byte(statsPrefix), line...), '\n')
	if rep != nil { // nil: written to st.ReportFile
		if out, err = reports.AppendJSON(out, rep); err != nil {
			return nil, err
		}
	}
	return append(out, prepared...), nil
}

// splitAnswer reads a worker's answer: the stats, the report's JSON and
// what Config.Prepare made of it (nil: nothing).
func splitAnswer(ans []byte) (Stats, []byte, []byte) {
	var st Stats
	if !bytes.HasPrefix(ans, []byte(statsPrefix)) {
		return st, ans, nil
	}
	line, js, ok := bytes.Cut(ans[len(statsPrefix):], []byte{'\n'})
	if !ok || json.Unmarshal(line, &st) != nil {
		return Stats{}, ans, nil // not ours: DecodeJSON will say so
	}
	if st.ReportFile != "" && st.Prepared == len(js) {
		return st, nil, js // the report is in the file
	}
	if st.Prepared <= 0 || st.Prepared >= len(js) {
		return st, js, nil
	}
	cut := len(js) - st.Prepared
	return st, js[:cut:cut], js[cut:]
}
