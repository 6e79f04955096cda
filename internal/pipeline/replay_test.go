package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
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
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" || os.Getenv("TOMSCAN_KEYWORD_LISTS") == "" {
		t.Skip("TOMSCAN_CORPUS or TOMSCAN_KEYWORD_LISTS not set")
	}
	files, err := filepath.Glob(filepath.Join(dir, "builds", "*"))
	if err != nil || len(files) < 10 {
		t.Fatalf("corpus builds: %d, %v", len(files), err)
	}
	sort.Strings(files)
	var half []string
	for i := 0; i < len(files); i += 2 {
		half = append(half, files[i])
	}
	in := linkAll(t, half)

	base := pipelinetest.Config(t)
	// as a scan sets it: the snapshots' digest keys the comparisons' memo
	if base.Cache.KeywordLists, err = lists.Digest(context.Background(), base.TOM.KeywordListsDir); err != nil {
		t.Fatal(err)
	}
	cache, err := nodecache.Open(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
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
