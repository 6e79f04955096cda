package archive

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// pageIndex is an index of about n builds (the fixtures, cloned in SQL,
// as bigArchive makes them), ranked and relinked by a Flush, with a few
// list names no JSON round trip would give back (invalid UTF-8, control
// characters, the separators of eachRow's list encoding); open for reading.
func pageIndex(t testing.TB, n int) *sql.DB {
	t.Helper()
	out := t.TempDir()
	ctx := context.Background()
	for key, r := range reportstest.All() {
		if err := WriteBuild(out, key, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	x, err := Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	x.Close()
	if n > 0 {
		if _, err := CloneBuilds(ctx, out, n); err != nil {
			t.Fatal(err)
		}
	}
	db, err := openRW(ctx, filepath.Join(out, IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{
		`UPDATE build_lists SET list = CAST(X'6C69FF7374' AS TEXT) || ',;' || char(7) WHERE rowid % 3 = 0`,
		`UPDATE build_lists SET family = CAST(X'C0AF' AS TEXT) || char(0x202E) WHERE rowid % 5 = 0`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := rank(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := relink(ctx, db, out, false); err != nil {
		t.Fatal(err)
	}
	return db
}

// The streamed page has the bytes the page had when it was built in
// memory, with many builds, odd list names, and none at all.
func TestIndexPageBytesUnchanged(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 2000} {
		db := pageIndex(t, n)
		if n == 0 {
			if _, err := db.ExecContext(ctx, `DELETE FROM builds`); err != nil {
				t.Fatal(err)
			}
		}
		var got, want bytes.Buffer
		if err := renderPage(ctx, db, t.TempDir(), &got); err != nil {
			t.Fatal(err)
		}
		if err := referencePage(ctx, db, t.TempDir(), &want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			g, w := got.String(), want.String()
			i := 0
			for i < len(g) && i < len(w) && g[i] == w[i] {
				i++
			}
			t.Errorf("%d builds: the page differs at byte %d of %d (want %d):\ngot  %q\nwant %q", n, i, len(g), len(w),
				g[max(0, i-80):min(len(g), i+80)], w[max(0, i-80):min(len(w), i+80)])
		}
		if n > 0 && !strings.Contains(got.String(), "li\uFFFDst,;\\\\a") {
			t.Errorf("%d builds: the odd list name is not in the page", n)
		}
	}
}

// writeSizes records the largest write it is given.
type writeSizes struct {
	largest, total int
}

func (w *writeSizes) Write(p []byte) (int, error) {
	w.largest = max(w.largest, len(p))
	w.total += len(p)
	return len(p), nil
}

// The index page goes to its writer row by row: no write holds the data
// block (at 10,000 builds, 3.4 MB built in memory and copied three times
// before it was written, most of a one-build scan's peak memory).
func TestIndexPageStreams(t *testing.T) {
	db := pageIndex(t, 3000)
	var w writeSizes
	if err := renderPage(context.Background(), db, t.TempDir(), &w); err != nil {
		t.Fatal(err)
	}
	if w.total < 1<<20 {
		t.Fatalf("the page of 3,000 builds is %d bytes: too small to tell", w.total)
	}
	if w.largest > 64<<10 {
		t.Errorf("a write of %d bytes (page %d bytes): the page is built in memory, not streamed", w.largest, w.total)
	}
}

// Flush ranks and relinks with the bounded page cache (see
// wholeIndexCacheKiB): here, a Flush that finds nothing changed and keeps
// its connection.
func TestFlushBoundsCache(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	for key, r := range reportstest.All() {
		if err := WriteBuild(out, key, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	x, err := Open(ctx, out) // rebuilt from the reports: canonical
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var kib int
	if err := x.db.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&kib); err != nil {
		t.Fatal(err)
	}
	if kib != -wholeIndexCacheKiB {
		t.Errorf("cache_size %d after Flush, want %d", kib, -wholeIndexCacheKiB)
	}
}

// referencePage is renderPage as it was before it streamed (session 6),
// kept as the reference for the page's bytes: every build's row encoded
// into one buffer, the dates and lists of every build in maps.
func referencePage(ctx context.Context, db *sql.DB, out string, w io.Writer) error {
	meta := map[string][2]string{}
	if err := eachQuery(ctx, db, `SELECT sha256, pe_date, snapshot_date FROM build_meta`, func(sc func(...any) error) error {
		var k, d, src string
		if err := sc(&k, &d, &src); err != nil {
			return err
		}
		meta[k] = [2]string{d, src}
		return nil
	}); err != nil {
		return err
	}
	type listRef struct {
		list, family, snapshot, sha string
		count                       int
	}
	lists := map[string][]listRef{}
	listOwner := map[string][2]string{} // list sha256 -> a build and list name holding it
	if err := eachQuery(ctx, db, `SELECT build, list, family, snapshot, sha256, count FROM build_lists ORDER BY build, rowid`, func(sc func(...any) error) error {
		var b string
		var l listRef
		if err := sc(&b, &l.list, &l.family, &l.snapshot, &l.sha, &l.count); err != nil {
			return err
		}
		lists[b] = append(lists[b], l)
		if _, ok := listOwner[l.sha]; !ok && l.sha != "" {
			listOwner[l.sha] = [2]string{b, l.list}
		}
		return nil
	}); err != nil {
		return err
	}
	// each distinct list's keywords, once, within the budget
	shas := make([]string, 0, len(listOwner))
	for sha := range listOwner {
		shas = append(shas, sha)
	}
	sort.Strings(shas)
	listIdx := map[string]int{}
	var listWords [][]string
	budget, omitted := MaxKeywordBytes, false
	for _, sha := range shas {
		var words []string
		size := 0
		o := listOwner[sha]
		if err := eachQuery(ctx, db, `SELECT keyword FROM keywords WHERE build = ? AND list = ? ORDER BY position`, func(sc func(...any) error) error {
			var k string
			if err := sc(&k); err != nil {
				return err
			}
			k = reports.Terminal(k)
			words = append(words, k)
			size += len(k) + 3
			return nil
		}, o[0], o[1]); err != nil {
			return err
		}
		if size > budget {
			omitted = true
			continue
		}
		budget -= size
		listIdx[sha] = len(listWords)
		listWords = append(listWords, words)
	}

	kinds := map[string]int{}
	// Each build's row is encoded as it is read: at 10,000 builds the rows
	// as Go values were most of a one-build scan's heap. The bytes are
	// those json.Marshal gives for the whole document (keys in sorted
	// order, each row an array, HTML-escaped).
	var rowsJSON bytes.Buffer
	nrows := 0
	err := eachRow(ctx, db, func(pr pageRow) error {
		r := safeRow(pr.BuildRow)
		k := r.Kind
		if k == "" {
			k = "no verdict"
		}
		kinds[k]++
		family := ""
		var ls [][]any
		for _, l := range lists[r.Key] {
			idx := -1
			if i, ok := listIdx[l.sha]; ok {
				idx = i
			}
			if family == "" {
				family = reports.Terminal(l.family)
			}
			ls = append(ls, []any{reports.Terminal(l.list), l.count, idx})
		}
		m := meta[r.Key]
		hosts := r.Hosts
		if hosts == nil {
			hosts = []string{}
		}
		if ls == nil {
			ls = [][]any{}
		}
		row, err := json.Marshal([]any{r.Key, r.Path, r.Version, r.Kind, r.Confidence, r.Status, r.Endpoints, hosts,
			r.Keywords, r.Signer, m[0], m[1], family, ls, r.Issues, buildPage(out, r.Key)})
		if err != nil {
			return err
		}
		if nrows > 0 {
			rowsJSON.WriteByte(',')
		}
		rowsJSON.Write(row)
		nrows++
		return nil
	})
	if err != nil {
		return err
	}
	data, err := referenceData(rowsJSON.Bytes(), nrows, listWords, omitted)
	if err != nil {
		return fmt.Errorf("archive: index data: %w", err)
	}
	rowsJSON = bytes.Buffer{}
	head := pageHead{Builds: nrows, CSS: reports.CSS, Script: template.JS(indexScript),
		ScriptHash: reports.ScriptHash(indexScript), Data: template.JS(data)}
	for k, c := range kinds {
		cls := reports.VerdictClass(k)
		if k == "no verdict" {
			cls = "none"
		}
		head.Kinds = append(head.Kinds, kindCount{k, cls, c})
	}
	sort.Slice(head.Kinds, func(i, j int) bool {
		if head.Kinds[i].Count != head.Kinds[j].Count {
			return head.Kinds[i].Count > head.Kinds[j].Count
		}
		return head.Kinds[i].Kind < head.Kinds[j].Kind
	})
	if err := indexPage().ExecuteTemplate(w, "page", head); err != nil {
		return fmt.Errorf("archive: render index: %w", err)
	}
	return nil
}

// indexData is the page's JSON document: what json.Marshal writes for
// {"builds": rows, "columns": indexColumns, "keywords_omitted": omitted,
// "lists": listWords}, with the rows already encoded (rows: n arrays joined
// by commas; none is null, as a nil slice is).
func referenceData(rows []byte, n int, listWords [][]string, omitted bool) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(rows) + 1024)
	b.WriteString(`{"builds":`)
	if n == 0 {
		b.WriteString("null")
	} else {
		b.WriteByte('[')
		b.Write(rows)
		b.WriteByte(']')
	}
	for _, kv := range []struct {
		key string
		v   any
	}{{"columns", indexColumns}, {"keywords_omitted", omitted}, {"lists", listWords}} {
		v, err := json.Marshal(kv.v)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, `,"%s":`, kv.key)
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
