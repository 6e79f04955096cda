package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	batch := []pipeline.Result{workerResult(t, scratch, 1, true), workerResult(t, scratch, 2, false), workerResult(t, scratch, 3, true)}
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

// workerResult is build i as a worker hands it over: its report prepared,
// and its report.json written to scratch unless write is false.
func workerResult(t *testing.T, scratch string, i int, write bool) pipeline.Result {
	t.Helper()
	r := reportstest.Variant(reportstest.Regular(), i)
	key := r.Build.SHA256
	js, err := reports.EncodeJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	p, err := archive.Prepare(context.Background(), key, r, archive.PageSpec{}, nil)
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

// TestArchiverDoesNotLingerAtTheEnd: while more builds are to come than can
// be in flight, the archiver waits for more before it writes (here an hour:
// the build stays unarchived until the run closes the queue); once every
// build still to come is in flight, each is written as it comes, with the
// run still going.
func TestArchiverDoesNotLingerAtTheEnd(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name              string
		expect, inFlight  int
		archivedBeforeEnd bool
	}{
		{"not known how many come", 0, 2, false},
		{"more to come than in flight", 4, 2, false},
		{"the rest in flight", 3, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, scratch := t.TempDir(), t.TempDir()
			index, err := archive.Open(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			defer index.Close()
			archived := make(chan string, 4)
			a := startArchiver(ctx, &archiver{out: out, index: index, want: map[string]bool{"json": true},
				expect: tc.expect, inFlight: tc.inFlight, linger: time.Hour,
				archived: func(r pipeline.Result) { archived <- r.Build.Key },
				failed:   func(err error) { t.Errorf("archiver failed: %v", err) }})
			first := workerResult(t, scratch, 1, true)
			a.add(first)
			// A write at once takes milliseconds; waiting the other way is
			// bounded by how long this test may take (an hour of linger).
			wait := 200 * time.Millisecond
			if tc.archivedBeforeEnd {
				wait = time.Minute
			}
			select {
			case key := <-archived:
				if !tc.archivedBeforeEnd {
					t.Fatalf("build %s archived while the archiver should wait for more", key)
				}
			case <-time.After(wait):
				if tc.archivedBeforeEnd {
					t.Fatal("the build was not archived while the run went on: the archiver lingered")
				}
			}
			if err := a.close(); err != nil {
				t.Fatal(err)
			}
			if !tc.archivedBeforeEnd && len(archived) != 1 {
				t.Fatalf("%d builds archived when the run ended, want 1", len(archived))
			}
			if _, status, err := index.CacheKey(ctx, first.Build.Key); err != nil || status == "" {
				t.Fatalf("build not indexed: status %q, %v", status, err)
			}
		})
	}
}
