package reports

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// The build page's long tables (the file tree, the keyword lists, the
// evidence, the rule matches, the installers' and apps' tables) are written
// here in Go and handed to the page's template as template.HTML: executing
// html/template row by row (reflection for every field, an escaper call for
// every value) was most of a page's cost, and a page is rendered for every
// build a scan archives and again at every rules-only rescan. The markup is
// the template's, and so is the escaping: every value here is in text or in
// a quoted attribute, where html/template replaces the same seven bytes
// (htmlReplacements), and the one CSS value is a number it lets through as
// fmt prints it. TestRowsAsTemplate renders pages both ways, the template
// as it was kept in testdata.

// htmlReplacements is html/template's htmlReplacementTable: what its text,
// RCDATA and quoted-attribute escapers put for a byte (all of them ASCII, so
// no byte of a multi-byte UTF-8 sequence is touched, and bytes that are not
// UTF-8 pass as they are, as there).
var htmlReplacements = [256]string{
	0:    "\uFFFD",
	'"':  "&#34;",
	'&':  "&amp;",
	'\'': "&#39;",
	'+':  "&#43;",
	'<':  "&lt;",
	'>':  "&gt;",
}

// rowWriter builds one table's rows.
type rowWriter struct{ b strings.Builder }

func (w *rowWriter) raw(s string) { w.b.WriteString(s) }

// text writes s escaped for text or a quoted attribute.
func (w *rowWriter) text(s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		if r := htmlReplacements[s[i]]; r != "" {
			w.b.WriteString(s[last:i])
			w.b.WriteString(r)
			last = i + 1
		}
	}
	w.b.WriteString(s[last:])
}

// lang writes the attribute that marks Han text (the template's
// `{{if han .}} lang="zh"{{end}}`).
func (w *rowWriter) lang(s string) {
	if HasHan(s) {
		w.b.WriteString(` lang="zh"`)
	}
}

// marked writes open, the template's `{{if han .}} lang="zh"{{end}}` for
// s, ">", s escaped, then close: `marked("<li", s, "</li>")` is
// `<li{{if han .}} lang="zh"{{end}}>{{.}}</li>`.
func (w *rowWriter) marked(open, s, close string) {
	w.raw(open)
	w.lang(s)
	w.wrap(">", s, close)
}

// wrap writes open, s escaped, then close.
func (w *rowWriter) wrap(open, s, close string) {
	w.raw(open)
	w.text(s)
	w.raw(close)
}

// td writes one cell: `<td` attrs `>`, s escaped, `</td>`.
func (w *rowWriter) td(attrs, s string) {
	w.wrap("<td"+attrs+">", s, "</td>")
}

// num writes a number's cell.
func (w *rowWriter) num(n int) { w.td(` class="num"`, strconv.Itoa(n)) }

// tds writes plain cells.
func (w *rowWriter) tds(cells ...string) {
	for _, c := range cells {
		w.td("", c)
	}
}

// tdTitled writes `<td` attrs ` title="full">shown</td>`.
func (w *rowWriter) tdTitled(attrs, full, shown string) {
	w.wrap("<td"+attrs+` title="`, full, `">`)
	w.text(shown)
	w.raw("</td>")
}

func (w *rowWriter) html() template.HTML { return template.HTML(w.b.String()) }

// rowsOf writes row for every item.
func rowsOf[T any](items []T, row func(w *rowWriter, it T)) template.HTML {
	var w rowWriter
	for _, it := range items {
		row(&w, it)
	}
	return w.html()
}

// entryItems is `{{range .}}<li{{if han .}} lang="zh"{{end}}>{{entry .}}</li>{{end}}`.
func entryItems(entries []string) template.HTML {
	return rowsOf(entries, func(w *rowWriter, e string) {
		w.raw("<li")
		w.lang(e)
		w.wrap(">", ShowEntry(e), "</li>")
	})
}

