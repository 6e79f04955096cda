package reports_test

import (
	"bytes"
	"sort"
	"testing"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// TestRelinkHTMLIsARender: replacing a page's links bar gives, byte for
// byte, the page EncodeHTMLLinks renders with the new links, from any links
// to any links, for every fixture report, including one whose every string
// is hostile and a report whose strings imitate the links bar itself.
func TestRelinkHTMLIsARender(t *testing.T) {
	evil := "1.0 </nav><nav class=\"links\" id=\"links\">" + reportstest.Hostile
	variants := []reports.Links{
		{},
		{Index: "../../index.html", JSON: "report.json"},
		{Index: "../../index.html", JSON: "report.json", MD: "report.md"},
		{Index: "../../index.html", JSON: "report.json", Prev: &reports.Neighbour{Href: "../a/report.html", Label: "2.0.0.1", Family: "tom-skype-en"}},
		{Index: "../../index.html", JSON: "report.json", MD: "report.md",
			Prev: &reports.Neighbour{Href: "../a/report.html", Label: evil, Family: evil},
			Next: &reports.Neighbour{Href: "../b/report.html", Label: "3.0", Family: "skype"}},
		{Next: &reports.Neighbour{Href: "../c/report.html", Label: "", Family: "joint-venture"}},
	}
	all := reportstest.All()
	imitator := reportstest.Regular()
	imitator.Build.Path = evil
	imitator.Tree.Name = evil
	all["imitator"] = imitator
	var names []string
	for name := range all {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r := all[name]
		pages := make([][]byte, len(variants))
		for i, l := range variants {
			p, err := reports.EncodeHTMLLinks(r, l)
			if err != nil {
				t.Fatal(err)
			}
			pages[i] = p
		}
		for i := range variants {
			for j, l := range variants {
				got, ok, err := reports.RelinkHTML(pages[i], l)
				if err != nil || !ok {
					t.Fatalf("%s: relink %d -> %d: ok=%v err=%v", name, i, j, ok, err)
				}
				if !bytes.Equal(got, pages[j]) {
					t.Errorf("%s: relink %d -> %d differs from a render with the new links", name, i, j)
				}
			}
		}
	}
}

// TestRelinkHTMLRefusesOtherPages: a file that is not one of EncodeHTMLLinks'
// pages (no links bar, or one never closed) is not patched.
func TestRelinkHTMLRefusesOtherPages(t *testing.T) {
	for i, page := range []string{
		"",
		"<html><body>hello</body></html>",
		`<html><body><nav class="links" id="links"><a href="x">`,
	} {
		out, ok, err := reports.RelinkHTML([]byte(page), reports.Links{Index: "i"})
		if ok || err != nil || out != nil {
			t.Errorf("page %d: got ok=%v err=%v out=%q, want a refusal", i, ok, err, out)
		}
	}
}
