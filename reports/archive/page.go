package archive

import (
	"bufio"
	"context"
	"database/sql"
	"embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/timeline"
)

//go:embed templates
var templateFS embed.FS

var indexPage = template.Must(template.New("index.html.tmpl").Funcs(reports.TemplateFuncs).ParseFS(templateFS, "templates/index.html.tmpl"))

// pageHead is what the page says above the table of builds.
type pageHead struct {
	Builds int
	Kinds  []kindCount
	CSS    template.CSS
	SVG    template.HTML
}

type kindCount struct {
	Kind  string
	Count int
}

// safeRow makes a row's strings from binaries terminal-safe (no control or
// bidi characters); html/template then escapes them.
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

// renderPage writes the archive's index page: every build in one table, and
// the timeline plot. The builds are read from the index twice, one row at a
// time: once for the plot's points (a label and two counts each), once for
// the table, which is written as it is read.
func renderPage(ctx context.Context, db *sql.DB, w io.Writer) error {
	kinds := map[string]int{}
	var points []timeline.Point
	n := 0
	err := eachRow(ctx, db, func(r BuildRow) error {
		r = safeRow(r)
		n++
		k := r.Kind
		if k == "" {
			k = "no verdict"
		}
		kinds[k]++
		label := r.Version
		if label == "" {
			label = r.Key[:min(12, len(r.Key))]
		}
		points = append(points, timeline.Point{Label: label, Title: r.Path, Keywords: r.Keywords, Endpoints: r.Endpoints})
		return nil
	})
	if err != nil {
		return err
	}
	head := pageHead{Builds: n, CSS: reports.CSS, SVG: template.HTML(timeline.SVG(points))} // SVG escapes its own text
	points = nil
	for k, c := range kinds {
		head.Kinds = append(head.Kinds, kindCount{k, c})
	}
	sort.Slice(head.Kinds, func(i, j int) bool { return head.Kinds[i].Kind < head.Kinds[j].Kind })
	if err := indexPage.ExecuteTemplate(w, "head", head); err != nil {
		return fmt.Errorf("archive: render index: %w", err)
	}
	err = eachRow(ctx, db, func(r BuildRow) error {
		if err := indexPage.ExecuteTemplate(w, "row", safeRow(r)); err != nil {
			return fmt.Errorf("archive: render index row %s: %w", r.Key, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := indexPage.ExecuteTemplate(w, "foot", nil); err != nil {
		return fmt.Errorf("archive: render index: %w", err)
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
