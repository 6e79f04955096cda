package archive

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/tomscan/tomscan/reports"
)

//go:embed templates
var templateFS embed.FS

// indexPage is parsed on first use, not at every process start.
var indexPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("index.html.tmpl").Funcs(reports.TemplateFuncs).ParseFS(templateFS, "templates/index.html.tmpl"))
})

// The index page is one static file that works offline from file://: the
// builds are embedded as JSON in a <script type="application/json"> block
// (inert: no browser runs it; Go's encoder escapes <, > and &, so no
// string can close the block) and one inline script, allowed by its hash
// in the CSP, draws the table, the filters and the charts from it. At
// 10,000 builds the page stays under 5 MB: rows are arrays, and each
// distinct keyword list (by sha256) is embedded once.

// indexScript draws the index page from its data block.
var indexScript = mustRead("templates/index.js")

func mustRead(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return string(b)
}

// pageHead is what the page says above its data.
type pageHead struct {
	Builds     int
	Kinds      []kindCount
	CSS        template.CSS
	Script     template.JS
	ScriptHash string
	Data       template.JS // JSON, HTML-escaped by encoding/json
}

type kindCount struct {
	Kind  string
	Class string
	Count int
}

// MaxKeywordBytes caps the keyword text the index page embeds for its
// keyword filter; past it the filter says to use `tomscan query --keyword`.
const MaxKeywordBytes = 1 << 20

// indexColumns name the fields of each build row in the page's data.
var indexColumns = []string{"key", "path", "version", "verdict", "confidence", "status", "endpoints", "hosts",
	"keywords", "signer", "pe_date", "snapshot_date", "family", "lists", "issues", "page"}

// buildPage is the file of build key's folder in archive out that the
// index links: its report.html, else its report.md, else report.json, the
// record every build has (a scan with --format json writes no page).
func buildPage(out, key string) string {
	dir := reports.BuildDir(out, key)
	for _, name := range []string{ReportHTML, ReportMD} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return name
		}
	}
	return ReportJSON
}

// safeRow makes a row's strings from binaries terminal-safe (no control or
// bidi characters); the JSON encoder then escapes them for the page.
func safeRow(r BuildRow) BuildRow {
	r.Path, r.Version, r.Kind, r.Signer, r.Status = reports.Terminal(r.Path), reports.Terminal(r.Version),
		reports.Terminal(r.Kind), reports.Terminal(r.Signer), reports.Terminal(r.Status)
	hosts := make([]string, len(r.Hosts))
	for j, h := range r.Hosts {
		hosts[j] = reports.Terminal(h)
	}
	r.Hosts = hosts
	return r
}

// listRef is one keyword list of a build, as the page shows it.
type listRef struct {
	list, family, sha string
	count             int
}

// renderPage writes the archive's index page from the index, streaming:
// the builds' rows (3.4 MB of JSON at 10,000 builds) go to w as they are
// read, one row in memory at a time, instead of being built into the data
// block first. Held in memory, the block and its copies (the document, its
// string for the template, fmt's buffer that printed it) made the index
// page most of the peak memory of a one-build scan into a large archive.
// The page is the template executed with dataMark in place of the data;
// its bytes are those of executing it with the whole document, since the
// template passes a template.JS value through as it is. The queries run in
// one read transaction, so the counts written above the rows are theirs.
func renderPage(ctx context.Context, db *sql.DB, out string, w io.Writer) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("archive: index page: begin: %w", err)
	}
	defer tx.Rollback() // it only reads
	listIdx, listWords, omitted, err := pageLists(ctx, tx)
	if err != nil {
		return err
	}
	// The counts above the table are known before the rows: one grouped
	// query, checked against the rows as they are written.
	kinds, n, err := pageKinds(ctx, tx)
	if err != nil {
		return err
	}
	head := pageHead{Builds: n, CSS: reports.CSS, Script: template.JS(indexScript),
		ScriptHash: reports.ScriptHash(indexScript), Data: template.JS(dataMark)}
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
	var frame bytes.Buffer // the page without its data: some 25 kB
	if err := indexPage().ExecuteTemplate(&frame, "page", head); err != nil {
		return fmt.Errorf("archive: render index: %w", err)
	}
	before, after, ok := bytes.Cut(frame.Bytes(), []byte(dataMark))
	if !ok || bytes.Contains(after, []byte(dataMark)) {
		return fmt.Errorf("archive: render index: the data block's place is not found once in the page")
	}
	if _, err := w.Write(before); err != nil {
		return fmt.Errorf("archive: render index: %w", err)
	}
	gotKinds, gotN, err := writeIndexData(ctx, tx, out, w, listIdx, listWords, omitted)
	if err != nil {
		return fmt.Errorf("archive: index data: %w", err)
	}
	if gotN != n || !maps.Equal(gotKinds, kinds) {
		return fmt.Errorf("archive: render index: %d builds counted, %d written", n, gotN)
	}
	if _, err := w.Write(after); err != nil {
		return fmt.Errorf("archive: render index: %w", err)
	}
	return nil
}

// dataMark stands for the data block in the executed template. Wherever
// else a string could reach the page, html/template escapes its < and >,
// and NUL bytes: the mark can only come from the data's place.
const dataMark = "\x00<tomscan-index-data>\x00"

