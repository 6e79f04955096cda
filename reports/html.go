package reports

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"strings"
	"unicode"
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
	"indent":       func(depth int) float64 { return 0.5 + 1.2*float64(depth) },
	"han":          HasHan,
	"short": func(s string) string {
		if len(s) > 16 {
			return s[:16] + "…"
		}
		return s
	},
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

var buildPage = template.Must(template.New("build.html.tmpl").Funcs(TemplateFuncs).ParseFS(templateFS, "templates/build.html.tmpl"))

// EncodeHTML renders r as one self-contained page: inline CSS, no script, no
// external reference. html/template escapes every value by its context, so
// strings from a binary are text, never markup; Terminal first removes
// control characters and bidi overrides that would mislead a reader.
func EncodeHTML(r *Report) ([]byte, error) {
	v := NewView(r)
	v.sanitize(Terminal)
	var b bytes.Buffer
	err := buildPage.Execute(&b, struct {
		V      *View
		CSS    template.CSS
		Schema string
	}{v, CSS, r.SchemaVersion})
	if err != nil {
		return nil, fmt.Errorf("reports: render html: %w", err)
	}
	return b.Bytes(), nil
}
