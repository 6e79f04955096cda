package archive_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// dump is every row of every index table as text, sorted: what "the same
// index" means whatever order the rows went in.
func dump(t *testing.T, out string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(out, archive.IndexDB)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var lines []string
	tables, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var name string
		if err := tables.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	tables.Close()
	for _, table := range names { // every table of the layout

		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			cells := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range cells {
				ptrs[i] = &cells[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%s %q", table, cells))
		}
		rows.Close()
	}
	sort.Strings(lines)
	return lines
}

// TestUpsertsEqualRebuild: an index built by per-build upserts, in any
// order and with builds upserted twice, holds the same rows (and renders
// the same page) as a rebuild from the reports; once flushed (canonical
// order: Canonicalize) it is the same file byte for byte.
func TestUpsertsEqualRebuild(t *testing.T) {
	ctx := context.Background()
	rebuilt := newArchive(t)
	want := dump(t, rebuilt)
	wantPage, err := os.ReadFile(filepath.Join(rebuilt, archive.IndexHTML))
	if err != nil {
		t.Fatal(err)
	}
	wantDB, err := os.ReadFile(filepath.Join(rebuilt, archive.IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	all := reportstest.All()
	var keys []string
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	orders := [][]string{slices.Clone(keys), {}, {}}
	for i := len(keys) - 1; i >= 0; i-- {
		orders[1] = append(orders[1], keys[i])
	}
	for i := range keys {
		orders[2] = append(orders[2], keys[(i*3)%len(keys)]) // a permutation when len is not a multiple of 3
	}
	orders[2] = append(orders[2], keys[0], keys[len(keys)-1]) // upserted again
	for i, order := range orders {
		out := t.TempDir()
		x, err := archive.Open(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			// a stale version of a build first: the upsert must replace it
			stale := reportstest.Regular()
			stale.Build.Path = "stale.exe"
			if err := x.Upsert(ctx, reportstest.TOMKey, stale); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range order {
			// as a scan writes them: the index page links each build's
			// report.html, which the rebuild rendered
			if err := archive.WriteBuild(out, k, all[k], map[string]bool{"md": true, "html": true}); err != nil {
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
		if got := dump(t, out); !slices.Equal(got, want) {
			t.Errorf("order %d: upserted index differs from the rebuilt one:\n%s", i, diffLines(got, want))
		}
		page, err := os.ReadFile(filepath.Join(out, archive.IndexHTML))
		if err != nil || !bytes.Equal(page, wantPage) {
			t.Errorf("order %d: index.html differs from the rebuilt one (%v)", i, err)
		}
		db, err := os.ReadFile(filepath.Join(out, archive.IndexDB))
		if err != nil || !bytes.Equal(db, wantDB) {
			t.Errorf("order %d: index.sqlite is not byte-identical to the rebuilt one (%v): %d vs %d bytes", i, err, len(db), len(wantDB))
		}
		if tmp, _ := filepath.Glob(filepath.Join(out, ".tmp-*")); len(tmp) > 0 {
			t.Errorf("order %d: temp files left: %v", i, tmp)
		}
	}
}

func diffLines(got, want []string) string {
	var b strings.Builder
	for _, l := range got {
		if !slices.Contains(want, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	for _, l := range want {
		if !slices.Contains(got, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}

// TestUnreadableReportIsSkipped: a report.json cut to 100 bytes is left out
// of the index with its reason, the other builds are indexed, and Check
// lists it.
func TestUnreadableReportIsSkipped(t *testing.T) {
	ctx := context.Background()
	out := newArchive(t)
	bad := filepath.Join(out, archive.BuildsDir, reportstest.TOMKey, archive.ReportJSON)
	if err := os.Truncate(bad, 100); err != nil {
		t.Fatal(err)
	}
	// The index still lists it (it was indexed before): Check says the
	// report is unreadable.
	probs, err := archive.Check(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 1 || probs[0].Key != reportstest.TOMKey || probs[0].What != "unreadable" {
		t.Fatalf("check: %v", probs)
	}
	skipped, err := archive.Rebuild(ctx, out)
	if err != nil {
		t.Fatalf("rebuild stopped at an unreadable report: %v", err)
	}
	if len(skipped) != 1 || skipped[0].Key != reportstest.TOMKey || !strings.Contains(skipped[0].Err.Error(), "decode json") {
		t.Errorf("skipped: %v", skipped)
	}
	var n int
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(out, archive.IndexDB)+"?mode=ro")
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*) FROM builds`).Scan(&n); err != nil || n != len(reportstest.All())-1 {
		t.Errorf("index holds %d builds (%v), want all but the damaged one", n, err)
	}
	probs, err = archive.Check(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 1 || probs[0].What != "unreadable" {
		t.Errorf("check after rebuild: %v", probs)
	}
	// Opening for a scan works, and an upsert of a fresh report heals it.
	x, err := archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := archive.WriteBuild(out, reportstest.TOMKey, reportstest.TOM(), nil); err != nil {
		t.Fatal(err)
	}
	if err := x.Upsert(ctx, reportstest.TOMKey, reportstest.TOM()); err != nil {
		t.Fatal(err)
	}
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if probs, err := archive.Check(ctx, out); err != nil || len(probs) != 0 {
		t.Errorf("check after the build was rewritten: %v %v", probs, err)
	}
}

// TestOpenHealsIndex: a damaged index.sqlite, one of an older layout (no
// verdict column) and a missing one are rebuilt from the reports on Open.
func TestOpenHealsIndex(t *testing.T) {
	ctx := context.Background()
	want := dump(t, newArchive(t))
	for _, tc := range []struct {
		name   string
		damage func(path string) error
	}{
		{"garbage", func(p string) error { return os.WriteFile(p, []byte("not a database at all, just text"), 0o644) }},
		{"truncated", func(p string) error { return os.Truncate(p, 100) }},
		{"missing", os.Remove},
		{"old layout", func(p string) error {
			db, err := sql.Open("sqlite", p)
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = db.Exec(`DELETE FROM meta WHERE key = 'index_version'`)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := newArchive(t)
			if err := tc.damage(filepath.Join(out, archive.IndexDB)); err != nil {
				t.Fatal(err)
			}
			x, err := archive.Open(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			if got := dump(t, out); !slices.Equal(got, want) {
				t.Errorf("healed index differs:\n%s", diffLines(got, want))
			}
		})
	}
}

// TestVerdictColumn: the README's example query works.
func TestVerdictColumn(t *testing.T) {
	out := newArchive(t)
	res, err := archive.Query(context.Background(), out, "SELECT sha256, verdict FROM builds")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res.Rows {
		got[archive.Cell(r[0])] = archive.Cell(r[1])
	}
	if got[reportstest.TOMKey] != "tom-skype-english" || got[reportstest.RegularKey] != "regular-skype" {
		t.Errorf("verdicts: %v", got)
	}
}

// bigReport is a report of about 1 MB of JSON: many nodes.
func bigReport(key string) *reports.Report {
	r := reportstest.Regular()
	r.Build.SHA256 = key
	for i := 0; i < 2000; i++ {
		c := r.Tree.NewChild(fmt.Sprintf("dir/file-%05d-%s.dll", i, strings.Repeat("x", 100)), "zip")
		c.Type, c.Size, c.SHA256 = "pe", int64(i), strings.Repeat("ab", 32)
		c.Issues = []artifact.Issue{{Kind: artifact.KindParse, Stage: "pe", Message: strings.Repeat("m", 100)}}
		r.Tree.Children = append(r.Tree.Children, c)
	}
	return r
}

// peakHeap runs fn while sampling the live heap, and returns the highest
// sample above the heap before fn.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
				peak.Store(m.HeapAlloc - base)
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	return peak.Load()
}

// TestRebuildMemoryIsBounded: rebuilding an archive of 40 large reports
// needs about as much heap as one of 5. Loading every report first (what
// the index did before) would need eight times as much.
func TestRebuildMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 30 MB of reports")
	}
	ctx := context.Background()
	write := func(n int) string {
		out := t.TempDir()
		for i := 0; i < n; i++ {
			key := fmt.Sprintf("%064x", i+1)
			if err := archive.WriteBuild(out, key, bigReport(key), nil); err != nil {
				t.Fatal(err)
			}
		}
		runtime.GC()
		return out
	}
	measure := func(out string) uint64 {
		var err error
		p := peakHeap(func() { _, err = archive.Reindex(ctx, out) })
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	small, large := write(5), write(40)
	ps, pl := measure(small), measure(large)
	t.Logf("peak heap: 5 reports %d MB, 40 reports %d MB", ps>>20, pl>>20)
	if pl > 2*ps+32<<20 {
		t.Errorf("peak heap grows with the archive: %d MB for 5 reports, %d MB for 40", ps>>20, pl>>20)
	}
}

// TestRebuildReadsAheadInKeyOrder: a rebuild decodes reports ahead on
// several goroutines; the rows and the skipped reports still come in key
// order, and a damaged report among many neither stops nor stalls it (an
// earlier read-ahead could deadlock when a worker took a later key first).
func TestRebuildReadsAheadInKeyOrder(t *testing.T) {
	ctx := context.Background()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	out := t.TempDir()
	var damaged []string
	fixtures := []func() *reports.Report{reportstest.Regular, reportstest.TOM, reportstest.Chinese, reportstest.GMW, reportstest.Unrelated}
	for i := 0; i < 150; i++ {
		key := fmt.Sprintf("%064x", i+1)
		if err := archive.WriteBuild(out, key, fixtures[i%len(fixtures)](), nil); err != nil {
			t.Fatal(err)
		}
		if i%7 == 3 {
			if err := os.Truncate(filepath.Join(out, archive.BuildsDir, key, archive.ReportJSON), 50); err != nil {
				t.Fatal(err)
			}
			damaged = append(damaged, key)
		}
	}
	for round := 0; round < 5; round++ {
		skipped, err := archive.Reindex(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range skipped {
			got = append(got, s.Key)
		}
		if !slices.Equal(got, damaged) {
			t.Fatalf("round %d: skipped %v, want %v", round, got, damaged)
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(out, archive.IndexDB)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM builds`).Scan(&n); err != nil || n != 150-len(damaged) {
		t.Errorf("index holds %d builds (%v), want %d", n, err, 150-len(damaged))
	}
}

// TestFlushedMark: an index is trusted (Flushed) after a run that ended
// with Flush, and not after one that changed it and was killed before
// (WillChange, as a scan calls before it writes its first report).
func TestFlushedMark(t *testing.T) {
	ctx := context.Background()
	out := newArchive(t)
	reopen := func() *archive.Index {
		t.Helper()
		x, err := archive.Open(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	x := reopen()
	if !x.Flushed() {
		t.Fatal("a rebuilt index is not Flushed")
	}
	if err := x.WillChange(ctx); err != nil {
		t.Fatal(err)
	}
	x.Close() // killed: no Flush
	x = reopen()
	if x.Flushed() {
		t.Fatal("an index changed by a run without Flush is Flushed")
	}
	if err := x.Flush(ctx); err != nil { // canonicalizes: nothing was upserted, but the mark was gone
		t.Fatal(err)
	}
	x.Close()
	x = reopen()
	defer x.Close()
	if !x.Flushed() {
		t.Fatal("not Flushed after Flush")
	}
}

// TestFlushPageBeforeMark: Flush renders index.html while it makes the
// canonical copy, but a page that cannot be written keeps the copy (and
// its mark) from replacing the index: the next run does not take a stale
// page for the index's.
func TestFlushPageBeforeMark(t *testing.T) {
	for _, mode := range flushModes {
		t.Run(mode.name, func(t *testing.T) {
			defer archive.SetFlushTogetherBelow(mode.below)()
			testFlushPageBeforeMark(t)
		})
	}
}

// flushModes: Flush renders the page while it makes the canonical copy of
// a small index, reading the index through a mapping, and one after the
// other for a large one, reading it as files are read.
var flushModes = []struct {
	name  string
	below int64
}{{"side by side", 1 << 62}, {"in turn", 0}}

func testFlushPageBeforeMark(t *testing.T) {
	ctx := context.Background()
	out := newArchive(t)
	x, err := archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.WillChange(ctx); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(out, archive.IndexHTML)
	if err := os.Remove(page); err != nil {
		t.Fatal(err)
	}
	// a folder in the page's place: the rename over it fails
	if err := os.MkdirAll(filepath.Join(page, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := x.Flush(ctx); err == nil || !strings.Contains(err.Error(), archive.IndexHTML) {
		t.Fatalf("Flush with index.html unwritable: %v", err)
	}
	x.Close()
	if err := os.RemoveAll(page); err != nil {
		t.Fatal(err)
	}
	x, err = archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.Flushed() {
		t.Fatal("the index is marked canonical though its page was not written")
	}
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(page); err != nil {
		t.Fatalf("index.html after a Flush that could write it: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(out, ".tmp-*"))
	if len(matches) > 0 {
		t.Errorf("temp files left: %v", matches)
	}
}

// TestFlushUnchangedKeepsPage: a Flush with nothing changed leaves
// index.html as it is, and writes it again when it is missing.
func TestFlushUnchangedKeepsPage(t *testing.T) {
	ctx := context.Background()
	out := newArchive(t)
	page := filepath.Join(out, archive.IndexHTML)
	want, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	flush := func() {
		t.Helper()
		x, err := archive.Open(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		if err := x.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	flush()
	after, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("index.html was rewritten though nothing changed")
	}
	if err := os.Remove(page); err != nil {
		t.Fatal(err)
	}
	flush()
	got, err := os.ReadFile(page)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("missing index.html not written again as it was (%v)", err)
	}
}

// TestUpsertKeepsOnlyEqualRows: an upsert leaves rows that are already
// there and equal alone, and replaces the others: a build upserted again
// with one keyword and one match changed ends as a rebuild from its new
// report, byte for byte.
func TestUpsertKeepsOnlyEqualRows(t *testing.T) {
	ctx := context.Background()
	b, err := json.Marshal(reportstest.TOM())
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `"falun"`, `"falun-changed"`, 1)
	s = strings.Replace(s, `"TOMSkype_ContentFilter"`, `"Other_Rule"`, 1)
	if s == string(b) {
		t.Fatal("the fixture changed: nothing to mutate")
	}
	var changed reports.Report
	if err := json.Unmarshal([]byte(s), &changed); err != nil {
		t.Fatal(err)
	}

	want := t.TempDir()
	for key, r := range reportstest.All() {
		if key == reportstest.TOMKey {
			r = &changed
		}
		if err := archive.WriteBuild(want, key, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := archive.Reindex(ctx, want); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	x, err := archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	for key, r := range reportstest.All() {
		if err := x.Upsert(ctx, key, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := x.Upsert(ctx, reportstest.TOMKey, &changed); err != nil {
		t.Fatal(err)
	}
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if got, w := dump(t, out), dump(t, want); !slices.Equal(got, w) {
		t.Fatalf("index after the second upsert differs from the rebuilt one:\n%s", diffLines(got, w))
	}
	a, _ := os.ReadFile(filepath.Join(out, archive.IndexDB))
	w, _ := os.ReadFile(filepath.Join(want, archive.IndexDB))
	if !bytes.Equal(a, w) {
		t.Errorf("index.sqlite not byte-identical to the rebuilt one: %d vs %d bytes", len(a), len(w))
	}
}

// BenchmarkIndexPageHeap: the peak Go heap of writing the index page again
// (a Flush that finds nothing changed and the page removed: rank, relink
// and the page) at 100 and 10,000 builds. Built in memory, the page took
// 19 MB at 10,000 builds (the data block and its copies); written as it is
// read, 4 MB: the rows' garbage up to the collector's 4 MB minimum heap.
func BenchmarkIndexPageHeap(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			out, _ := bigArchive(b, n)
			ctx := context.Background()
			var peak uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := os.Remove(filepath.Join(out, archive.IndexHTML)); err != nil {
					b.Fatal(err)
				}
				x, err := archive.Open(ctx, out)
				if err != nil {
					b.Fatal(err)
				}
				peak = max(peak, peakHeap(func() { err = x.Flush(ctx) }))
				x.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// TestFlushInTurnSameFiles: a Flush that renders the page and then makes
// the canonical copy (a large index) leaves the same index.sqlite and
// index.html as one that does both side by side, after the same upserts
// (and the copy read through a mapping gives the same bytes).
func TestFlushInTurnSameFiles(t *testing.T) {
	ctx := context.Background()
	files := map[string]map[string][]byte{}
	for _, mode := range flushModes {
		t.Run(mode.name, func(t *testing.T) {
			defer archive.SetFlushTogetherBelow(mode.below)()
			out, x := openWithThreeBuilds(ctx, t)
			if err := x.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			files[mode.name] = map[string][]byte{}
			for _, f := range []string{archive.IndexDB, archive.IndexHTML} {
				b, err := os.ReadFile(filepath.Join(out, f))
				if err != nil {
					t.Fatal(err)
				}
				files[mode.name][f] = b
			}
			x.Close()
			// Flushed tells what Open found: the mark the Flush left
			x2, err := archive.Open(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			if !x2.Flushed() {
				t.Error("no canonical mark after Flush")
			}
			x2.Close()
		})
	}
	a, b := files[flushModes[0].name], files[flushModes[1].name]
	for f := range a {
		if !bytes.Equal(a[f], b[f]) {
			t.Errorf("%s differs between a Flush side by side and one in turn", f)
		}
	}
}

// openWithThreeBuilds opens a new archive's index and upserts three
// variants of the TOM fixture into it, without a Flush.
func openWithThreeBuilds(ctx context.Context, t *testing.T) (string, *archive.Index) {
	t.Helper()
	out := newArchive(t)
	x, err := archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		r := reportstest.Variant(reportstest.TOM(), i)
		if err := x.Upsert(ctx, r.Build.SHA256, r); err != nil {
			t.Fatal(err)
		}
	}
	return out, x
}

// TestFlushCloseAsFlush: FlushClose leaves the files Flush then Close
// leaves, with the canonical mark, closes the index (a later Close is a
// no-op), and does so too when there is nothing to flush.
func TestFlushCloseAsFlush(t *testing.T) {
	ctx := context.Background()
	files := map[bool]map[string][]byte{}
	for _, closing := range []bool{false, true} {
		out, x := openWithThreeBuilds(ctx, t)
		var err error
		if closing {
			err = x.FlushClose(ctx)
		} else {
			err = x.Flush(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Close(); err != nil {
			t.Fatalf("Close after FlushClose %v: %v", closing, err)
		}
		files[closing] = map[string][]byte{}
		for _, f := range []string{archive.IndexDB, archive.IndexHTML} {
			b, err := os.ReadFile(filepath.Join(out, f))
			if err != nil {
				t.Fatal(err)
			}
			files[closing][f] = b
		}
		// nothing changed since: FlushClose takes its early way out
		x2, err := archive.Open(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		if !x2.Flushed() {
			t.Errorf("FlushClose %v: no canonical mark", closing)
		}
		if err := x2.FlushClose(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := x2.CacheKey(ctx, "00"); err == nil {
			t.Errorf("the index answers after FlushClose")
		}
		if err := x2.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for f := range files[false] {
		if !bytes.Equal(files[false][f], files[true][f]) {
			t.Errorf("%s differs between Flush and FlushClose", f)
		}
	}
}
