package diff_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/termtable"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/diff"
	"github.com/tomscan/tomscan/reports/reportstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		_ = os.MkdirAll("testdata", 0o755)
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
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestRegularToTOM(t *testing.T) {
	d := diff.Compare(reportstest.RegularKey, reportstest.Regular(), reportstest.TOMKey, reportstest.TOM())
	for _, c := range []struct {
		what string
		got  []string
		want []string
	}{
		{"endpoints added", d.EndpointsAdded, []string{"http://220.181.9.132/agent/upload", "http://skypetools.tom.com/agent/keyfile"}},
		{"endpoints removed", d.EndpointsGone, nil},
		{"keywords added", d.KeywordsAdded, []string{"falun", "x卧底下载", "x卧底下载 ", "六四", "法轮功"}}, // exact entries: the trailing-space one stays distinct
		{"rules gained", d.RulesGained, []string{"tom:TOMSkype_ContentFilter", "tom:TOMSkype_Endpoint_Agent", "tom:TOMSkype_Identity"}},
		{"rules lost", d.RulesLost, []string{"tom:Skype_Regular_Identity"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if len(d.FilesAdded) != 1 || d.FilesAdded[0].Path != "ContentFilter.exe" {
		t.Errorf("files added = %+v", d.FilesAdded)
	}
	if len(d.FilesChanged) != 2 { // the build file itself and Skype.exe; readme.txt is the same
		t.Errorf("files changed = %+v", d.FilesChanged)
	}
	var fd bool
	for _, c := range d.VersionChanges {
		if c.Node == "Skype.exe" && c.Field == "040904b0/FileDescription" && c.A == "Skype" && c.B == "TOM-Skype" {
			fd = true
		}
	}
	if !fd {
		t.Errorf("version changes lack Skype.exe FileDescription: %+v", d.VersionChanges)
	}
	if d.Empty() {
		t.Error("Empty() on different builds")
	}
	js, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	h, err := d.HTML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "regular-tom.txt", d.Text())
	golden(t, "regular-tom.json", js)
	golden(t, "regular-tom.html", h)
	var back diff.Diff
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
}

func TestSameBuild(t *testing.T) {
	d := diff.Compare("a", reportstest.TOM(), "b", reportstest.TOM())
	if !d.Empty() {
		t.Errorf("a build compared with itself differs: %s", d.Text())
	}
	if !strings.Contains(string(d.Text()), "no differences") {
		t.Error("text should say there are no differences")
	}
}

func TestHostileDiffIsInert(t *testing.T) {
	d := diff.Compare("a", reportstest.Regular(), "b", reportstest.HostileBuild())
	txt := string(d.Text())
	if strings.ContainsAny(txt, "\x1b\r\u202e") {
		t.Errorf("text diff carries control characters: %q", txt)
	}
	h, err := d.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(h, []byte("<script")) || bytes.Contains(h, []byte("<img")) || bytes.ContainsAny(h, "\x1b\u202e") {
		t.Error("HTML diff carries a hostile string unescaped")
	}
}

func TestDiffOfLoadedReports(t *testing.T) {
	// a diff of reports read back from JSON equals the diff of the originals
	load := func(r *reports.Report) *reports.Report {
		js, err := reports.EncodeJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := reports.DecodeJSON(js)
		if err != nil {
			t.Fatal(err)
		}
		return back
	}
	a := diff.Compare("a", reportstest.Regular(), "b", reportstest.TOM())
	b := diff.Compare("a", load(reportstest.Regular()), "b", load(reportstest.TOM()))
	if !bytes.Equal(a.Text(), b.Text()) {
		t.Error("diff changes when the reports are reloaded from JSON")
	}
}

// TestMovesAndLists: a file at another path with the same bytes is a move,
// not a removal and an addition; keyword changes are reported per list role.
func TestMovesAndLists(t *testing.T) {
	a, b := reportstest.TOM(), reportstest.TOM()
	var skype *artifact.Node
	for _, c := range b.Tree.Children {
		if c.Name == "Skype.exe" {
			skype = c
		}
	}
	if skype == nil {
		t.Fatal("fixture has no Skype.exe")
	}
	skype.Name = "Skype.exe"
	skype.Path = []string{b.Tree.Name, "Program Files/Skype/Phone/Skype.exe"}
	var tomSec map[string]any
	if err := json.Unmarshal(b.TOMRaw, &tomSec); err != nil {
		t.Fatal(err)
	}
	lists := tomSec["keyword_lists"].([]any)
	l0 := lists[0].(map[string]any)
	l0["keywords"] = []string{"falun", "法轮功", "达赖"} // 六四 and both x卧底下载 gone, 达赖 new
	l1 := map[string]any{}
	for k, v := range l0 {
		l1[k] = v
	}
	l1["name"], l1["keywords"] = "keyfile_u", []string{"六四"} // 六四 moved to the other list
	if snap, ok := l1["snapshot"].(map[string]any); ok {
		s := map[string]any{}
		for k, v := range snap {
			s[k] = v
		}
		s["name"] = "keyfile_u"
		l1["snapshot"] = s
	}
	tomSec["keyword_lists"] = append(lists, l1)
	raw, _ := json.Marshal(tomSec)
	b.TOMRaw = raw

	d := diff.Compare("a", a, "b", b)
	if len(d.FilesMoved) != 1 || d.FilesMoved[0].From != "Skype.exe" || d.FilesMoved[0].To != "Program Files/Skype/Phone/Skype.exe" {
		t.Errorf("files moved = %+v", d.FilesMoved)
	}
	if len(d.FilesAdded)+len(d.FilesRemoved) != 0 {
		t.Errorf("a move also shows as added %+v / removed %+v", d.FilesAdded, d.FilesRemoved)
	}
	byList := map[string]diff.ListChange{}
	for _, l := range d.KeywordLists {
		byList[l.List] = l
	}
	if l := byList["keyfile"]; !slices.Equal(l.Added, []string{"达赖"}) || !slices.Equal(l.Removed, []string{"x卧底下载", "x卧底下载 ", "六四"}) || l.CountA != 5 || l.CountB != 3 {
		t.Errorf("keyfile change = %+v", l)
	}
	if l := byList["keyfile_u"]; !slices.Equal(l.Added, []string{"六四"}) || len(l.Removed) != 0 {
		t.Errorf("keyfile_u change = %+v", l)
	}
	if slices.Contains(d.KeywordsGone, "六四") {
		t.Error("a word that moved between lists is gone from the union")
	}
	txt := string(d.Text())
	for _, want := range []string{"files moved (1):", "> Skype.exe -> Program Files/Skype/Phone/Skype.exe", "keyfile_u: keywords added (0 -> 1) (1):", "keyfile: keywords removed (5 -> 3) (3):"} {
		if !strings.Contains(txt, want) {
			t.Errorf("text lacks %q:\n%s", want, txt)
		}
	}
	d.A.Report, d.B.Report = "../a/report.html", "../b/report.html"
	h, err := d.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<a href="../a/report.html"`, `<a href="../b/report.html"`, `data-list="keyfile_u"`, `<li lang="zh">六四</li>`, "→ moved", `<span class="badge tom">`} {
		if !strings.Contains(string(h), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// TestTextTableAlignsChinese: the version-info table of the text diff pads
// by display width, so the B column starts at one column on every row even
// when an A value is Chinese.
func TestTextTableAlignsChinese(t *testing.T) {
	d := diff.Compare("a", reportstest.Chinese(), "b", reportstest.TOM())
	lines := strings.Split(string(d.Text()), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "version info changes") {
			start = i + 1
		}
	}
	if start < 0 {
		t.Fatalf("no version info table:\n%s", d.Text())
	}
	col := -1
	han := false
	for _, l := range lines[start:] {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		cut := strings.LastIndex(l, ` "`)
		if strings.HasPrefix(strings.TrimSpace(l), "FILE") {
			cut = strings.LastIndex(l, " B") // the header
		}
		w := termtable.Width(l[:cut])
		han = han || reports.HasHan(l[:cut])
		if col >= 0 && w != col {
			t.Errorf("B column at %d, want %d: %q", w, col, l)
		}
		col = w
	}
	if !han {
		t.Error("the fixture pair no longer has a Chinese A or field value to align")
	}
}
