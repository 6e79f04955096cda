package archive

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/timeline"
)

//go:embed templates
var templateFS embed.FS

var indexPage = template.Must(template.New("index.html.tmpl").Funcs(reports.TemplateFuncs).ParseFS(templateFS, "templates/index.html.tmpl"))

// IndexPage renders the archive's index: every build in one table, and the
// timeline plot. Strings from binaries are made terminal-safe (no control or
// bidi characters) and then escaped by html/template.
func IndexPage(rows []BuildRow) ([]byte, error) {
	kinds := map[string]int{}
	var points []timeline.Point
	safe := make([]BuildRow, len(rows))
	for i, r := range rows {
		r.Path, r.Version, r.Kind, r.Signer, r.Status = reports.Terminal(r.Path), reports.Terminal(r.Version),
			reports.Terminal(r.Kind), reports.Terminal(r.Signer), reports.Terminal(r.Status)
		hosts := make([]string, len(r.Hosts))
		for j, h := range r.Hosts {
			hosts[j] = reports.Terminal(h)
		}
		r.Hosts = hosts
		safe[i] = r
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
	}
	var b bytes.Buffer
	err := indexPage.Execute(&b, struct {
		Rows  []BuildRow
		Kinds map[string]int
		CSS   template.CSS
		SVG   template.HTML
	}{safe, kinds, reports.CSS, template.HTML(timeline.SVG(points))}) // SVG escapes its own text
	if err != nil {
		return nil, fmt.Errorf("archive: render index: %w", err)
	}
	return b.Bytes(), nil
}
