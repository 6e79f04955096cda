package archive_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
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
	for _, want := range []string{`<svg`, `id="timeline"`, `id="builds"`, `href="builds/` + reportstest.TOMKey + `/report.html"`, "tom-skype-english", "regular-skype", "<polyline"} {
		if !strings.Contains(s, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if strings.Contains(s, "<script>alert") || strings.Contains(s, "\x1b") || strings.Contains(s, "\u202e") {
		t.Error("index.html carries a hostile string unescaped")
	}
	// The regular build (3.8.0.188, key 111..) sorts before the TOM build of the same version by key.
	if strings.Index(s, reportstest.RegularKey) > strings.Index(s, reportstest.TOMKey) {
		t.Error("builds are not ordered by version, then key")
	}
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
	if !bytes.Contains(page, []byte("0 builds")) || !bytes.Contains(page, []byte("no builds")) {
		t.Error("an empty archive should say it has no builds")
	}
}
