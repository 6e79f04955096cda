package archive_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// TestCanonicalizeIsIdempotent: a canonical index canonicalized again is
// the same file, and Canonicalize leaves no temp file.
func TestCanonicalizeIsIdempotent(t *testing.T) {
	out := newArchive(t)
	before, err := os.ReadFile(filepath.Join(out, archive.IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	if err := archive.Canonicalize(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(filepath.Join(out, archive.IndexDB))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("a canonical index changed when canonicalized again (%v)", err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(out, ".tmp-*")); len(tmp) > 0 {
		t.Errorf("temp files left: %v", tmp)
	}
	if err := archive.Canonicalize(context.Background(), t.TempDir()); err == nil {
		t.Error("no error for an archive without an index")
	}
}

// TestCanonicalIndexHasTheSchema: Canonicalize creates the secondary
// indexes after the rows, and the copy still has every table, view and index
// a fresh index has, each as its schema says, and passes SQLite's own check.
func TestCanonicalIndexHasTheSchema(t *testing.T) {
	ctx := context.Background()
	schema := func(out string) []string {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+filepath.Join(out, archive.IndexDB)+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var ok string
		if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
			t.Errorf("%s: integrity_check %q (%v)", out, ok, err)
		}
		rows, err := db.QueryContext(ctx, `SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out2 []string
		for rows.Next() {
			var a, b, c, d string
			if err := rows.Scan(&a, &b, &c, &d); err != nil {
				t.Fatal(err)
			}
			out2 = append(out2, a+" "+b+" "+c+" "+d)
		}
		return out2
	}
	fresh := t.TempDir()
	x, err := archive.Open(ctx, fresh) // created with its indexes, no rows
	if err != nil {
		t.Fatal(err)
	}
	x.Close()
	want := schema(fresh)
	indexes := 0
	for _, e := range want {
		if strings.HasPrefix(e, "index ") && !strings.Contains(e, "sqlite_autoindex") {
			indexes++
		}
	}
	if indexes < 7 {
		t.Fatalf("a fresh index has %d secondary indexes, want at least 7:\n%s", indexes, strings.Join(want, "\n"))
	}
	canonical := newArchive(t)
	if got := schema(canonical); !slices.Equal(got, want) {
		t.Errorf("canonical index's schema:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestFlushAfterKilledRun: a run killed after its upserts, before its
// Flush, leaves an index in the order its builds finished and without the
// canonical mark; the next run's Flush canonicalizes it even when that run
// upserts nothing (a rerun that finds every report cached).
func TestFlushAfterKilledRun(t *testing.T) {
	ctx := context.Background()
	want, err := os.ReadFile(filepath.Join(newArchive(t), archive.IndexDB))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	x, err := archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	all := reportstest.All()
	keys := slices.Sorted(maps.Keys(all))
	slices.Reverse(keys)
	for _, k := range keys {
		if err := x.Upsert(ctx, k, all[k]); err != nil {
			t.Fatal(err)
		}
	}
	x.Close() // killed: no Flush
	x, err = archive.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if got, err := os.ReadFile(filepath.Join(out, archive.IndexDB)); err != nil || !bytes.Equal(got, want) {
		t.Errorf("index after a killed run and a Flush without upserts is not the canonical one (%v)", err)
	}
}

// BenchmarkCanonicalize: one canonical rewrite of an index of 20 builds of
// 2,000 nodes each (40,000 node rows, ~9 MB), what Flush adds to a scan
// that upserted builds. Figures in README "Archive index".
func BenchmarkCanonicalize(b *testing.B) {
	ctx := context.Background()
	out := b.TempDir()
	x, err := archive.Open(ctx, out)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		key := fmt.Sprintf("%064x", i+1)
		if err := x.Upsert(ctx, key, bigReport(key)); err != nil {
			b.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := archive.Canonicalize(ctx, out); err != nil {
			b.Fatal(err)
		}
	}
	st, _ := os.Stat(filepath.Join(out, archive.IndexDB))
	b.ReportMetric(float64(st.Size())/1e6, "index-MB")
}
