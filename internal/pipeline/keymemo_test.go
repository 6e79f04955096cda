package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tomscan/tomscan/internal/nodecache"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
	"github.com/tomscan/tomscan/internal/tom/lists"
)

// TestKeySearchMemoReplay: TOM builds (keyword lists encrypted with XOR,
// DES and AES, found by the key search) replayed from the node cache (with
// the same rules: their TOM results come from its memo) give the reports of
// a fresh scan byte for byte; and memo entries damaged on disk are detected
// (the cache's checksum): the TOM analysers finish again, read the key
// searches' and comparisons' memos, find them damaged too, search again,
// and the reports still match. (TestReplayEqualsFreshScan replays with a
// rule that matches more, where the key searches' answers are read from
// their memos.)
func TestKeySearchMemoReplay(t *testing.T) {
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" || os.Getenv("TOMSCAN_KEYWORD_LISTS") == "" {
		t.Skip("TOMSCAN_CORPUS or TOMSCAN_KEYWORD_LISTS not set")
	}
	var files []string
	for _, name := range []string{"tom-zh-4.0.0.227-7z.7z", "tom-en-5.1.4.10-zip-cab.zip", "tom-zh-5.5.0.124-append-7z.exe"} {
		files = append(files, filepath.Join(dir, "builds", name))
	}
	in := linkAll(t, files)
	cfg := pipelinetest.Config(t)
	var err error
	if cfg.Cache.KeywordLists, err = lists.Digest(context.Background(), cfg.TOM.KeywordListsDir); err != nil {
		t.Fatal(err) // as a scan sets it: it keys the comparisons' memo
	}
	fresh, _ := scanAll(t, cfg, in)
	cacheDir := t.TempDir()
	cache, err := nodecache.Open(cacheDir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NodeCache = cache
	filled, _ := scanAll(t, cfg, in)
	samePages(t, "filling the cache", fresh, filled)
	var mu sync.Mutex
	var warnings []string
	cache.Warn = func(m string) { mu.Lock(); warnings = append(warnings, m); mu.Unlock() }
	replayed, res := scanAll(t, cfg, in)
	samePages(t, "replayed with memo", fresh, replayed)
	for ref, r := range res {
		if r.Stats.CacheHits == 0 {
			t.Errorf("%s: not replayed: %+v", ref, r.Stats)
		}
	}
	// Damage every entry of the tree store that is a memo, not a build's
	// tree: the key searches' and comparisons' (gob) and the TOM results'
	// (JSON), which a replay with the same rules reads first (tommemo.go).
	damaged := 0
	_ = filepath.Walk(filepath.Join(cacheDir, "trees"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if _, payload, ok := strings.Cut(string(b), "\n"); ok && !strings.HasPrefix(payload, `{"order":`) {
			b[len(b)-1] ^= 0xff
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			damaged++
		}
		return nil
	})
	if damaged == 0 {
		t.Fatal("no key-search memo in the cache")
	}
	again, _ := scanAll(t, cfg, in)
	samePages(t, "replayed with damaged memos", fresh, again)
	if len(warnings) < damaged {
		t.Errorf("%d memos damaged, %d warnings: %q", damaged, len(warnings), warnings)
	}
}
