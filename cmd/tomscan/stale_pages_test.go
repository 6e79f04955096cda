package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
)

// TestRewrittenReportLeavesNoStalePage: every page in a build's folder is a
// rendering of the report.json beside it. A rescan that rewrites the report
// (here with one more rule, which matches) in fewer formats than the scan
// before it must not leave that scan's pages, which would show the earlier
// rules' results beside the new record; a merge whose shard lacks a page
// OUT has for the build likewise. In a worker and in process.
func TestRewrittenReportLeavesNoStalePage(t *testing.T) {
	ctx := context.Background()
	bin := buildBinary(t)
	work := t.TempDir()
	in := filepath.Join(work, "in.bin")
	if err := os.WriteFile(in, []byte("not an installer, a text naming a stale page\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	extra := rulesFolder(t, filepath.Join(work, "extra"), "rule Extra_Stale { strings: $a = \"stale page\" condition: $a }\n")
	scan := func(out string, inProcess bool, args ...string) {
		t.Helper()
		args = append(append([]string{"--out", out, "--quiet"}, args...), in)
		if inProcess {
			var stderr bytes.Buffer
			if code, err := cmdScan(ctx, append([]string{"--in-process"}, args...), io.Discard, &stderr); code != exitOK || err != nil {
				t.Fatalf("scan %v: exit %d, %v\n%s", args, code, err, stderr.String())
			}
			return
		}
		if code, _, stderr := runTool(t, bin, append([]string{"scan"}, args...)...); code != exitOK {
			t.Fatalf("scan %v: exit %d\n%s", args, code, stderr)
		}
	}
	pages := func(out string) (dir string, md, html bool) {
		t.Helper()
		dirs, _ := filepath.Glob(filepath.Join(out, archive.BuildsDir, "*"))
		if len(dirs) != 1 {
			t.Fatalf("%d build folders in %s", len(dirs), out)
		}
		_, merr := os.Stat(filepath.Join(dirs[0], archive.ReportMD))
		_, herr := os.Stat(filepath.Join(dirs[0], archive.ReportHTML))
		return dirs[0], merr == nil, herr == nil
	}
	for _, inProcess := range []bool{false, true} {
		name := map[bool]string{false: "worker", true: "in process"}[inProcess]
		out := filepath.Join(work, name)
		scan(out, inProcess, "--format", "json,md,html")
		dir, md, html := pages(out)
		if !md || !html {
			t.Fatalf("%s: first scan wrote md %v, html %v", name, md, html)
		}
		before, err := os.ReadFile(filepath.Join(dir, archive.ReportJSON))
		if err != nil {
			t.Fatal(err)
		}
		scan(out, inProcess, "--format", "json", "--rules", extra)
		after, err := os.ReadFile(filepath.Join(dir, archive.ReportJSON))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(before, after) || !bytes.Contains(after, []byte("Extra_Stale")) {
			t.Fatalf("%s: the rescan with the extra rule did not rewrite the report: the test proves nothing", name)
		}
		if _, md, html := pages(out); md || html {
			t.Errorf("%s: a JSON-only rescan left the earlier scan's pages: md %v, html %v", name, md, html)
		}
		scan(out, inProcess, "--format", "json,html", "--rules", extra)
		if _, md, html := pages(out); md || !html {
			t.Errorf("%s: rescan asking for html: md %v, html %v", name, md, html)
		}
	}

	// merge: OUT holds the build with all three files of the default
	// rules; the shard holds it with the extra rule, JSON and HTML only
	out, shard := filepath.Join(work, "merged"), filepath.Join(work, "worker")
	scan(out, false, "--format", "json,md,html")
	if code, _, stderr := runTool(t, bin, "merge", out, shard, "--quiet"); code != exitOK {
		t.Fatalf("merge: exit %d\n%s", code, stderr)
	}
	dir, md, html := pages(out)
	if md || !html {
		t.Errorf("merge: md %v, html %v; want only the shard's pages", md, html)
	}
	for _, f := range []string{archive.ReportJSON, archive.ReportHTML} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(shard, archive.BuildsDir, filepath.Base(dir), f))
		if err != nil {
			t.Fatal(err)
		}
		if f == archive.ReportJSON && !bytes.Equal(got, want) {
			t.Errorf("merge: %s is not the shard's", f)
		}
		if f == archive.ReportHTML && !bytes.Contains(got, []byte("Extra_Stale")) {
			t.Errorf("merge: %s does not show the shard's match", f)
		}
	}
}

// TestJSONOnlyRescanRelinksNeighbours: three TOM-Skype builds of one
// family, scanned with pages, link each other as previous and next. A
// JSON-only rescan of the middle one with another rules pack removes its
// page (a stale rendering); the pages of the other two, not rescanned,
// must then link its record, not the page that is gone.
func TestJSONOnlyRescanRelinksNeighbours(t *testing.T) {
	corpus, kw := os.Getenv("TOMSCAN_CORPUS"), os.Getenv("TOMSCAN_KEYWORD_LISTS")
	if corpus == "" || kw == "" {
		t.Skip("TOMSCAN_CORPUS or TOMSCAN_KEYWORD_LISTS not set")
	}
	var inputs []string
	for _, name := range []string{"tom-en-3.6.0.248-nsis.exe", "tom-en-4.0.0.224-zip.zip", "tom-en-5.1.0.112-7z.7z"} {
		inputs = append(inputs, filepath.Join(corpus, "builds", name))
	}
	bin := buildBinary(t)
	work := t.TempDir()
	extra := rulesFolder(t, filepath.Join(work, "extra"), "rule Extra_Neighbours { strings: $a = \"no such text\" condition: $a }\n")
	out := filepath.Join(work, "out")
	scan := func(args ...string) {
		t.Helper()
		args = append([]string{"scan", "--out", out, "--quiet", "--keyword-lists", kw}, args...)
		if code, _, stderr := runTool(t, bin, args...); code != exitOK {
			t.Fatalf("scan %v: exit %d\n%s", args, code, stderr)
		}
	}
	scan(append([]string{"--format", "json,html"}, inputs...)...)
	keyOf := map[string]string{} // input name -> build key
	reps, _ := filepath.Glob(filepath.Join(out, archive.BuildsDir, "*", archive.ReportJSON))
	for _, p := range reps {
		r, err := reports.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		keyOf[filepath.Base(r.Build.Path)] = filepath.Base(filepath.Dir(p))
	}
	first, middle, last := keyOf[filepath.Base(inputs[0])], keyOf[filepath.Base(inputs[1])], keyOf[filepath.Base(inputs[2])]
	page := func(key string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, archive.BuildsDir, key, archive.ReportHTML))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	link := "../" + middle + "/"
	if first == "" || middle == "" || last == "" || !strings.Contains(page(first), link+archive.ReportHTML) || !strings.Contains(page(last), link+archive.ReportHTML) {
		t.Fatalf("the builds %v do not link the middle one as neighbours: the test proves nothing", keyOf)
	}
	scan("--format", "json", "--rules", extra, inputs[1])
	if _, err := os.Stat(filepath.Join(out, archive.BuildsDir, middle, archive.ReportHTML)); err == nil {
		t.Fatal("the JSON-only rescan left the middle build's page")
	}
	for name, key := range map[string]string{"first": first, "last": last} {
		if p := page(key); strings.Contains(p, link+archive.ReportHTML) || !strings.Contains(p, link+archive.ReportJSON) {
			t.Errorf("the %s build's page links the middle build's removed page, or not its record", name)
		}
	}
}
