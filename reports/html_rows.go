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

// item writes `<li{{if han .}} lang="zh"{{end}}>{{.}}</li>`, with open
// instead of `<li`.
func (w *rowWriter) item(open, s string) {
	w.raw(open)
	w.lang(s)
	w.raw(">")
	w.text(s)
	w.raw("</li>")
}

func (w *rowWriter) html() template.HTML { return template.HTML(w.b.String()) }

// entryItems is `{{range .}}<li{{if han .}} lang="zh"{{end}}>{{entry .}}</li>{{end}}`.
func entryItems(entries []string) template.HTML {
	var w rowWriter
	for _, e := range entries {
		w.raw("<li")
		w.lang(e)
		w.raw(">")
		w.text(ShowEntry(e))
		w.raw("</li>")
	}
	return w.html()
}

// plainItems is `{{range .}}<li{{if han .}} lang="zh"{{end}}>{{.}}</li>{{end}}`.
func plainItems(items []string) template.HTML {
	var w rowWriter
	for _, s := range items {
		w.item("<li", s)
	}
	return w.html()
}

// cellRows is `{{range .}}<tr>{{range .}}<td{{if han .}} lang="zh"{{end}}>{{.}}</td>{{end}}</tr>` and a newline.
func cellRows(rows []Row) template.HTML {
	var w rowWriter
	for _, r := range rows {
		w.raw("<tr>")
		for _, c := range r {
			w.raw("<td")
			w.lang(c)
			w.raw(">")
			w.text(c)
			w.raw("</td>")
		}
		w.raw("</tr>\n")
	}
	return w.html()
}

// monoRows is `{{range .}}<tr>{{range .}}<td class="mono">{{.}}</td>{{end}}</tr>` and a newline.
func monoRows(rows []Row) template.HTML {
	var w rowWriter
	for _, r := range rows {
		w.raw("<tr>")
		for _, c := range r {
			w.raw(`<td class="mono">`)
			w.text(c)
			w.raw("</td>")
		}
		w.raw("</tr>\n")
	}
	return w.html()
}

// treeRows are the file tree's rows, one a node.
func treeRows(nodes []NodeView) template.HTML {
	var w rowWriter
	for _, n := range nodes {
		w.raw("<tr")
		if len(n.Issues) > 0 {
			w.raw(` class="has-issue"`)
		}
		// A CSS value in an attribute: html/template's filter passes a
		// number as fmt prints it, and it holds nothing to escape.
		w.raw(`><td class="tree mono" style="padding-left:` + fmt.Sprint(indentEm(n.Depth)) + `em"`)
		w.lang(n.Name)
		w.raw(">")
		w.text(n.Name)
		if n.Extractor != "" {
			w.raw(" <small>via ")
			w.text(n.Extractor)
			w.raw("</small>")
		}
		w.raw("</td><td>")
		w.text(n.Type)
		w.raw(`</td><td class="num">` + strconv.FormatInt(n.Size, 10) + `</td><td class="mono">`)
		w.text(shortHash(n.SHA256))
		w.raw("</td>\n<td>")
		if n.DuplicateOf != "" {
			w.raw(`<div class="dup">same bytes as <span class="mono">`)
			w.text(n.DuplicateOf)
			w.raw("</span></div>")
		}
		if len(n.Matches) > 0 || len(n.Findings) > 0 || len(n.Issues) > 0 {
			w.raw(`<ul class="cell">`)
			for _, s := range n.Issues {
				w.raw(`<li class="issue">issue `)
				w.text(s)
				w.raw("</li>")
			}
			for _, s := range n.Matches {
				w.raw(`<li class="match">match `)
				w.text(s)
				w.raw("</li>")
			}
			for _, s := range n.Findings {
				w.item(`<li class="finding"`, s)
			}
			w.raw("</ul>")
		}
		w.raw("</td></tr>\n")
	}
	return w.html()
}

// topEvidenceRows are the summary's evidence rows.
func topEvidenceRows(items []EvidenceItem) template.HTML {
	var w rowWriter
	for _, it := range items {
		w.raw(`<tr><td class="num">`)
		w.text(it.Weight)
		w.raw("</td><td>")
		w.text(it.Provenance)
		if it.Also != "" {
			w.raw("<br><small>also ")
			w.text(it.Also)
			w.raw("</small>")
		}
		w.raw(`</td><td class="mono" title="`)
		w.text(it.Node)
		w.raw(`">`)
		w.text(RelNode(it.Node))
		w.raw("</td><td")
		w.lang(it.Detail)
		w.raw(">")
		w.text(it.Detail)
		w.raw(`</td><td class="num" title="`)
		w.text(it.Seen)
		w.raw(`">`)
		w.text(seenCount(it.Seen))
		w.raw("</td></tr>\n")
	}
	return w.html()
}

// allEvidenceRows are the rows of the table of all evidence.
func allEvidenceRows(items []EvidenceItem) template.HTML {
	var w rowWriter
	for _, it := range items {
		w.raw(`<tr><td class="num">`)
		w.text(it.Weight)
		w.raw("</td><td>")
		w.text(it.Provenance)
		w.raw("</td><td>")
		w.text(it.Source)
		w.raw(`</td><td class="mono">`)
		w.text(it.Node)
		w.raw("</td><td>")
		w.text(it.Seen)
		w.raw("</td><td")
		w.lang(it.Detail)
		w.raw(">")
		w.text(it.Detail)
		w.raw("</td></tr>\n")
	}
	return w.html()
}

