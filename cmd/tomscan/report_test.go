package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// fixtureArchive writes the fixture builds' JSON only, as an older scan or a
// copied archive would leave them: pages and index come from 'tomscan report'.
func fixtureArchive(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	for key, r := range reportstest.All() {
		if err := archive.WriteBuild(out, key, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestReportCommand(t *testing.T) {
	out := fixtureArchive(t)
	code, stdout, stderr := runCmd(t, "report", "--out", out)
	if code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	if want, _ := filepath.Abs(filepath.Join(out, archive.IndexHTML)); strings.TrimSpace(stdout) != want {
		t.Errorf("report printed %q, want the index path %q", stdout, want)
	}
	for _, f := range []string{archive.IndexDB, archive.IndexHTML,
		filepath.Join(archive.BuildsDir, reportstest.TOMKey, archive.ReportHTML),
		filepath.Join(archive.BuildsDir, reportstest.TOMKey, archive.ReportMD)} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if code, _, _ := runCmd(t, "report"); code != exitUsage {
		t.Errorf("report without --out: exit %d", code)
	}
}

func TestQueryCommand(t *testing.T) {
	out := fixtureArchive(t)
	if code, _, stderr := runCmd(t, "report", "--out", out); code != exitOK {
		t.Fatal(stderr)
	}
	code, stdout, stderr := runCmd(t, "query", "--out", out, "--endpoint", "skypetools.tom.com")
	if code != exitOK || !strings.Contains(stdout, reportstest.TOMKey) {
		t.Errorf("query --endpoint: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, "query", "--out", out, "--verdict", "regular-skype", "--json")
	var rows []map[string]any
	if code != exitOK || json.Unmarshal([]byte(stdout), &rows) != nil || len(rows) != 1 || rows[0]["sha256"] != reportstest.RegularKey {
		t.Errorf("query --verdict --json: exit %d: %s", code, stdout)
	}
	code, stdout, _ = runCmd(t, "query", "--out", out, "--sql", "SELECT path FROM builds WHERE sha256 LIKE '3%'")
	if code != exitOK || strings.ContainsAny(stdout, "\x1b\u202e") || !strings.Contains(stdout, `\x1b[31mRED`) {
		t.Errorf("query --sql: exit %d, output not terminal-safe: %q", code, stdout)
	}
	for _, args := range [][]string{
		{"query", "--out", out, "--sql", "DELETE FROM builds"},
		{"query", "--out", out},
		{"query", "--out", out, "--verdict", "x", "--keyword", "y"},
	} {
		if code, _, _ := runCmd(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args[3:], code, exitUsage)
		}
	}
}

func TestDiffCommand(t *testing.T) {
	out := fixtureArchive(t)
	code, stdout, stderr := runCmd(t, "diff", "--out", out, "1111", "2222")
	if code != exitDiffer {
		t.Fatalf("diff of two different builds: exit %d, want %d (like diff(1)): %s", code, exitDiffer, stderr)
	}
	for _, want := range []string{"endpoints added (2)", "+ http://skypetools.tom.com/agent/keyfile", "keyfile: keywords added (0 -> 5) (5):", "keywords added, all lists (5)", "+ 法轮功", "rules gained"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("diff text lacks %q:\n%s", want, stdout)
		}
	}
	// by report.json path, JSON output
	a := filepath.Join(out, archive.BuildsDir, reportstest.RegularKey, archive.ReportJSON)
	b := filepath.Join(out, archive.BuildsDir, reportstest.TOMKey)
	code, stdout, _ = runCmd(t, "diff", a, b, "--format", "json")
	var d struct {
		EndpointsAdded []string `json:"endpoints_added"`
	}
	if code != exitDiffer || json.Unmarshal([]byte(stdout), &d) != nil || len(d.EndpointsAdded) != 2 {
		t.Errorf("diff --format json: exit %d: %s", code, stdout)
	}
	code, stdout, _ = runCmd(t, "diff", "--out", out, "1111", "2222", "--format", "html")
	if code != exitDiffer || !strings.Contains(stdout, `<ul id="endpoints-added">`) {
		t.Errorf("diff --format html: exit %d", code)
	}
	// the page links both builds' reports in the archive
	for _, k := range []string{reportstest.RegularKey, reportstest.TOMKey} {
		if !strings.Contains(stdout, `href="file://`) || !strings.Contains(stdout, k+"/report.") {
			t.Errorf("diff --format html does not link %s's report", k[:4])
		}
	}
	// a build compared with itself: no differences, exit 0
	if code, stdout, _ = runCmd(t, "diff", "--out", out, "2222", "2222"); code != exitOK || !strings.Contains(stdout, "no differences") {
		t.Errorf("diff of a build with itself: exit %d:\n%s", code, stdout)
	}
	for _, args := range [][]string{{"diff", "--out", out, "1111"}, {"diff", "--out", out, "1111", "9999"}, {"diff", "1111", "2222"}, {"diff", "--out", out, "1", "2", "--format", "pdf"}} {
		if code, _, _ := runCmd(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestScanWritesPagesAndIndex: a scan writes the HTML page by default and
// leaves an index covering every build in the archive.
func TestScanWritesPagesAndIndex(t *testing.T) {
	in := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(in, []byte("<script>alert(1)</script> http://skypetools.tom.com/agent/keyfile\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, _, stderr := runCmd(t, "scan", in, "--out", out, "--quiet", "--jobs", "1")
	if code != exitOK {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}
	keys, err := archive.Keys(out)
	if err != nil || len(keys) != 1 {
		t.Fatalf("archive keys %v, %v", keys, err)
	}
	page, err := os.ReadFile(filepath.Join(out, archive.BuildsDir, keys[0], archive.ReportHTML))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page, []byte("<script>alert")) {
		t.Error("scanned content became markup")
	}
	code, stdout, _ := runCmd(t, "query", "--out", out, "--sql", "SELECT count(*) AS n FROM builds")
	if code != exitOK || !strings.Contains(stdout, "\n1\n") {
		t.Errorf("index after scan: exit %d: %q", code, stdout)
	}
	if code, _, _ := runCmd(t, "scan", in, "--out", out, "--format", "pdf"); code != exitUsage {
		t.Errorf("unknown format: exit %d", code)
	}
}

// TestDamagedReportHeals: a report.json cut to 100 bytes no longer stops
// the archive: 'report' rebuilds around it (exit 0, a warning), a later
// scan works (exit 0), and 'report --check' lists it (exit 1) until the
// build is rescanned.
func TestDamagedReportHeals(t *testing.T) {
	out := fixtureArchive(t)
	if code, _, stderr := runCmd(t, "report", "--out", out); code != exitOK {
		t.Fatal(stderr)
	}
	if code, stdout, _ := runCmd(t, "report", "--out", out, "--check"); code != exitOK || stdout != "" {
		t.Fatalf("check of a sound archive: exit %d: %q", code, stdout)
	}
	bad := filepath.Join(out, archive.BuildsDir, reportstest.TOMKey, archive.ReportJSON)
	if err := os.Truncate(bad, 100); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runCmd(t, "report", "--out", out, "--check")
	if code != exitBuildFailed || !strings.Contains(stdout, reportstest.TOMKey+": unreadable") {
		t.Errorf("check: exit %d: %q", code, stdout)
	}
	code, _, stderr := runCmd(t, "report", "--out", out)
	if code != exitOK || !strings.Contains(stderr, "warning: report skipped") || !strings.Contains(stderr, reportstest.TOMKey) {
		t.Errorf("report over a damaged report.json: exit %d: %s", code, stderr)
	}
	in := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(in, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCmd(t, "scan", in, "--out", out, "--quiet", "--jobs", "1")
	if code != exitOK {
		t.Errorf("scan into an archive with a damaged report: exit %d: %s", code, stderr)
	}
	code, stdout, _ = runCmd(t, "query", "--out", out, "--sql", "SELECT count(*) AS n FROM builds")
	if want := len(reportstest.All()); code != exitOK || !strings.Contains(stdout, fmt.Sprintf("\n%d\n", want)) {
		t.Errorf("index after scan: exit %d: %q, want %d builds (all but the damaged one, plus the new one)", code, stdout, want)
	}
	code, stdout, _ = runCmd(t, "report", "--out", out, "--check")
	if code != exitBuildFailed || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, reportstest.TOMKey+": unreadable") {
		t.Errorf("check after scan: exit %d: %q", code, stdout)
	}
	if code, _, _ := runCmd(t, "report", "--check"); code != exitUsage {
		t.Errorf("check without --out: exit %d", code)
	}
}
