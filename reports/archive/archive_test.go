package archive_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// newArchive writes the fixture builds (JSON only) and the index into a temp folder.
func newArchive(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	for key, r := range reportstest.All() {
		if err := archive.WriteBuild(out, key, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if skipped, err := archive.Rebuild(context.Background(), out); err != nil || len(skipped) > 0 {
		t.Fatal(err, skipped)
	}
	return out
}

func TestRebuildIsReproducible(t *testing.T) {
	a, b := newArchive(t), newArchive(t)
	files := []string{archive.IndexDB, archive.IndexHTML}
	for k := range reportstest.All() {
		for _, f := range []string{archive.ReportJSON, archive.ReportMD, archive.ReportHTML} {
			files = append(files, filepath.Join(archive.BuildsDir, k, f))
		}
	}
	for _, f := range files {
		x, err := os.ReadFile(filepath.Join(a, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two archives of the same reports", f)
		}
	}
	// and a rebuild in place changes nothing
	before, _ := os.ReadFile(filepath.Join(a, archive.IndexDB))
	if _, err := archive.Rebuild(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(a, archive.IndexDB))
	if !bytes.Equal(before, after) {
		t.Error("index.sqlite changed on a rebuild from the same reports")
	}
}

// TestIndexMatchesReports: per build, the index holds as many nodes, matches,
// endpoints and keywords as the JSON report says.
func TestIndexMatchesReports(t *testing.T) {
	out := newArchive(t)
	CheckIndex(t, out)
}

// CheckIndex compares index.sqlite with the archived JSON reports.
func CheckIndex(t *testing.T, out string) {
	t.Helper()
	entries, err := archive.Load(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(out, archive.IndexDB)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var builds int
	if err := db.QueryRow(`SELECT count(*) FROM builds`).Scan(&builds); err != nil {
		t.Fatal(err)
	}
	if builds != len(entries) {
		t.Errorf("index has %d builds, archive %d", builds, len(entries))
	}
	count := func(q, key string) int {
		var n int
		if err := db.QueryRow(q, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, e := range entries {
		v := reports.NewView(e.Report)
		var nodes, matches int
		_ = e.Report.Tree.Walk(func(n *artifact.Node) error { nodes++; matches += len(n.Matches); return nil })
		for _, c := range []struct {
			what string
			got  int
			want int
		}{
			{"nodes", count(`SELECT count(*) FROM nodes WHERE build = ?`, e.Key), nodes},
			{"summary nodes", count(`SELECT nodes FROM builds WHERE sha256 = ?`, e.Key), e.Report.Summary.Nodes},
			{"matches", count(`SELECT count(*) FROM matches WHERE build = ?`, e.Key), matches},
			{"summary matches", count(`SELECT matches FROM builds WHERE sha256 = ?`, e.Key), e.Report.Summary.Matches},
			{"endpoints", count(`SELECT count(*) FROM endpoints WHERE build = ?`, e.Key), len(v.Endpoints)},
			{"keywords", count(`SELECT count(*) FROM keywords WHERE build = ?`, e.Key), v.KeywordCount()},
			{"issues", count(`SELECT issues FROM builds WHERE sha256 = ?`, e.Key), e.Report.Summary.Issues},
		} {
			if c.got != c.want {
				t.Errorf("%s: %s: index %d, report %d", e.Key[:8], c.what, c.got, c.want)
			}
		}
	}
}

func TestIndexContent(t *testing.T) {
	out := newArchive(t)
	db, err := sql.Open("sqlite", filepath.Join(out, archive.IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var kind, version string
	var endpoints, keywords int
	if err := db.QueryRow(`SELECT kind, version, endpoints, keywords FROM builds WHERE sha256 = ?`, reportstest.TOMKey).Scan(&kind, &version, &endpoints, &keywords); err != nil {
		t.Fatal(err)
	}
	if kind != "tom-skype-english" || version != "3.8.0.188" || endpoints != 2 || keywords != 5 {
		t.Errorf("TOM build row: kind %q version %q endpoints %d keywords %d", kind, version, endpoints, keywords)
	}
	var host string
	if err := db.QueryRow(`SELECT b.path FROM endpoints e JOIN builds b ON b.sha256 = e.build WHERE e.host = 'skypetools.tom.com'`).Scan(&host); err != nil || !strings.HasPrefix(host, "TOM-Skype") {
		t.Errorf("endpoint lookup: %q %v", host, err)
	}

	page, err := os.ReadFile(filepath.Join(out, archive.IndexHTML))
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{`<svg`, `id="timeline"`, `id="years"`, `id="builds"`, `id="f-keyword"`, `id="f-verdict"`, `id="f-family"`, `id="f-host"`,
		`<span class="badge tom" data-verdict="tom-skype-english"><b>1</b> tom-skype-english</span>`, "regular-skype"} {
		if !strings.Contains(s, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if strings.Contains(s, "<script>alert") || strings.Contains(s, "\x1b") || strings.Contains(s, "\u202e") {
		t.Error("index.html carries a hostile string unescaped")
	}
	d := indexData(t, page)
	keys := []string{}
	var tom []any
	for _, b := range d.Builds {
		keys = append(keys, b[0].(string))
		if b[0] == reportstest.TOMKey {
			tom = b
		}
	}
	// The regular build (3.8.0.188, key 111..) sorts before the TOM build of the same version by key.
	if slices.Index(keys, reportstest.RegularKey) > slices.Index(keys, reportstest.TOMKey) || len(keys) != len(reportstest.All()) {
		t.Errorf("builds are not ordered by version, then key: %v", keys)
	}
	if tom == nil || tom[3] != "tom-skype-english" || tom[2] != "3.8.0.188" {
		t.Fatalf("TOM build row %v", tom)
	}
	if ls := tom[13].([]any); len(ls) != 1 || ls[0].([]any)[0] != "keyfile" || ls[0].([]any)[1] != 5.0 {
		t.Errorf("TOM build lists %v", tom[13])
	} else if w := d.Lists[int(ls[0].([]any)[2].(float64))]; !slices.Contains(w, "法轮功") {
		t.Errorf("TOM build's list words %v", w)
	}
	if tom[12] == "" || tom[11] == "" { // family, snapshot date
		t.Errorf("TOM build row lacks its family or snapshot date: %v", tom)
	}
}

type pageData struct {
	Columns []string   `json:"columns"`
	Builds  [][]any    `json:"builds"`
	Lists   [][]string `json:"lists"`
	Omitted bool       `json:"keywords_omitted"`
}

// indexData reads the JSON data block of an index page, and checks that
// the page runs no script but its own, allowed by its hash.
func indexData(t *testing.T, page []byte) pageData {
	t.Helper()
	s := string(page)
	const open = `<script type="application/json" id="data">`
	i := strings.Index(s, open)
	if i < 0 {
		t.Fatal("index.html has no data block")
	}
	j := strings.Index(s[i:], "</script>")
	var d pageData
	if err := json.Unmarshal([]byte(s[i+len(open):i+j]), &d); err != nil {
		t.Fatalf("index data: %v", err)
	}
	if n := strings.Count(s, "<script"); n != 2 {
		t.Errorf("index.html has %d script elements, want the data block and its own script", n)
	}
	k := strings.LastIndex(s, "<script>")
	own := s[k+len("<script>") : k+strings.Index(s[k:], "</script>")]
	if !strings.Contains(s, "script-src '"+reports.ScriptHash(own)+"'") {
		t.Error("the index's script is not the one its CSP allows by hash")
	}
	return d
}

func TestResolve(t *testing.T) {
	out := newArchive(t)
	if k, err := archive.Resolve(out, "2222"); err != nil || k != reportstest.TOMKey {
		t.Errorf("Resolve(2222) = %q, %v", k, err)
	}
	for _, bad := range []string{"9", "", "../"} {
		if _, err := archive.Resolve(out, bad); err == nil {
			t.Errorf("Resolve(%q) should fail", bad)
		}
	}
}

func TestEmptyArchive(t *testing.T) {
	out := t.TempDir()
	if _, err := archive.Rebuild(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(out, archive.IndexHTML))
	if !bytes.Contains(page, []byte("<b>0</b> builds")) || !bytes.Contains(page, []byte("no builds")) {
		t.Error("an empty archive should say it has no builds")
	}
}

// TestIndexLinksThePageThere: the index links each build's report.html,
// else its report.md, else its report.json (a scan with --format json
// writes no page: a link to report.html would lead nowhere).
func TestIndexLinksThePageThere(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	x, err := archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	formats := map[string]map[string]bool{
		reportstest.TOMKey:     {"md": true, "html": true},
		reportstest.RegularKey: {"md": true},
	}
	want := map[string]string{}
	for k, r := range reportstest.All() {
		if err := archive.WriteBuild(out, k, r, formats[k]); err != nil {
			t.Fatal(err)
		}
		if err := x.Upsert(ctx, k, r); err != nil {
			t.Fatal(err)
		}
		want[k] = archive.ReportJSON
	}
	want[reportstest.TOMKey], want[reportstest.RegularKey] = archive.ReportHTML, archive.ReportMD
	if err := x.FlushClose(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, archive.IndexHTML))
	if err != nil {
		t.Fatal(err)
	}
	d := indexData(t, page)
	col := slices.Index(d.Columns, "page")
	if col < 0 {
		t.Fatalf("no page column in %v", d.Columns)
	}
	for _, b := range d.Builds {
		if k := b[0].(string); b[col] != want[k] {
			t.Errorf("build %s links %v, want %s", k, b[col], want[k])
		}
		if _, err := os.Stat(filepath.Join(out, archive.BuildsDir, b[0].(string), b[col].(string))); err != nil {
			t.Errorf("build %s: the linked file is not there: %v", b[0], err)
		}
	}
	if !strings.Contains(string(page), `"/" + encodeURIComponent(b[C.page])`) {
		t.Error("the index's script does not link the page column")
	}
}