// matchRows are the rule matches' rows.
func matchRows(matches []RuleMatch) template.HTML {
	var w rowWriter
	for _, m := range matches {
		w.raw("<tr><td><code>")
		w.text(m.Rule)
		w.raw("</code>")
		if m.Tags != "" {
			w.raw("<br><small>tags: ")
			w.text(m.Tags)
			w.raw("</small>")
		}
		w.raw(`</td><td class="mono">`)
		w.text(m.Node)
		w.raw("</td><td>")
		if m.Description != "" {
			w.text(m.Description)
		} else {
			w.raw("-")
		}
		w.raw("</td><td>")
		if len(m.Strings) > 0 {
			w.raw(`<ul class="cell mono">`)
			for _, s := range m.Strings {
				w.item("<li", s)
			}
			if m.More != 0 {
				w.raw("<li>… " + strconv.Itoa(m.More) + " more in report.json</li>")
			}
			w.raw("</ul>")
		} else {
			w.raw("-")
		}
		w.raw("</td></tr>\n")
	}
	return w.html()
}

// endpointRows are the summary's endpoint rows (orDash is the template's
// `{{or . "-"}}`).
func endpointRows(eps []Endpoint) template.HTML {
	var w rowWriter
	for _, e := range eps {
		w.raw(`<tr><td class="mono">`)
		w.text(e.Host)
		w.raw("</td><td>")
		w.text(orDash(e.Class))
		w.raw("</td><td>")
		w.text(orDash(e.Country))
		w.raw(`</td><td class="num">` + strconv.Itoa(e.Places) + "</td></tr>\n")
	}
	return w.html()
}

// endpointDetailRows are the rows of the table of all endpoints.
func endpointDetailRows(eps []Endpoint) template.HTML {
	var w rowWriter
	for _, e := range eps {
		w.raw(`<tr><td class="mono">`)
		w.text(e.Host)
		w.raw("</td><td>")
		w.text(orDash(e.Country))
		w.raw(`</td><td class="mono">`)
		w.text(e.Value)
		w.raw("</td><td>")
		w.text(e.Class)
		w.raw("</td><td>")
		w.text(e.Kind)
		w.raw("</td><td>")
		w.text(e.Encoding)
		w.raw(`</td><td class="mono">`)
		w.text(e.Node)
		w.raw(`</td><td class="num">` + strconv.Itoa(e.Places) + "</td><td>")
		w.text(e.Source)
		w.raw("</td></tr>\n")
	}
	return w.html()
}

// keywordListRows are the rows of the keyword lists' detail table.
func keywordListRows(lists []KeywordList) template.HTML {
	var w rowWriter
	for _, k := range lists {
		w.raw("<tr><td>")
		w.text(k.Name)
		w.raw(`</td><td class="num">` + strconv.Itoa(k.Count) + `</td><td class="num">` + strconv.Itoa(k.Total) +
			`</td><td class="num">` + strconv.Itoa(k.Normalized) + "</td><td>")
		w.text(k.Family)
		w.raw("</td><td>")
		w.text(k.Snapshot)
		w.raw("</td><td>")
		w.text(k.Jaccard)
		w.raw(`</td><td class="num">` + strconv.Itoa(len(k.Added)) + `</td><td class="num">` + strconv.Itoa(len(k.Removed)) + "</td><td>")
		w.text(k.Cipher)
		w.raw(`</td><td class="mono" title="`)
		w.text(k.Key)
		w.raw(`">`)
		w.text(shortHash(k.Key))
		w.raw("</td><td>")
		w.text(k.Location)
		w.raw(`</td><td class="mono" title="`)
		w.text(k.Node)
		w.raw(`">`)
		w.text(RelNode(k.Node))
		w.raw(`</td><td class="mono">`)
		w.text(shortHash(k.SHA256))
		w.raw("</td></tr>\n")
	}
	return w.html()
}

// signerRows are the Authenticode signers' rows.
func signerRows(signers []Signer) template.HTML {
	var w rowWriter
	for _, s := range signers {
		w.raw(`<tr><td class="mono">`)
		w.text(s.Node)
		w.raw("</td><td>")
		w.text(s.Signer)
		w.raw("</td><td>")
		w.text(s.Issuer)
		w.raw("</td><td>")
		w.text(s.SigningTime)
		w.raw("</td><td>" + strconv.FormatBool(s.DigestMatches) + "</td><td>")
		w.text(s.ChainTrusted)
		w.raw("</td></tr>\n")
	}
	return w.html()
}

// versionBlocks are the PEs' version-info tables.
func versionBlocks(blocks []VersionBlock) template.HTML {
	var w rowWriter
	for _, v := range blocks {
		w.raw(`<details open><summary class="mono">`)
		w.text(v.Node)
		if v.Table != "" {
			w.raw(" [")
			w.text(v.Table)
			w.raw("]")
		}
		w.raw("</summary>\n" + `<table class="kv"><tr><th>FileVersion (fixed)</th><td>`)
		w.text(v.FileVersion)
		w.raw("</td></tr><tr><th>ProductVersion (fixed)</th><td>")
		w.text(v.ProductVersion)
		w.raw("</td></tr>\n")
		for _, kv := range v.Strings {
			w.raw("<tr><th>")
			w.text(kv[0])
			w.raw("</th><td")
			w.lang(kv[1])
			w.raw(">")
			w.text(kv[1])
			w.raw("</td></tr>")
		}
		w.raw("</table></details>\n")
	}
	return w.html()
}
