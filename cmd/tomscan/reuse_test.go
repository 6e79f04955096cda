package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/rules"
)

// TestReuseAfterKilledRunReadsReportKey: a run killed after it wrote a
// build's report but before it upserted the build's rows (the archiver
// writes a batch of builds, then upserts them) leaves a report newer than
// its row. The next scan must not trust the row: the build whose report
// was made under other rules is scanned again, the others are reused, and
// the archive ends as it was.
func TestReuseAfterKilledRunReadsReportKey(t *testing.T) {
	inputs, kw := everyFourthBuild(t, 2)
	if len(inputs) > 3 {
		inputs = inputs[:3]
	}
	bin := buildBinary(t)
	work := t.TempDir()
	extra := rulesFolder(t, filepath.Join(work, "extra"), "rule Extra_Reuse { strings: $a = \"This program\" condition: $a }\n")
	scan := func(out string, extraArgs ...string) string {
		t.Helper()
		args := append([]string{"scan", "--out", out, "--format", "json,md,html", "--keyword-lists", kw}, extraArgs...)
		cmd := exec.Command(bin, append(args, inputs...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("scan %v: %v\n%s", extraArgs, err, stderr.String())
		}
		return stderr.String()
	}
	out, other := filepath.Join(work, "out"), filepath.Join(work, "other")
	scan(out)
	want := archiveFiles(t, out)
	scan(other, "--rules", extra)

	// the killed run: one build's report replaced, its row not, and the
	// canonical mark gone (the run cleared it before writing)
	reportsOf, _ := filepath.Glob(filepath.Join(out, "builds", "*", "report.json"))
	if len(reportsOf) != len(inputs) {
		t.Fatalf("%d reports for %d inputs", len(reportsOf), len(inputs))
	}
	key := filepath.Base(filepath.Dir(reportsOf[0]))
	newer, err := os.ReadFile(filepath.Join(other, "builds", key, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(newer, want["builds/"+key+"/report.json"]) {
		t.Fatal("the extra rule changed nothing: the test proves nothing")
	}
	if err := os.WriteFile(reportsOf[0], newer, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(out, "index.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM meta WHERE key = 'canonical'`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	errOut := scan(out)
	if !strings.Contains(errOut, " "+itoa(len(inputs)-1)+" reused;") {
		t.Errorf("after the killed run, want every build but one reused: %s", errOut)
	}
	sameArchive(t, "archive healed after a killed run", want, archiveFiles(t, out))
}

// TestArchivedRulesInfoIsTheCompiledRules: an unchanged rescan makes its
// builds' keys from the rules section of one archived report instead of
// compiling the rules (archivedRulesInfo, reading that section alone:
// reports.ReadRules). It must describe the rules exactly as compiling them
// does, or no build would be reused before the rules are compiled.
func TestArchivedRulesInfoIsTheCompiledRules(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	in := filepath.Join(work, "in.bin")
	if err := os.WriteFile(in, []byte("not an installer, a text of a few words\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "out")
	var stderr bytes.Buffer
	if code, err := cmdScan(ctx, []string{"--out", out, "--in-process", "--quiet", "--format", "json", in}, io.Discard, &stderr); code != exitOK || err != nil {
		t.Fatalf("scan: exit %d, %v\n%s", code, err, stderr.String())
	}
	srcs, err := loadRuleSources(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Compile(ctx, srcs)
	if err != nil {
		t.Fatal(err)
	}
	index, err := archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer index.Close()
	got, ok, err := archivedRulesInfo(ctx, out, index, toolInfo(), srcs)
	if err != nil || !ok {
		t.Fatalf("archivedRulesInfo: ok %v, %v: the rescan would compile the rules", ok, err)
	}
	if want := pipeline.RulesInfo(set.Sources, set.Digest, len(set.Names)); !reflect.DeepEqual(got, want) {
		t.Errorf("from the archive %+v, compiled %+v", got, want)
	}
}
