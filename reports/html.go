package reports

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"
	"sync"
	"unicode"

	"github.com/tomscan/tomscan/internal/artifact"
)

//go:embed templates
var templateFS embed.FS

// CSS is the style sheet every page inlines, so pages work offline and from
// a file:// URL with no other file next to them.
var CSS = template.CSS(mustRead("templates/style.css"))

func mustRead(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot be missing
	}
	return string(b)
}

// TemplateFuncs are the helpers the pages' templates share.
var TemplateFuncs = template.FuncMap{
	"entry":        ShowEntry,
	"verdictClass": VerdictClass,
	"han":          HasHan,
	"short":        shortHash,
	// The build page's long tables (html_rows.go).
	"entryItems":         entryItems,
	"plainItems":         plainItems,
	"cellRows":           cellRows,
	"monoRows":           monoRows,
	"treeRows":           treeRows,
	"topEvidenceRows":    topEvidenceRows,
	"allEvidenceRows":    allEvidenceRows,
	"matchRows":          matchRows,
	"endpointRows":       endpointRows,
	"endpointDetailRows": endpointDetailRows,
	"keywordListRows":    keywordListRows,
	"signerRows":         signerRows,
	"versionBlocks":      versionBlocks,
}

// indentEm is a tree row's indent, in em, for its depth.
func indentEm(depth int) float64 { return 0.5 + 1.2*float64(depth) }

// shortHash shortens a digest for a table cell.
func shortHash(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// RelNode is a node id below the build file ("setup.exe!a.cab!Skype.exe"
// reads "a.cab!Skype.exe"), for tables where every row is in one build;
// the build file itself reads "(build file)".
func RelNode(id string) string {
	if _, rest, ok := strings.Cut(id, artifact.PathSeparator); ok {
		return rest
	}
	if id == "" {
		return ""
	}
	return "(build file)"
}

// seenCount is the count an evidence "seen" cell starts with ("11 (first
// at ...)" -> "×11").
func seenCount(seen string) string {
	n, _, _ := strings.Cut(seen, " ")
	return "×" + n
}

// HasHan tells whether s holds a Han character: such text is marked
// lang="zh" so the browser picks a CJK font for it (and a Chinese one, not
// a Japanese one, for the characters both share).
func HasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// VerdictClass is the CSS class that colours a verdict.
func VerdictClass(kind string) string {
	switch {
	case strings.HasPrefix(kind, "tom-skype"):
		return "tom"
	case kind == "regular-skype":
		return "regular"
	case kind == "post-tom-joint-venture":
		return "jv"
	}
	return "none"
}

// SortScript sorts a table.sortable by a click on a th[data-sort]. It is
// the one script of a build page, inlined, and the page's CSP allows it by
// its hash (ScriptHash) and nothing else.
var SortScript = mustRead("templates/sort.js")

// WithoutOwnScript removes the page's own script (SortScript, once) from a
// rendered page, so a test can check that nothing else is script.
func WithoutOwnScript(page []byte) []byte {
	return bytes.Replace(page, []byte("<script>"+SortScript+"</script>"), nil, 1)
}

// ScriptHash is the CSP source that allows exactly script s inline.
func ScriptHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// Links are the page's links to the rest of the archive, relative to the
// page's folder: set when the page is written into an archive
// (reports/archive), empty for a page rendered alone.
type Links struct {
	Index, JSON, MD string
	Prev, Next      *Neighbour
}

// Neighbour is the previous or next build of the same family by version.
type Neighbour struct {
	Href   string // relative URL of its report.html
	Label  string // its version
	Family string // the verdict the two builds share
}

// buildPage is parsed on first use, not at every process start (a
// scan's parent never renders a build page).
var buildPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("build.html.tmpl").Funcs(TemplateFuncs).ParseFS(templateFS, "templates/build.html.tmpl"))
})

// EncodeHTML renders r as one self-contained page: inline CSS, one inline
// script allowed by its hash (table sorting), no external reference. html/template escapes every value by its context, so
// strings from a binary are text, never markup; Terminal first removes
// control characters and bidi overrides that would mislead a reader.
func EncodeHTML(r *Report) ([]byte, error) { return EncodeHTMLLinks(r, Links{}) }

// EncodeHTMLLinks is EncodeHTML with links to the archive around the page.
// The hrefs are the caller's (paths it computed), never a report's strings.
func EncodeHTMLLinks(r *Report, l Links) ([]byte, error) {
	return EncodeHTMLView(NewView(r), r.SchemaVersion, l)
}

// EncodeHTMLView is EncodeHTMLLinks from r's view (NewView) and schema
// version, for a caller that derives other things from the same view. It
// makes v's strings safe for a terminal in place: render the page last.
func EncodeHTMLView(v *View, schema string, l Links) ([]byte, error) {
	v.sanitize(Terminal)
	return renderBuildPage(buildPage(), v, schema, l)
}

// renderBuildPage executes page (the build page's template) over v.
func renderBuildPage(page *template.Template, v *View, schema string, l Links) ([]byte, error) {
	var b bytes.Buffer
	err := page.Execute(&b, struct {
		V          *View
		L          Links
		CSS        template.CSS
		Schema     string
		Script     template.JS
		ScriptHash string
	}{v, l.sanitized(), CSS, schema, template.JS(SortScript), ScriptHash(SortScript)})
	if err != nil {
		return nil, fmt.Errorf("reports: render html: %w", err)
	}
	return b.Bytes(), nil
}

// sanitized is l with its neighbours' labels made safe for a terminal, as
// every string shown on the page is (a version comes from a binary).
func (l Links) sanitized() Links {
	if l.Prev != nil {
		p := *l.Prev
		p.Label, p.Family = Terminal(p.Label), Terminal(p.Family)
		l.Prev = &p
	}
	if l.Next != nil {
		n := *l.Next
		n.Label, n.Family = Terminal(n.Label), Terminal(n.Family)
		l.Next = &n
	}
	return l
}

// linksOpen and linksClose delimit the links bar of a page made by
// EncodeHTMLLinks. The bar is the first <nav> of the body: everything before
// it is template text or escaped by html/template (a report's string cannot
// put a raw "<" there), and inside it the only element that closes is
// </nav>.
var linksOpen, linksClose = []byte(`<nav class="links" id="links">`), []byte(`</nav>`)

// RelinkHTML returns page, a page EncodeHTMLLinks made, with its links bar
// replaced by l's: the same bytes EncodeHTMLLinks(r, l) gives for the page's
// report, without decoding the report again or rendering the rest. When
// the archive's ranking moves a build's neighbours, this is all that changes
// on its page (and a first scan rendered every page twice to add them).
// ok is false when page has no links bar where EncodeHTMLLinks puts it (not
// one of its pages); the caller renders it from the report then.
func RelinkHTML(page []byte, l Links) (out []byte, ok bool, err error) {
	start := bytes.Index(page, linksOpen)
	if start < 0 {
		return nil, false, nil
	}
	end := bytes.Index(page[start:], linksClose)
	if end < 0 {
		return nil, false, nil
	}
	end += start + len(linksClose)
	var b bytes.Buffer
	b.Grow(len(page) + 256)
	b.Write(page[:start])
	if err := buildPage().ExecuteTemplate(&b, "links", l.sanitized()); err != nil {
		return nil, false, fmt.Errorf("reports: render links: %w", err)
	}
	b.Write(page[end:])
	return b.Bytes(), true, nil
}
