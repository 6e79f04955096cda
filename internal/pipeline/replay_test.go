package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/tomscan/tomscan/internal/nodecache"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
	"github.com/tomscan/tomscan/internal/tom/lists"
	"github.com/tomscan/tomscan/rules"
)

// TestReplayEqualsFreshScan: half the synthetic corpus (every kind of
// installer, TOM builds among them) scanned with the node cache, then with
// one more rule: every build is replayed from the cache (tree entries in
// their binary layout, blobs checked by CRC, key-search and snapshot
// comparison memos), and its
// report.json, report.md and report.html equal those of a fresh scan with
// the same rules, byte for byte. Each node's bytes are overwritten once
// its rule stages are done (a replay reuses one buffer for them): nothing
// may keep them.
func TestReplayEqualsFreshScan(t *testing.T) {
	in, base, cache := replaySetup(t, 0, 2)
	var warnings []string
	cache.Warn = func(m string) { warnings = append(warnings, m) }
	filling := base
	filling.NodeCache = cache
	before, _ := scanAll(t, filling, in)

	src, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	src = append(src, rules.Source{Namespace: "extra", Path: "extra.yar", Text: []byte("rule Extra_DOS_Stub { strings: $a = \"This program\" condition: $a }\n")})
	set, err := rules.Compile(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	more := base
	more.Rules = set
	fresh, _ := scanAll(t, more, in)
	changed := 0
	for ref, p := range fresh {
		if !bytes.Equal(p.json, before[ref].json) {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("the extra rule changed no report: the test proves nothing")
	}

	more.NodeCache = cache
	pipeline.SetReplayPoison(true)
	defer pipeline.SetReplayPoison(false)
	replayed, res := scanAll(t, more, in)
	samePages(t, "replayed from the node cache vs fresh", fresh, replayed)
	for ref, r := range res {
		if r.Stats.CacheHits != r.Stats.Nodes || r.Stats.Unpacked != 0 {
			t.Errorf("%s: not replayed: %+v", ref, r.Stats)
		}
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
}

// TestReplayTOMMemo: a rules-only rescan whose new rule matches nothing
// takes every build's TOM result from the memo its first scan left (the
// verdict, endpoints and keyword lists are a function of the tree, the
// matches and the snapshots, and none changed), and its reports equal, byte
// for byte, those of a fresh scan with the same rules, which finishes every
// build itself. A rule that matches changes the memo's key: the first scan
// with the cache finishes every build (no memo yet), and so does a rescan
// after a rule that matches every PE (TestReplayEqualsFreshScan checks its
// reports).
func TestReplayTOMMemo(t *testing.T) {
	in, base, cache := replaySetup(t, 1, 3)
	var hits, misses atomic.Int64
	pipeline.SetTOMMemoHook(func(hit bool) {
		if hit {
			hits.Add(1)
		} else {
			misses.Add(1)
		}
	})
	defer pipeline.SetTOMMemoHook(nil)
	withRule := func(rule string) pipeline.Config {
		src, err := rules.Builtin()
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, rules.Source{Namespace: "extra", Path: "extra.yar", Text: []byte(rule)})
		set, err := rules.Compile(context.Background(), src)
		if err != nil {
			t.Fatal(err)
		}
		c := base
		c.Rules = set
		return c
	}
	count := func(what string, wantHits, wantMisses int) {
		t.Helper()
		if h, m := hits.Swap(0), misses.Swap(0); h != int64(wantHits) || m != int64(wantMisses) {
			t.Errorf("%s: %d memo hits and %d misses, want %d and %d", what, h, m, wantHits, wantMisses)
		}
	}

	filling := base
	filling.NodeCache = cache
	first, _ := scanAll(t, filling, in)
	n := len(first)
	count("first scan with the cache", 0, n)

	none := withRule("rule Extra_Nothing { strings: $a = \"tomscan-test-rule-that-matches-nothing-4f9a\" condition: $a }\n")
	fresh, _ := scanAll(t, none, in)
	count("fresh scan without the cache", 0, 0)
	none.NodeCache = cache
	replayed, res := scanAll(t, none, in)
	count("rescan with a rule that matches nothing", n, 0)
	samePages(t, "TOM result from the memo vs fresh", fresh, replayed)
	for ref, r := range res {
		if r.Stats.CacheHits != r.Stats.Nodes {
			t.Errorf("%s: not replayed: %+v", ref, r.Stats)
		}
	}

	every := withRule("rule Extra_DOS_Stub { strings: $a = \"This program\" condition: $a }\n")
	every.NodeCache = cache
	scanAll(t, every, in)
	if h, m := hits.Swap(0), misses.Swap(0); m == 0 || h+m != int64(n) {
		t.Errorf("rescan with a rule that matches every PE: %d memo hits and %d misses, want misses (the builds with a PE) and %d lookups", h, m, n)
	}
}

// replaySetup links every step-th build of the synthetic corpus from first
// on into a folder, and returns it, the test configuration with the
// snapshots' digest set as a scan sets it (it keys the memos of the
// comparisons and of the TOM results), and an empty node cache.
func replaySetup(t *testing.T, first, step int) (string, pipeline.Config, *nodecache.Cache) {
	t.Helper()
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" || os.Getenv("TOMSCAN_KEYWORD_LISTS") == "" {
		t.Skip("TOMSCAN_CORPUS or TOMSCAN_KEYWORD_LISTS not set")
	}
	files, err := filepath.Glob(filepath.Join(dir, "builds", "*"))
	if err != nil || len(files) < 10 {
		t.Fatalf("corpus builds: %d, %v", len(files), err)
	}
	sort.Strings(files)
	var some []string
	for i := first; i < len(files); i += step {
		some = append(some, files[i])
	}
	base := pipelinetest.Config(t)
	if base.Cache.KeywordLists, err = lists.Digest(context.Background(), base.TOM.KeywordListsDir); err != nil {
		t.Fatal(err)
	}
	cache, err := nodecache.Open(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return linkAll(t, some), base, cache
}