// pageLists returns the distinct keyword lists the page embeds (each
// list's words once, within MaxKeywordBytes, by list sha256; index into
// listWords), and whether some were left out for the budget. Memory grows
// with the distinct lists, not with the builds.
func pageLists(ctx context.Context, db querier) (listIdx map[string]int, listWords [][]string, omitted bool, err error) {
	listOwner := map[string][2]string{} // list sha256 -> the first build and list name holding it
	if err := eachQuery(ctx, db, `SELECT build, list, sha256 FROM build_lists ORDER BY build, rowid`, func(sc func(...any) error) error {
		var b, list, sha string
		if err := sc(&b, &list, &sha); err != nil {
			return err
		}
		if _, ok := listOwner[sha]; !ok && sha != "" {
			listOwner[sha] = [2]string{b, list}
		}
		return nil
	}); err != nil {
		return nil, nil, false, err
	}
	shas := make([]string, 0, len(listOwner))
	for sha := range listOwner {
		shas = append(shas, sha)
	}
	sort.Strings(shas)
	listIdx = map[string]int{}
	budget := MaxKeywordBytes
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
			return nil, nil, false, err
		}
		if size > budget {
			omitted = true
			continue
		}
		budget -= size
		listIdx[sha] = len(listWords)
		listWords = append(listWords, words)
	}
	return listIdx, listWords, omitted, nil
}

// pageKinds counts the builds by verdict as the page names them
// (terminal-safe, "no verdict" for none), and in all.
func pageKinds(ctx context.Context, db querier) (map[string]int, int, error) {
	kinds := map[string]int{}
	n := 0
	err := eachQuery(ctx, db, `SELECT kind, count(*) FROM builds GROUP BY kind`, func(sc func(...any) error) error {
		var k string
		var c int
		if err := sc(&k, &c); err != nil {
			return err
		}
		kinds[pageKind(k)] += c
		n += c
		return nil
	})
	return kinds, n, err
}

func pageKind(kind string) string {
	if k := reports.Terminal(kind); k != "" {
		return k
	}
	return "no verdict"
}

// writeIndexData writes the page's JSON document to w: what json.Marshal
// writes for {"builds": rows, "columns": indexColumns, "keywords_omitted":
// omitted, "lists": listWords} (keys in sorted order, each row an array,
// HTML-escaped; no builds is null, as a nil slice is), each build's row
// encoded as it is read. It returns the builds it wrote, by kind and in all.
func writeIndexData(ctx context.Context, db querier, out string, w io.Writer, listIdx map[string]int, listWords [][]string, omitted bool) (map[string]int, int, error) {
	if _, err := io.WriteString(w, `{"builds":`); err != nil {
		return nil, 0, err
	}
	kinds := map[string]int{}
	n := 0
	err := eachRow(ctx, db, func(r pageRow) error {
		b := safeRow(r.BuildRow)
		kinds[pageKind(r.Kind)]++
		family := ""
		ls := [][]any{}
		for _, l := range r.lists {
			idx := -1
			if i, ok := listIdx[l.sha]; ok {
				idx = i
			}
			if family == "" {
				family = reports.Terminal(l.family)
			}
			ls = append(ls, []any{reports.Terminal(l.list), l.count, idx})
		}
		hosts := b.Hosts
		if hosts == nil {
			hosts = []string{}
		}
		row, err := json.Marshal([]any{b.Key, b.Path, b.Version, b.Kind, b.Confidence, b.Status, b.Endpoints, hosts,
			b.Keywords, b.Signer, r.peDate, r.snapshotDate, family, ls, b.Issues, buildPage(out, b.Key)})
		if err != nil {
			return err
		}
		sep := byte(',')
		if n == 0 {
			sep = '['
		}
		n++
		if _, err := w.Write(append([]byte{sep}, row...)); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	end := "]"
	if n == 0 {
		end = "null"
	}
	if _, err := io.WriteString(w, end); err != nil {
		return nil, 0, err
	}
	for _, kv := range []struct {
		key string
		v   any
	}{{"columns", indexColumns}, {"keywords_omitted", omitted}, {"lists", listWords}} {
		v, err := json.Marshal(kv.v)
		if err != nil {
			return nil, 0, err
		}
		if _, err := fmt.Fprintf(w, `,"%s":%s`, kv.key, v); err != nil {
			return nil, 0, err
		}
	}
	if _, err := io.WriteString(w, "}"); err != nil {
		return nil, 0, err
	}
	return kinds, n, nil
}

// querier is a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// eachQuery runs q and hands each row's Scan to fn.
func eachQuery(ctx context.Context, db querier, q string, fn func(scan func(...any) error) error, args ...any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("archive: index page query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return fmt.Errorf("archive: index page row: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("archive: index page rows: %w", err)
	}
	return nil
}

// writePage renders the index page into a temp file beside path and renames
// it into place, so a reader never sees half a page.
func writePage(ctx context.Context, db *sql.DB, path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return fmt.Errorf("archive: index page temp file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	bw := bufio.NewWriter(f)
	err = renderPage(ctx, db, filepath.Dir(path), bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err != nil {
		return fmt.Errorf("archive: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("archive: rename %s: %w", path, err)
	}
	return nil
}