// plainItems is `{{range .}}<li{{if han .}} lang="zh"{{end}}>{{.}}</li>{{end}}`.
func plainItems(items []string) template.HTML {
	return rowsOf(items, func(w *rowWriter, s string) {
		w.marked("<li", s, "</li>")
	})
}

// cellRows is `{{range .}}<tr>{{range .}}<td{{if han .}} lang="zh"{{end}}>{{.}}</td>{{end}}</tr>` and a newline.
func cellRows(rows []Row) template.HTML {
	return rowsOf(rows, func(w *rowWriter, r Row) {
		w.raw("<tr>")
		for _, c := range r {
			w.marked("<td", c, "</td>")
		}
		w.raw("</tr>\n")
	})
}

// monoRows is `{{range .}}<tr>{{range .}}<td class="mono">{{.}}</td>{{end}}</tr>` and a newline.
func monoRows(rows []Row) template.HTML {
	return rowsOf(rows, func(w *rowWriter, r Row) {
		w.raw("<tr>")
		for _, c := range r {
			w.td(` class="mono"`, c)
		}
		w.raw("</tr>\n")
	})
}

// treeRows are the file tree's rows, one a node.
func treeRows(nodes []NodeView) template.HTML {
	return rowsOf(nodes, func(w *rowWriter, n NodeView) {
		w.raw("<tr")
		if len(n.Issues) > 0 {
			w.raw(` class="has-issue"`)
		}
		// A CSS value in an attribute: html/template's filter passes a
		// number as fmt prints it, and it holds nothing to escape.
		w.marked(`><td class="tree mono" style="padding-left:`+fmt.Sprint(indentEm(n.Depth))+`em"`, n.Name, "")
		if n.Extractor != "" {
			w.wrap(" <small>via ", n.Extractor, "</small>")
		}
		w.wrap("</td><td>", n.Type, `</td><td class="num">`+strconv.FormatInt(n.Size, 10)+`</td><td class="mono">`)
		w.text(shortHash(n.SHA256))
		w.raw("</td>\n<td>")
		if n.DuplicateOf != "" {
			w.wrap(`<div class="dup">same bytes as <span class="mono">`, n.DuplicateOf, "</span></div>")
		}
		if len(n.Matches) > 0 || len(n.Findings) > 0 || len(n.Issues) > 0 {
			w.raw(`<ul class="cell">`)
			for _, s := range n.Issues {
				w.wrap(`<li class="issue">issue `, s, "</li>")
			}
			for _, s := range n.Matches {
				w.wrap(`<li class="match">match `, s, "</li>")
			}
			for _, s := range n.Findings {
				w.marked(`<li class="finding"`, s, "</li>")
			}
			w.raw("</ul>")
		}
		w.raw("</td></tr>\n")
	})
}

// topEvidenceRows are the summary's evidence rows.
func topEvidenceRows(items []EvidenceItem) template.HTML {
	return rowsOf(items, func(w *rowWriter, it EvidenceItem) {
		w.raw("<tr>")
		w.td(` class="num"`, it.Weight)
		w.raw("<td>")
		w.text(it.Provenance)
		if it.Also != "" {
			w.wrap("<br><small>also ", it.Also, "</small>")
		}
		w.raw("</td>")
		w.tdTitled(` class="mono"`, it.Node, RelNode(it.Node))
		w.marked("<td", it.Detail, "</td>")
		w.tdTitled(` class="num"`, it.Seen, seenCount(it.Seen))
		w.raw("</tr>\n")
	})
}

// allEvidenceRows are the rows of the table of all evidence.
func allEvidenceRows(items []EvidenceItem) template.HTML {
	return rowsOf(items, func(w *rowWriter, it EvidenceItem) {
		w.raw("<tr>")
		w.td(` class="num"`, it.Weight)
		w.tds(it.Provenance, it.Source)
		w.td(` class="mono"`, it.Node)
		w.tds(it.Seen)
		w.marked("<td", it.Detail, "</td>")
		w.raw("</tr>\n")
	})
}

