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
	"os"
	"path/filepath"
	"sort"

	"github.com/tomscan/tomscan/reports"
)

//go:embed templates
var templateFS embed.FS

var indexPage = template.Must(template.New("index.html.tmpl").Funcs(reports.TemplateFuncs).ParseFS(templateFS, "templates/index.html.tmpl"))

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
	"keywords", "signer", "pe_date", "snapshot_date", "family", "lists", "issues"}

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

type listRef struct {
	list, family, snapshot, sha string
	count                       int
}

// renderPage writes the archive's index page from the index.
func renderPage(ctx context.Context, db *sql.DB, w io.Writer) error {
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
	err := eachRow(ctx, db, func(r BuildRow) error {
		r = safeRow(r)
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
			r.Keywords, r.Signer, m[0], m[1], family, ls, r.Issues})
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
	data, err := indexData(rowsJSON.Bytes(), nrows, listWords, omitted)
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
	if err := indexPage.ExecuteTemplate(w, "page", head); err != nil {
		return fmt.Errorf("archive: render index: %w", err)
	}
	return nil
}

// indexData is the page's JSON document: what json.Marshal writes for
// {"builds": rows, "columns": indexColumns, "keywords_omitted": omitted,
// "lists": listWords}, with the rows already encoded (rows: n arrays joined
// by commas; none is null, as a nil slice is).
func indexData(rows []byte, n int, listWords [][]string, omitted bool) ([]byte, error) {
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

// eachQuery runs q and hands each row's Scan to fn.
func eachQuery(ctx context.Context, db *sql.DB, q string, fn func(scan func(...any) error) error, args ...any) error {
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
	err = renderPage(ctx, db, bw)
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
