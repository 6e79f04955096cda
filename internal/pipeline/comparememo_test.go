package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tomscan/tomscan/internal/nodecache"
	"github.com/tomscan/tomscan/internal/tom/lists"
)

// TestCompareMemo: the snapshots' matches are computed once and read back
// from the node cache as they were (an empty Added stays empty, not nil);
// another digest of the snapshots or other lists are other entries; a
// damaged entry, or one that does not fit the lists, is computed again; an
// error is passed on and not remembered; without a digest there is no memo.
func TestCompareMemo(t *testing.T) {
	dir := t.TempDir()
	cache, err := nodecache.Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	cache.Warn = func(string) {}
	cfg := Config{NodeCache: cache}
	if memoCompare(cfg) != nil {
		t.Fatal("a memo without the snapshots' digest")
	}
	cfg.Cache.KeywordLists = "digest-1"
	found := [][]string{{"法轮功", "六四"}, {"x"}}
	want := []lists.Match{
		{Family: "5.0", Name: "keyfile", Date: "2011-05-01", Jaccard: 0.6667, Ties: []string{"5.1s/keyfile_u.2011-05-02"}, Added: []string{}, Removed: []string{"天安门"}, Common: 2},
		{Unknown: []string{"x"}, Added: []string{}, Removed: []string{}},
	}
	calls := 0
	compute := func() ([]lists.Match, error) { calls++; return want, nil }
	memo := memoCompare(cfg)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		got, err := memo(ctx, found, compute)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("call %d: %+v %v, want %+v", i, got, err, want)
		}
	}
	if calls != 1 {
		t.Errorf("computed %d times, want once", calls)
	}
	other := cfg
	other.Cache.KeywordLists = "digest-2"
	if _, _ = memoCompare(other)(ctx, found, compute); calls != 2 {
		t.Error("other snapshots used the memo")
	}
	if _, _ = memo(ctx, found[:1], compute); calls != 3 {
		t.Error("other lists used the memo")
	}
	// damage the entry: a miss, computed again
	p := filepath.Join(dir, "trees", compareMemoKey(cfg, found)[:2], compareMemoKey(cfg, found))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-2] ^= 0x01
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := memo(ctx, found, compute); calls != 4 || !reflect.DeepEqual(got, want) {
		t.Errorf("damaged memo: computed %d times, got %+v", calls, got)
	}
	// an entry that does not fit the lists (one match for two lists)
	if err := cache.PutTree(compareMemoKey(cfg, found), []byte(`[{"family":"5.0","added":[],"removed":[]}]`)); err != nil {
		t.Fatal(err)
	}
	if _, _ = memo(ctx, found, compute); calls != 5 {
		t.Error("a memo of another length was used")
	}
	boom := errors.New("snapshots unreadable")
	fail := func() ([]lists.Match, error) { return nil, boom }
	again := [][]string{{"new"}}
	if _, err := memo(ctx, again, fail); !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
	if got, _ := memo(ctx, again, compute); !reflect.DeepEqual(got, want) {
		t.Error("a failed computation was remembered")
	}
}
