package schema_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"

	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
	"github.com/tomscan/tomscan/reports/schema"
)

var update = flag.Bool("update", false, "regenerate report.schema.json from the Go types")

func TestSchemaIsCurrent(t *testing.T) {
	got, err := schema.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("report.schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, schema.JSON) {
		t.Fatal("report.schema.json is stale: a report type changed. Run go test ./reports/schema -update, and bump reports.SchemaVersion")
	}
	var doc map[string]any
	if err := json.Unmarshal(schema.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["x-tomscan-schema"] != reports.SchemaVersion {
		t.Errorf("schema version %v, reports.SchemaVersion %s", doc["x-tomscan-schema"], reports.SchemaVersion)
	}
	// every section the report promises is described, down to PE and TOM
	defs, _ := doc["$defs"].(map[string]any)
	for _, d := range []string{"reports.Report", "reports.Tool", "reports.RulesInfo", "limits.Limits", "reports.BuildRef",
		"reports.Summary", "tom.Result", "tom.Verdict", "artifact.Node", "artifact.Match", "artifact.Finding",
		"artifact.Issue", "artifact.Installer", "pe.Summary", "pe.Signature", "pe.VersionInfo", "pe.StringSet"} {
		if defs[d] == nil {
			t.Errorf("schema lacks $defs/%s", d)
		}
	}
}

func TestFixturesValidate(t *testing.T) {
	for key, r := range reportstest.All() {
		js, err := reports.EncodeJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(js); err != nil {
			t.Errorf("fixture %s: %v", key[:4], err)
		}
	}
	golden, _ := filepath.Glob("../testdata/golden/*.report.json")
	if len(golden) == 0 {
		t.Fatal("no golden reports in ../testdata/golden")
	}
	for _, f := range golden {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestSchemaRejects: the schema is strict enough to catch broken reports.
func TestSchemaRejects(t *testing.T) {
	js, err := reports.EncodeJSON(reportstest.TOM())
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(m map[string]any){
		"unknown status":     func(m map[string]any) { m["status"] = "fine" },
		"no tree":            func(m map[string]any) { delete(m, "tree") },
		"unknown field":      func(m map[string]any) { m["surprise"] = 1 },
		"bad sha256":         func(m map[string]any) { m["build"].(map[string]any)["sha256"] = "xyz" },
		"bad schema version": func(m map[string]any) { m["schema_version"] = "one" },
		"node size string":   func(m map[string]any) { m["tree"].(map[string]any)["size"] = "big" },
		"child without path": func(m map[string]any) {
			delete(m["tree"].(map[string]any)["children"].([]any)[0].(map[string]any), "path")
		},
		"unknown verdict": func(m map[string]any) {
			m["tom"].(map[string]any)["verdict"].(map[string]any)["kind"] = "maybe"
		},
		"unknown issue kind": func(m map[string]any) {
			m["tree"].(map[string]any)["issues"] = []any{map[string]any{"kind": "oops", "stage": "x", "message": "y"}}
		},
	} {
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		b, _ := json.Marshal(m)
		if err := schema.Validate(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestCorpusReportsValidate scans every build of the synthetic corpus with
// the real pipeline, validates each report, and checks that an archive of
// them indexes consistently.
func TestCorpusReportsValidate(t *testing.T) {
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS is not set (make test sets it)")
	}
	ctx := context.Background()
	cfg := pipelinetest.Config(t)
	cfg.Jobs = runtime.NumCPU()
	cfg.Tool = reports.Tool{Name: "tomscan", Version: "test", Dependencies: map[string]string{}}
	out := t.TempDir()
	n := 0
	pipelinetest.Scan(t, cfg, []string{filepath.Join(dir, "builds")}, func(r pipeline.Result) {
		n++
		js, err := reports.EncodeJSON(r.Report)
		if err != nil {
			t.Error(err)
			return
		}
		if err := schema.Validate(js); err != nil {
			t.Errorf("%s: %v", r.Report.Build.Path, err)
		}
		if err := archive.WriteBuild(out, r.Build.Key, r.Report, map[string]bool{"md": true, "html": true}); err != nil {
			t.Error(err)
		}
	})
	if n == 0 {
		t.Fatalf("no builds in %s", dir)
	}
	if _, err := archive.Reindex(ctx, out); err != nil {
		t.Fatal(err)
	}
	res, err := archive.Query(ctx, out, `SELECT b.sha256, b.nodes, (SELECT count(*) FROM nodes n WHERE n.build = b.sha256),
  b.matches, (SELECT count(*) FROM matches m WHERE m.build = b.sha256) FROM builds b`)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != n {
		t.Errorf("index has %d builds, scanned %d", len(res.Rows), n)
	}
	for _, row := range res.Rows {
		if archive.Cell(row[1]) != archive.Cell(row[2]) || archive.Cell(row[3]) != archive.Cell(row[4]) {
			t.Errorf("index inconsistent for %s: %v", archive.Cell(row[0]), row)
		}
	}
	t.Logf("%d corpus reports valid; archive in %s", n, strings.TrimSpace(out))
}
