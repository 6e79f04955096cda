package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

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
	extra := filepath.Join(work, "extra")
	if err := os.MkdirAll(extra, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(extra, "extra.yar"), []byte("rule Extra_Stale { strings: $a = \"stale page\" condition: $a }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
