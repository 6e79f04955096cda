package archive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// TestFlushIndexBytesIndependentOfUpsertOrder: the same builds upserted in
// opposite orders (jobs finishing in any order, shards merged in any order),
// in one batch or in two runs, give the same index.sqlite byte for byte,
// and the same index.html.
func TestFlushIndexBytesIndependentOfUpsertOrder(t *testing.T) {
	ctx := context.Background()
	all := reportstest.All()
	var keys []string
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) < 3 {
		t.Fatalf("only %d fixture reports", len(keys))
	}
	fill := func(order [][]string) string {
		out := t.TempDir()
		for _, batch := range order {
			x, err := Open(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range batch {
				if err := WriteBuild(out, k, all[k], nil); err != nil {
					t.Fatal(err)
				}
				if err := x.Upsert(ctx, k, all[k]); err != nil {
					t.Fatal(err)
				}
			}
			if err := x.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	rev := append([]string(nil), keys...)
	sort.Sort(sort.Reverse(sort.StringSlice(rev)))
	// a build upserted twice (a rescan) ends the same as once
	again := append([]string{keys[0]}, rev...)
	a := fill([][]string{keys})
	b := fill([][]string{rev})
	c := fill([][]string{rev[:2], again})
	for _, f := range []string{IndexDB, IndexHTML} {
		want, err := os.ReadFile(filepath.Join(a, f))
		if err != nil {
			t.Fatal(err)
		}
		for name, dir := range map[string]string{"reversed": b, "two runs": c} {
			got, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: %s differs from the one upserted in key order (%d vs %d bytes)", name, f, len(got), len(want))
			}
		}
	}
	// the canonical file still holds every build, with its cache key
	x, err := Open(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for _, k := range keys {
		ck, status, err := x.CacheKey(ctx, k)
		if err != nil || status == "" {
			t.Errorf("build %s not in the canonical index: %q %v", k, status, err)
		}
		want := ""
		if all[k].Cache != nil {
			want = all[k].Cache.Key
		}
		if ck != want {
			t.Errorf("build %s cache_key %q, want %q", k, ck, want)
		}
	}
	if ck, status, err := x.CacheKey(ctx, "no-such-build"); ck != "" || status != "" || err != nil {
		t.Errorf("CacheKey of a missing build = %q %q %v", ck, status, err)
	}
}

// TestIndexWithoutKeywordIndexIsRebuilt: the canonical copy takes
// list_keywords' index entries from the index's own (copyCanonical), so an
// index that lost it (dropped by hand) would canonicalize to other bytes.
// Open rebuilds such an index from the reports: after a scan's Flush it is
// the canonical file again, byte for byte.
func TestIndexWithoutKeywordIndexIsRebuilt(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	x, err := Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range reportstest.All() {
		if err := WriteBuild(out, k, r, nil); err != nil {
			t.Fatal(err)
		}
		if err := x.Upsert(ctx, k, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.FlushClose(ctx); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, IndexDB)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lists int
	db, err := openRW(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM list_keywords`).Scan(&lists); err != nil || lists == 0 {
		t.Fatalf("the fixtures' index holds %d keyword entries (%v): nothing to test", lists, err)
	}
	if _, err := db.ExecContext(ctx, `DROP INDEX list_keywords_keyword`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	x, err = Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.WillChange(ctx); err != nil { // a scan that upserts: Flush makes the canonical copy
		t.Fatal(err)
	}
	if err := x.FlushClose(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
		t.Errorf("an index without list_keywords_keyword, opened and flushed: not the canonical file (%d vs %d bytes, %v)", len(got), len(want), err)
	}
}

// TestNoPageKeepsLinksCanonical: a JSON-only scan upserts its builds with
// NoPage, which keeps their page_links rows instead of deleting them for
// the next Flush to add again. The index must still be the one rebuilt
// from the same reports, byte for byte: also when a build the rescan adds
// comes between two archived ones, whose kept rows then name other
// neighbours (Flush's relink updates them).
func TestNoPageKeepsLinksCanonical(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	scan := func(variants ...int) {
		t.Helper()
		x, err := Open(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		var batch []Keyed
		for _, i := range variants {
			r := reportstest.Variant(reportstest.TOM(), i)
			if err := WriteBuild(out, r.Build.SHA256, r, nil); err != nil {
				t.Fatal(err)
			}
			batch = append(batch, Keyed{Key: r.Build.SHA256, Report: r, NoPage: true})
		}
		if err := x.UpsertBatch(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := x.FlushClose(ctx); err != nil {
			t.Fatal(err)
		}
	}
	links := func(dir string) int {
		t.Helper()
		db, err := openRW(ctx, filepath.Join(dir, IndexDB))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM page_links`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	scan(0, 1, 3, 4)
	if n := links(out); n != 4 {
		t.Fatalf("%d page_links rows after the first scan, want 4 (one family of four)", n)
	}
	scan(0, 1, 2, 3, 4) // 2 goes between 1 and 3
	got, err := os.ReadFile(filepath.Join(out, IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Reindex(ctx, out); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(out, IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("index after a JSON-only rescan that kept page_links is not the rebuilt one (%d vs %d bytes)", len(got), len(want))
	}
}

// TestRemovedPageRelinksNeighbours: a build page links the previous and
// next build of its family. When a JSON-only rescan removes a build's
// report.html (RemoveStalePages), the pages linking it are relinked at the
// next Flush, to the record that is there; and the index is still the one
// rebuilt from the reports.
func TestRemovedPageRelinksNeighbours(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	var keys []string
	var reps []*reports.Report
	for i := 0; i < 3; i++ {
		r := reportstest.Variant(reportstest.TOM(), i) // one family, versions ascending
		keys, reps = append(keys, r.Build.SHA256), append(reps, r)
	}
	write := func(i int, formats map[string]bool, k Keyed) {
		t.Helper()
		x, err := Open(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteBuild(out, keys[i], reps[i], formats); err != nil {
			t.Fatal(err)
		}
		k.Key, k.Report = keys[i], reps[i]
		if err := x.UpsertBatch(ctx, []Keyed{k}); err != nil {
			t.Fatal(err)
		}
		if err := x.FlushClose(ctx); err != nil {
			t.Fatal(err)
		}
	}
	page := func(i int) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(reports.BuildDir(out, keys[i]), ReportHTML))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for i := range keys {
		write(i, map[string]bool{"html": true}, Keyed{})
	}
	middle := "../" + keys[1] + "/"
	if !strings.Contains(page(0), middle+ReportHTML) || !strings.Contains(page(2), middle+ReportHTML) {
		t.Fatal("the first and last builds' pages do not link the middle one's page: the test proves nothing")
	}
	write(1, nil, Keyed{NoPage: true, PageRemoved: true}) // what the archiver says of a JSON-only rewrite
	if _, err := os.Stat(filepath.Join(reports.BuildDir(out, keys[1]), ReportHTML)); err == nil {
		t.Fatal("the JSON-only rewrite left the middle build's page")
	}
	for _, i := range []int{0, 2} {
		if p := page(i); strings.Contains(p, middle+ReportHTML) || !strings.Contains(p, middle+ReportJSON) {
			t.Errorf("build %d's page still links the removed page, or not the record", i)
		}
	}
	got, err := os.ReadFile(filepath.Join(out, IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Reindex(ctx, out); err != nil {
		t.Fatal(err)
	}
	if want, err := os.ReadFile(filepath.Join(out, IndexDB)); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the index after the relink is not the rebuilt one (%d vs %d bytes, %v)", len(got), len(want), err)
	}
}
