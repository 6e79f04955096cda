package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

func indexedArchive(t *testing.T) string {
	t.Helper()
	out := fixtureArchive(t)
	if code, _, errOut := runCmd(t, "report", "--out", out); code != exitOK {
		t.Fatalf("report: %d %s", code, errOut)
	}
	return out
}

func queryRows(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	code, out, errOut := runCmd(t, append([]string{"query", "--json"}, args...)...)
	if code != exitOK {
		t.Fatalf("query %v: exit %d: %s", args, code, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// Text filters: case-insensitive substring by default, whole value with
// --exact; one row per build unless --per-endpoint.
func TestQueryMatchingRule(t *testing.T) {
	out := indexedArchive(t)
	// TOM has two endpoints, Chinese one: both builds, one row each
	if rows := queryRows(t, "--out", out, "--endpoint", "AGENT"); len(rows) != 2 || rows[0]["endpoints"] == nil {
		t.Errorf("--endpoint AGENT: %v", rows)
	}
	if rows := queryRows(t, "--out", out, "--endpoint", "AGENT", "--per-endpoint"); len(rows) != 3 {
		t.Errorf("--per-endpoint: %d rows", len(rows))
	}
	if rows := queryRows(t, "--out", out, "--endpoint", "skypetools.tom.com", "--exact"); len(rows) != 2 {
		t.Errorf("--exact host: %v", rows)
	}
	if rows := queryRows(t, "--out", out, "--endpoint", "SKYPETOOLS.TOM.COM", "--exact"); len(rows) != 0 {
		t.Errorf("--exact is case-sensitive: %v", rows)
	}
	// keywords follow the same rule: "FALUN" finds "falun"; "法轮" finds 法轮功
	if rows := queryRows(t, "--out", out, "--keyword", "FALUN"); len(rows) != 1 || rows[0]["sha256"] != reportstest.TOMKey {
		t.Errorf("--keyword FALUN: %v", rows)
	}
	if rows := queryRows(t, "--out", out, "--keyword", "法轮"); len(rows) != 2 {
		t.Errorf("--keyword 法轮: %v", rows)
	}
	if rows := queryRows(t, "--out", out, "--keyword", "法轮", "--exact"); len(rows) != 0 {
		t.Errorf("--keyword 法轮 --exact: %v", rows)
	}
}

func TestQueryUsageErrors(t *testing.T) {
	out := indexedArchive(t)
	code, _, errOut := runCmd(t, "query", "--out", out, "--verdict", "nonsense")
	if code != exitUsage || !strings.Contains(errOut, "tom-skype-english, tom-skype-chinese") {
		t.Errorf("bad verdict: %d %s", code, errOut)
	}
	code, _, errOut = runCmd(t, "query", "--out", out, "--sql", "SELECT sha256, nonsense FROM builds")
	if code != exitUsage || !strings.Contains(errOut, "no such column") {
		t.Errorf("bad SELECT: %d %s", code, errOut)
	}
	code, _, errOut = runCmd(t, "query", "--out", t.TempDir(), "--verdict", "unrelated")
	if code != exitUsage || !strings.Contains(errOut, "not a tomscan archive") {
		t.Errorf("not an archive: %d %s", code, errOut)
	}
}

func TestReportOutMustBeArchive(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runCmd(t, "report", "--out", dir)
	if code != exitUsage || !strings.Contains(errOut, "not a tomscan archive") {
		t.Errorf("report into a plain folder: %d %s", code, errOut)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("report wrote into a folder that is not an archive: %v", ents)
	}
	code, _, errOut = runCmd(t, "report", "--out", filepath.Join(dir, "missing"))
	if code != exitUsage || !strings.Contains(errOut, "no such folder") || strings.Contains(errOut, "temp file") {
		t.Errorf("missing folder: %d %s", code, errOut)
	}
}

func TestDiffMessages(t *testing.T) {
	out := indexedArchive(t)
	code, _, errOut := runCmd(t, "diff", "nope.json", reportstest.TOMKey[:8], "--out", out)
	if code != exitUsage || !strings.Contains(errOut, "nope.json: file not found") {
		t.Errorf("missing file: %d %s", code, errOut)
	}
	// two builds whose keys share the prefix "abc": both are named
	k1, k2 := "abc1"+strings.Repeat("0", 60), "abc2"+strings.Repeat("0", 60)
	for _, k := range []string{k1, k2} {
		if err := archive.WriteBuild(out, k, reportstest.Regular(), nil); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errOut = runCmd(t, "diff", "abc", reportstest.TOMKey, "--out", out)
	if code != exitUsage || !strings.Contains(errOut, k1) || !strings.Contains(errOut, k2) || !strings.Contains(errOut, "ambiguous: 2 builds") {
		t.Errorf("ambiguous prefix: %d %s", code, errOut)
	}
}

func TestHelpAndVersion(t *testing.T) {
	for name := range docs {
		code, out, errOut := runCmd(t, append(strings.Fields(name), "-h")...)
		if code != exitOK || !strings.HasPrefix(out, "usage: tomscan ") || !strings.Contains(out, "examples:\n  ") || strings.Count(out[strings.Index(out, "examples:"):], "\n  ") != 2 || errOut != "" {
			t.Errorf("%s -h: exit %d\n%s%s", name, code, out, errOut)
		}
		if name == "scan" && (!strings.Contains(out, "--max-depth int\n") || !strings.Contains(out, "(default: 16)") || !strings.Contains(out, "--ndjson")) {
			t.Errorf("scan -h lacks flags and defaults:\n%s", out)
		}
	}
	_, v1, _ := runCmd(t, "--version")
	_, v2, _ := runCmd(t, "version")
	if v1 == "" || v1 != v2 {
		t.Errorf("--version %q, version %q", v1, v2)
	}
	code, out, _ := runCmd(t, "completion", "bash")
	if code != exitOK || !strings.Contains(out, "complete -o filenames -F _tomscan tomscan") || !strings.Contains(out, `"export") flags="--format`) {
		t.Errorf("completion bash: %d\n%s", code, out)
	}
}

// scan --ndjson prints one JSON line per finished build on stdout, the
// record export gives, and nothing else.
func TestScanNDJSON(t *testing.T) {
	in := t.TempDir()
	for name, text := range map[string]string{"a.txt": "first plain text file\n", "b.txt": "second plain text file\n", "empty.bin": ""} {
		if err := os.WriteFile(filepath.Join(in, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "archive")
	code, stdout, errOut := runCmd(t, "scan", in, "--out", out, "--quiet", "--ndjson", "--jobs", "2")
	if code != exitBuildFailed { // the empty file is a failed build
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), stdout)
	}
	keys, _ := archive.Keys(out)
	seen := map[string]string{}
	for _, l := range lines {
		var rec struct {
			SHA256, Status, Path string
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		seen[rec.SHA256] = rec.Status
	}
	for _, k := range keys {
		if seen[k] == "" {
			t.Errorf("build %s has no line", k)
		}
	}
	if len(keys) != 3 {
		t.Errorf("keys %v lines %v", keys, seen)
	}
}

// On a terminal, export escapes each line: an ANSI escape or a bidi override
// from a hostile file is shown, not acted on.
func TestTermWriter(t *testing.T) {
	var buf strings.Builder
	tw := &termWriter{w: &buf}
	_, _ = tw.Write([]byte("a,\x1b[31mred\n"))
	_, _ = tw.Write([]byte("b,\u202eevil"))
	tw.Flush()
	if got := buf.String(); got != "a,\\x1b[31mred\nb,\\u202eevil" {
		t.Errorf("%q", got)
	}
}
