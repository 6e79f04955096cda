package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// TestArchiverSyncsWorkerReports: the report files workers write unsynced
// are synced by the archiver before they are moved into the archive; one
// that cannot be (gone from the scratch folder) is not archived, nor is any
// build after it, and the run is told why, while the builds before it are
// archived and indexed.
func TestArchiverSyncsWorkerReports(t *testing.T) {
	ctx := context.Background()
	out, scratch := t.TempDir(), t.TempDir()
	index, err := archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer index.Close()
	result := func(i int, write bool) pipeline.Result {
		r := reportstest.Variant(reportstest.Regular(), i)
		key := r.Build.SHA256
		js, err := reports.EncodeJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		p, err := archive.Prepare(ctx, key, r, archive.PageSpec{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(scratch, key+".json")
		if write {
			if err := os.WriteFile(file, js, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return pipeline.Result{Build: &pipeline.Build{Key: key}, JSON: js, JSONFile: file, Prepared: p}
	}
	batch := []pipeline.Result{result(1, true), result(2, false), result(3, true)}
	var archived []string
	var failure error
	a := &archiver{out: out, index: index, want: map[string]bool{"json": true},
		archived: func(r pipeline.Result) { archived = append(archived, r.Build.Key) },
		failed:   func(err error) { failure = err }}
	a.write(ctx, batch)
	if len(archived) != 1 || archived[0] != batch[0].Build.Key {
		t.Fatalf("archived %v, want only the first build", archived)
	}
	if failure == nil || !strings.Contains(failure.Error(), "sync report") {
		t.Fatalf("failure = %v, want the sync of the second build's report", failure)
	}
	got, err := os.ReadFile(filepath.Join(reports.BuildDir(out, batch[0].Build.Key), archive.ReportJSON))
	if err != nil || string(got) != string(batch[0].JSON) {
		t.Fatalf("first build's report.json: %v (%d bytes, want %d)", err, len(got), len(batch[0].JSON))
	}
	for _, r := range batch[1:] {
		if _, err := os.Stat(reports.BuildDir(out, r.Build.Key)); !os.IsNotExist(err) {
			t.Errorf("build %s after the failed sync has a folder in the archive (%v)", r.Build.Key, err)
		}
	}
	for i, r := range batch {
		_, status, err := index.CacheKey(ctx, r.Build.Key)
		if err != nil {
			t.Fatal(err)
		}
		if indexed := status != ""; indexed != (i == 0) {
			t.Errorf("build %d indexed: %v, want %v", i+1, indexed, i == 0)
		}
	}
}
