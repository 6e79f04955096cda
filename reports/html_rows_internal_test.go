package reports

import (
	"bytes"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// referencePage is the build page's template as it was before its long
// tables were written in Go (html_rows.go): every row by html/template,
// with the helpers its rows called then.
var referencePage = template.Must(template.New("build.reference.html.tmpl").Funcs(TemplateFuncs).
	Funcs(template.FuncMap{"indent": indentEm, "rel": RelNode, "seenCount": seenCount}).
	ParseFiles("testdata/build.reference.html.tmpl"))

// checkAsTemplate renders v with the page and with the reference template
// and fails on the first byte they differ at.
func checkAsTemplate(t *testing.T, name string, v *View, l Links) {
	t.Helper()
	got, err := renderBuildPage(buildPage(), v, "test-schema", l)
	if err != nil {
		t.Fatal(err)
	}
	want, err := renderBuildPage(referencePage, v, "test-schema", l)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: the page differs from the template's at byte %d:\n got %q\nwant %q", name, i, clip(got[i:]), clip(want[i:]))
	}
}

func clip(b []byte) []byte { return b[:min(len(b), 160)] }

// TestRowsAsTemplate: the build page of every golden report, made safe for
// a terminal as EncodeHTMLView makes it and as it is, with and without
// archive links, is byte for byte what the template renders with every row.
func TestRowsAsTemplate(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.report.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden reports: %v", err)
	}
	links := Links{Index: "../../index.html", JSON: "report.json", MD: "report.md",
		Prev: &Neighbour{Href: "../a/report.html", Label: "1.0", Family: "tom-skype"}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := DecodeJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		checkAsTemplate(t, f+" (raw)", NewView(r), Links{})
		v := NewView(r)
		v.sanitize(Terminal)
		checkAsTemplate(t, f, v, links)
	}
}

// FuzzRowsAsTemplate: strings from a binary in every cell of every table
// the page writes in Go (the tree, keyword lists, evidence, rule matches,
// endpoints, signers, version info, installer, TOM and app tables) render
// as the template renders them.
func FuzzRowsAsTemplate(f *testing.F) {
	f.Add("Skype.exe", "关键词", 3, int64(1234), "<b>&amp;'\"+</b>")
	f.Add("\x00\xff\xfe bad utf-8 \xe4\xb8", " padded ", 0, int64(-1), "a+b=c")
	f.Add("", "", 16, int64(0), "")
	f.Fuzz(func(t *testing.T, a, b string, depth int, size int64, c string) {
		depth = depth % 40
		node := NodeView{ID: a, Name: a, Depth: depth, Type: b, Size: size, SHA256: c + a, Extractor: c, DuplicateOf: b,
			Matches: []string{a}, Findings: []string{b, c}, Issues: []string{c}}
		bare := NodeView{Name: b, Depth: -depth}
		item := EvidenceItem{Weight: a, Provenance: b, Also: c, Source: a, Node: b + "!" + c, Seen: c + " (first at 0x10)", Detail: a + b}
		v := &View{
			Path: a, Verdict: b, Nodes: []NodeView{node, bare},
			TopItems: []EvidenceItem{item, {}}, AllItems: []EvidenceItem{item, {Detail: b}},
			KeywordLists: []KeywordList{{Name: a, Keywords: []string{a, b, c}, Added: []string{c}, Removed: []string{" " + a}, Duplicates: []string{b + " ×2"}},
				{Name: b}},
			Matches:    []RuleMatch{{Rule: a, Node: b, Description: c, Tags: a, Strings: []string{b, c}, More: depth - 5}, {Rule: b}},
			Installers: []InstallerView{{Node: a, Format: b, Tables: []Section{{Name: c, Columns: []string{a}, Rows: []Row{{a, b}, {c}}}}}},
			TOMExtra:   []Section{{Name: a, Columns: []string{b}, Rows: []Row{{b, c}}}},
			Apps:       []Section{{Name: c, Columns: []string{a}, Rows: []Row{{a, strings.Repeat(b, 2)}}}},
			Endpoints:  []Endpoint{{Value: a, Kind: b, Host: c, Class: a, Country: b, Encoding: c, Node: a, Places: depth, Source: b}, {Host: a}},
			Signers:    []Signer{{Node: a, Signer: b, Issuer: c, SigningTime: a, DigestMatches: depth%2 == 0, ChainTrusted: b}},
			Versions: []VersionBlock{{Node: a, FileVersion: b, ProductVersion: c, Table: a, Strings: [][2]string{{a, b}, {c, a}}},
				{Node: b}},
		}
		v.KeywordLists[0].Family, v.KeywordLists[0].Snapshot, v.KeywordLists[0].Jaccard = a, b, c
		v.KeywordLists[0].Cipher, v.KeywordLists[0].Key, v.KeywordLists[0].Location = b, c+a, a
		v.KeywordLists[0].Node, v.KeywordLists[0].SHA256 = c+"!"+a, b+c
		v.KeywordLists[0].Count, v.KeywordLists[0].Total, v.KeywordLists[0].Normalized = depth, int(size%1000), -depth
		checkAsTemplate(t, "fuzz", v, Links{})
	})
}
