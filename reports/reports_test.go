package reports_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/pe"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/reportstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports/... -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; rerun with -update if the change is intended\n--- got (first 600 bytes)\n%s", name, got[:min(600, len(got))])
	}
}

func TestGolden(t *testing.T) {
	for name, mk := range map[string]func() *reports.Report{
		"regular": reportstest.Regular, "tom": reportstest.TOM, "hostile": reportstest.HostileBuild,
		"tom-chinese": reportstest.Chinese, "joint-venture": reportstest.GMW, "unrelated": reportstest.Unrelated,
		"failed": reportstest.Failed,
	} {
		t.Run(name, func(t *testing.T) {
			r := mk()
			js, err := reports.EncodeJSON(r)
			if err != nil {
				t.Fatal(err)
			}
			h, err := reports.EncodeHTML(r)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".report.json", js)
			golden(t, name+".report.md", reports.EncodeMarkdown(r))
			golden(t, name+".report.html", h)

			// Reproducible: a second rendering and a rendering of the
			// reloaded JSON are byte-identical to the first.
			h2, _ := reports.EncodeHTML(mk())
			if !bytes.Equal(h, h2) {
				t.Error("two renderings of the same report differ")
			}
			back, err := reports.DecodeJSON(js)
			if err != nil {
				t.Fatal(err)
			}
			h3, _ := reports.EncodeHTML(back)
			if !bytes.Equal(h, h3) {
				t.Error("HTML rendered from the reloaded JSON differs")
			}
			if !bytes.Equal(reports.EncodeMarkdown(r), reports.EncodeMarkdown(back)) {
				t.Error("Markdown rendered from the reloaded JSON differs")
			}
			js2, _ := reports.EncodeJSON(back)
			back2, err := reports.DecodeJSON(js2)
			if err != nil {
				t.Fatal(err)
			}
			if h4, _ := reports.EncodeHTML(back2); !bytes.Equal(h, h4) {
				t.Error("HTML after a JSON round trip of a loaded report differs")
			}
		})
	}
}