// matchRows are the rule matches' rows.
func matchRows(matches []RuleMatch) template.HTML {
	return rowsOf(matches, func(w *rowWriter, m RuleMatch) {
		w.wrap("<tr><td><code>", m.Rule, "</code>")
		if m.Tags != "" {
			w.wrap("<br><small>tags: ", m.Tags, "</small>")
		}
		w.wrap(`</td><td class="mono">`, m.Node, "</td><td>")
		w.wrap("", orDash(m.Description), "</td><td>")
		if len(m.Strings) > 0 {
			w.raw(`<ul class="cell mono">`)
			for _, s := range m.Strings {
				w.marked("<li", s, "</li>")
			}
			if m.More != 0 {
				w.raw("<li>… " + strconv.Itoa(m.More) + " more in report.json</li>")
			}
			w.raw("</ul>")
		} else {
			w.raw("-")
		}
		w.raw("</td></tr>\n")
	})
}

// endpointRows are the summary's endpoint rows (orDash is the template's
// `{{or . "-"}}`).
func endpointRows(eps []Endpoint) template.HTML {
	return rowsOf(eps, func(w *rowWriter, e Endpoint) {
		w.raw("<tr>")
		w.td(` class="mono"`, e.Host)
		w.tds(orDash(e.Class), orDash(e.Country))
		w.num(e.Places)
		w.raw("</tr>\n")
	})
}

// endpointDetailRows are the rows of the table of all endpoints.
func endpointDetailRows(eps []Endpoint) template.HTML {
	return rowsOf(eps, func(w *rowWriter, e Endpoint) {
		w.raw("<tr>")
		w.td(` class="mono"`, e.Host)
		w.tds(orDash(e.Country))
		w.td(` class="mono"`, e.Value)
		w.tds(e.Class, e.Kind, e.Encoding)
		w.td(` class="mono"`, e.Node)
		w.num(e.Places)
		w.tds(e.Source)
		w.raw("</tr>\n")
	})
}

// keywordListRows are the rows of the keyword lists' detail table.
func keywordListRows(lists []KeywordList) template.HTML {
	return rowsOf(lists, func(w *rowWriter, k KeywordList) {
		w.raw("<tr>")
		w.tds(k.Name)
		w.num(k.Count)
		w.num(k.Total)
		w.num(k.Normalized)
		w.tds(k.Family, k.Snapshot, k.Jaccard)
		w.num(len(k.Added))
		w.num(len(k.Removed))
		w.tds(k.Cipher)
		w.tdTitled(` class="mono"`, k.Key, shortHash(k.Key))
		w.tds(k.Location)
		w.tdTitled(` class="mono"`, k.Node, RelNode(k.Node))
		w.td(` class="mono"`, shortHash(k.SHA256))
		w.raw("</tr>\n")
	})
}

// signerRows are the Authenticode signers' rows.
func signerRows(signers []Signer) template.HTML {
	return rowsOf(signers, func(w *rowWriter, s Signer) {
		w.raw("<tr>")
		w.td(` class="mono"`, s.Node)
		w.tds(s.Signer, s.Issuer, s.SigningTime, strconv.FormatBool(s.DigestMatches), s.ChainTrusted)
		w.raw("</tr>\n")
	})
}

// versionBlocks are the PEs' version-info tables.
func versionBlocks(blocks []VersionBlock) template.HTML {
	return rowsOf(blocks, func(w *rowWriter, v VersionBlock) {
		w.raw(`<details open><summary class="mono">`)
		w.text(v.Node)
		if v.Table != "" {
			w.wrap(" [", v.Table, "]")
		}
		w.wrap("</summary>\n"+`<table class="kv"><tr><th>FileVersion (fixed)</th><td>`, v.FileVersion, "</td></tr><tr><th>ProductVersion (fixed)</th><td>")
		w.text(v.ProductVersion)
		w.raw("</td></tr>\n")
		for _, kv := range v.Strings {
			w.wrap("<tr><th>", kv[0], "</th>")
			w.marked("<td", kv[1], "</td></tr>")
		}
		w.raw("</table></details>\n")
	})
}