func TestPageContent(t *testing.T) {
	r := reportstest.TOM()
	h, err := reports.EncodeHTML(r)
	if err != nil {
		t.Fatal(err)
	}
	md := reports.EncodeMarkdown(r)
	page := string(h)
	for _, want := range []string{
		`id="verdict"`, "tom-skype-english", `id="endpoints"`, "skypetools.tom.com", "220.181.9.132", ">CN<",
		`<details class="kw-all"><summary>keyfile: 5 keywords</summary>`, "法轮功", "TOMSkype_Endpoint_Agent", "3.8.0.188",
		// provenance, weight and collapsed evidence; the closest snapshot's added and removed entries,
		// the trailing-space entry visible and distinct
		"<td>pe-version-info</td>", `<td class="num">0.60</td>`, "7 (first at 0xfa0, 0x1004,", `id="reason"`,
		"keyfile: 1 added against the snapshot", `<li lang="zh">&#34;x卧底下载 &#34;</li>`, `<li lang="zh">x卧底下载</li>`,
		"keyfile: 1 removed against the snapshot", `<li lang="zh">达赖</li>`, "六四 ×2",
		// identity, the confidence's meaning, rule matches as yara -s shows them
		`<th>product</th><td>TOM-Skype</td>`, "strong: several independent kinds", "0x1000:$agent: http://skypetools.tom.com/agent/keyfile",
		"category: endpoint", `<nav class="toc" id="toc">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	// the first screen: verdict, endpoints and keyword lists (short), the
	// top evidence; then the sections, the tree among them
	order := []string{`id="verdict"`, `id="endpoints"`, `id="keyword-lists"`, `id="evidence"`, `id="toc"`, `id="tree"`}
	last := -1
	for _, id := range order {
		i := strings.Index(page, id)
		if i < last {
			t.Errorf("%s comes before the section above it", id)
		}
		last = i
	}
	if regexp.MustCompile(`(?i)<(script|link|img|iframe)\b|src=|href="http`).MatchString(string(reports.WithoutOwnScript(h))) {
		t.Error("a build page must be self-contained: no script but its own, no external reference")
	}
	if !strings.Contains(page, "script-src '"+reports.ScriptHash(reports.SortScript)+"'") || strings.Contains(page, "unsafe-inline'; img") && strings.Contains(page, "script-src 'unsafe-inline") {
		t.Error("the CSP must allow the page's script by its hash, and nothing else")
	}
	for _, want := range []string{"**Verdict: tom-skype-english**", "| skypetools.tom.com | - |", "keyfile: 5 keywords",
		"| 0.60 | pe-version-info |", "keyfile, added against the snapshot (1): \"x卧底下载 \"", "keyfile, removed against the snapshot (1): 达赖"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if strings.Index(string(md), "## Evidence") > strings.Index(string(md), "## Endpoints") {
		t.Error("Markdown: evidence must come before endpoints")
	}
}

// TestHostileStringsAreInert: everything from a binary renders as text.
func TestHostileStringsAreInert(t *testing.T) {
	r := reportstest.HostileBuild()
	// A report read back from an archive may say anything in its
	// provenance too: the tool, its dependencies, the rules digest and
	// cache.geoip, which the pages show.
	r.Cache.GeoIP = reportstest.Hostile
	r.Rules.Digest = reportstest.Hostile
	r.Tool.Commit = reportstest.Hostile
	r.Tool.Dependencies = map[string]string{reportstest.Hostile: reportstest.Hostile, "libyara": "4.2.3"}
	h, err := reports.EncodeHTML(r)
	if err != nil {
		t.Fatal(err)
	}
	page := string(reports.WithoutOwnScript(h))
	for _, bad := range []string{"<script", "<img", "\x1b", "\u202e", "</td></tr> ", "<b>"} {
		if strings.Contains(page, bad) {
			t.Errorf("HTML carries %q from a binary unescaped", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("HTML should show the script tag as text")
	}
	if !strings.Contains(page, `\x1b[31mRED`) || !strings.Contains(page, `\u202e`) {
		t.Error("HTML should show control and bidi characters as visible escapes")
	}
	// the page's newer elements carry the strings as text too: identity,
	// top evidence, rule matches (description, tags, strings with offsets)
	for _, want := range []string{`id="identity"`, "describes &lt;script&gt;", "tag&lt;script&gt;", "0x40:$u&lt;script&gt;", `id="rule-matches"`,
		`<th>GeoIP database (countries)</th><td class="mono">&lt;script&gt;`} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	// links to neighbours: labels from reports are text, hrefs are ours
	h, err = reports.EncodeHTMLLinks(r, reports.Links{Index: "../../index.html", JSON: "report.json",
		Prev: &reports.Neighbour{Href: "../1/report.html", Label: reportstest.Hostile, Family: reportstest.Hostile}})
	if err != nil {
		t.Fatal(err)
	}
	linked := string(reports.WithoutOwnScript(h))
	for _, bad := range []string{"<script", "<img", "\x1b", "\u202e"} {
		if strings.Contains(linked, bad) {
			t.Errorf("HTML with links carries %q unescaped", bad)
		}
	}
	if !strings.Contains(linked, `<a href="../1/report.html" id="link-prev" rel="prev">← previous &lt;script&gt;`) {
		t.Error("previous-build link missing or its label not escaped")
	}

	md := string(reports.EncodeMarkdown(r))
	if unescapedLink.MatchString(md) {
		t.Error("Markdown carries a link from a binary unescaped")
	}
	for _, bad := range []string{"<script", "<img", "\x1b", "\u202e", "**bold**", "`code`", "\r", "\nnext line"} {
		if strings.Contains(md, bad) {
			t.Errorf("Markdown carries %q from a binary unescaped", bad)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasSuffix(line, " |") {
			t.Errorf("a table row was broken by a value: %q", line)
		}
	}
}

// unescapedLink finds "](" whose bracket no backslash escapes (an even
// number of backslashes before it escape each other).
var unescapedLink = regexp.MustCompile(`(^|[^\\])(\\\\)*\]\(`)

func TestTerminal(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\tkept", "tab\tkept"},
		{"\x1b[31mred", `\x1b[31mred`},
		{"bell\a", `bell\a`},
		{"new\nline", `new\nline`},
		{"\u202eevil", `\u202eevil`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"line\u2028sep", `line\u2028sep`},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"中文", "中文"},
		{"\u009b31m", `\u009b31m`}, // C1 CSI
	} {
		if got := reports.Terminal(tc.in); got != tc.want {
			t.Errorf("Terminal(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Skype.exe", "Skype.exe"}, // only what Markdown needs: versions and names read as written
		{"5.1.4.10", "5.1.4.10"},
		{"tom-en-5.1.exe", "tom-en-5.1.exe"},
		{"tom_endpoints", "tom_endpoints"},
		{"(c) 2007! {x}", "(c) 2007! {x}"},
		{"_em_ x", `\_em\_ x`},
		{"a|b", `a\|b`},
		{"<script>", `&lt;script>`},
		{"[x](http://e)", `\[x\](http://e)`},
		{"![i](x)", `!\[i\](x)`},
		{"*em* `c` ~~s~~", "\\*em\\* \\`c\\` \\~\\~s\\~\\~"},
		{"AT&T", "AT&amp;T"},
		{"\x1b[0m", `\\x1b\[0m`},
		{"# heading", `\# heading`},
		{"#1 hit", "#1 hit"},
		{"- item", `\- item`},
		{"-x", "-x"},
		{"> quote", `\> quote`},
		{"1. first", `1\. first`},
		{"---", `\---`},
		{"a\\b", `a\\b`},
	} {
		if got := reports.Markdown(tc.in); got != tc.want {
			t.Errorf("Markdown(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeJSONRejects(t *testing.T) {
	for _, in := range []string{``, `{}`, `[]`, `{"schema_version": 1}`, `not json`} {
		if _, err := reports.DecodeJSON([]byte(in)); err == nil {
			t.Errorf("DecodeJSON(%q) accepted", in)
		}
	}
}

func TestBuildVersion(t *testing.T) {
	if got := reports.NewView(reportstest.TOM()).Version; got != "3.8.0.188" {
		t.Errorf("TOM fixture version = %q", got)
	}
	if got := reports.NewView(reportstest.HostileBuild()).Version; !strings.HasPrefix(got, "1.0<script>") {
		t.Errorf("hostile fixture version = %q", got)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, r := range reportstest.All() {
		js, _ := reports.EncodeJSON(r)
		f.Add(js)
	}
	f.Add([]byte(`{"schema_version":"1","tom":{"endpoints":[{"value":1}],"keyword_lists":{"a":1},"x":[[1]]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return // the size cap is ReadFile's job; keep executions fast
		}
		r, err := reports.DecodeJSON(b)
		if err != nil {
			return
		}
		// whatever loads must render without panicking, and inertly
		h, err := reports.EncodeHTML(r)
		if err != nil {
			return
		}
		if bytes.Contains(reports.WithoutOwnScript(h), []byte("<script")) {
			t.Fatalf("rendered a script tag from %q", b)
		}
		_ = reports.EncodeMarkdown(r)
	})
}

func FuzzEscape(f *testing.F) {
	f.Add(reportstest.Hostile)
	f.Add("\x1b]8;;http://x\x07link\x1b]8;;\x07")
	f.Fuzz(func(t *testing.T, s string) {
		term := reports.Terminal(s)
		for _, r := range term {
			if r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
				t.Fatalf("Terminal(%q) kept control %U", s, r)
			}
		}
		md := reports.Markdown(s)
		if strings.ContainsAny(md, "\n\r<") || unescapedLink.MatchString(md) {
			t.Fatalf("Markdown(%q) = %q acts as markup", s, md)
		}
	})
}

// TestEvidenceTopTen: the page shows the ten heaviest items and says how
// many there are; the JSON keeps every one.
func TestEvidenceTopTen(t *testing.T) {
	r := reportstest.TOM()
	r.TOMRaw = nil // render the typed section set below
	r.TOM.Verdict.Evidence = nil
	for i := 0; i < 15; i++ {
		r.TOM.Verdict.Evidence = append(r.TOM.Verdict.Evidence, tom.Evidence{Node: "n", Source: "string", Provenance: tom.ProvStrings,
			Weight: 0.3, Decides: true, Family: "tom", Detail: fmt.Sprintf("item-%02d", i), Count: 1})
	}
	md := string(reports.EncodeMarkdown(r))
	if !strings.Contains(md, "The 10 heaviest of 15 distinct items (15 recorded)") || !strings.Contains(md, "item-09") || strings.Contains(md, "item-10") {
		t.Errorf("Markdown does not hold exactly the top ten:\n%s", md)
	}
	js, err := reports.EncodeJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), "item-14") {
		t.Error("JSON lost evidence past the top ten")
	}
}

// TestEvidenceSummary: the page's evidence summary keeps one row per thing
// said (the heaviest, naming the other sources) and leaves out strings that
// are a signer's name with certificate bytes glued on.
func TestEvidenceSummary(t *testing.T) {
	r := reportstest.TOM()
	r.TOMRaw = nil
	r.Tree.Children[0].Signature = &pe.Signature{Signer: "/C=CN/O=TOM Online Inc./CN=TOM Online Inc.", Issuer: "/CN=Some CA"}
	node := r.Tree.Children[0].ID
	ev := func(prov, src, detail string, w float64) tom.Evidence {
		return tom.Evidence{Node: node, Source: src, Provenance: prov, Weight: w, Decides: true, Family: "tom", Detail: detail, Count: 1}
	}
	r.TOM.Verdict.Evidence = []tom.Evidence{
		ev(tom.ProvVersionInfo, "version-info", `080404b0 CompanyName = "TOM Online Inc."`, 0.6),
		ev(tom.ProvVersionInfo, "string", `utf16le "TOM Online Inc."`, 0.6),
		ev(tom.ProvStrings, "string", `ascii "TOM Online Inc.1402"`, 0.3),
		ev(tom.ProvStrings, "string", `ascii "TOM Online Inc.0"`, 0.3),
		ev(tom.ProvStrings, "string", `ascii "TOM Online Inc."`, 0.3),
		ev(tom.ProvStrings, "string", `ascii "TOM Online Inc. Beijing office"`, 0.3), // a real string, not DER noise
	}
	v := reports.NewView(r)
	if v.DERNoise != 2 {
		t.Errorf("DER noise = %d, want 2", v.DERNoise)
	}
	if v.Distinct != 2 || len(v.TopItems) != 2 {
		t.Fatalf("distinct items = %d %+v, want 2", v.Distinct, v.TopItems)
	}
	if top := v.TopItems[0]; top.Provenance != tom.ProvVersionInfo || top.Also != tom.ProvStrings || top.Weight != "0.60" {
		t.Errorf("top item %+v", top)
	}
	if len(v.AllItems) != 4 {
		t.Errorf("all evidence on the page = %d items, want 4 (6 less 2 DER strings)", len(v.AllItems))
	}
	h, _ := reports.EncodeHTML(r)
	if strings.Contains(string(h), "Inc.1402") || !strings.Contains(string(h), "2 certificate-byte strings left out") {
		t.Error("the page shows certificate-byte noise or does not say it left it out")
	}
	js, _ := reports.EncodeJSON(r)
	if !strings.Contains(string(js), "TOM Online Inc.1402") {
		t.Error("evidence is never edited: report.json must keep the DER string")
	}
}
