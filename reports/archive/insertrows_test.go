package archive

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/reports/reportstest"
)

// Rows go into the index several to a statement (insertRows): every row
// must arrive, in its order, whatever the count against the statement
// sizes, and a row of another width must be refused, never shifted into
// its neighbour's columns.
func TestInsertRowsKeepsEveryRowInOrder(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 1, 2, 31, 63, 64, 65, 127, 128, 129, 200, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x, err := Open(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			r := reportstest.TOM()
			key := r.Build.SHA256
			rows, err := RowsOf(ctx, key, r)
			if err != nil {
				t.Fatal(err)
			}
			// n entries (a list) and n more nodes than the fixture's
			kws := make([]string, n)
			for i := range kws {
				kws[i] = fmt.Sprintf("entry %d\x00\xff", i) // bytes kept as they are
			}
			d := keywordsDigest(kws)
			rows.Lists = map[string][]string{d: kws}
			for _, row := range rows.Tables["build_lists"] {
				row[len(row)-1] = d
			}
			model := rows.Tables["nodes"][0]
			for i := 0; i < n; i++ {
				row := slices.Clone(model)
				row[1] = fmt.Sprintf("extra/%04d", n-i) // ids not in insertion order
				rows.Tables["nodes"] = append(rows.Tables["nodes"], row)
			}
			if err := x.UpsertBatch(ctx, []Keyed{{Key: key, Rows: rows}}); err != nil {
				t.Fatal(err)
			}
			var count, first, last int
			if err := x.db.QueryRowContext(ctx, `SELECT count(*), coalesce(min(position), 0), coalesce(max(position), -1) FROM list_keywords WHERE digest = ?`, d).Scan(&count, &first, &last); err != nil {
				t.Fatal(err)
			}
			if count != n || first != 0 || last != n-1 {
				t.Fatalf("%d entries at positions %d to %d, want %d at 0 to %d", count, first, last, n, n-1)
			}
			if got := column(t, x, `SELECT keyword FROM list_keywords WHERE digest = ? ORDER BY position`, d); !slices.Equal(got, kws) {
				t.Fatalf("list_keywords holds %d entries, not the %d given in their order", len(got), len(kws))
			}
			ids := column(t, x, `SELECT id FROM nodes WHERE build = ? ORDER BY rowid`, key)
			var want []string
			for _, row := range rows.Tables["nodes"] {
				want = append(want, row[1].(string))
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("nodes in rowid order %v, inserted %v", ids, want)
			}
		})
	}
}

// column is the first column of q's rows, as strings.
func column(t *testing.T, x *Index, q string, args ...any) []string {
	t.Helper()
	rs, err := x.db.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var v string
		if err := rs.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRowsOfAnotherWidthAreRefused(t *testing.T) {
	ctx := context.Background()
	r := reportstest.TOM()
	key := r.Build.SHA256
	for _, table := range []string{"nodes", "matches", "endpoints", "builds", "build_meta"} {
		for _, delta := range []int{-1, 1} {
			rows, err := RowsOf(ctx, key, r)
			if err != nil {
				t.Fatal(err)
			}
			row := rows.Tables[table][0]
			if delta < 0 {
				row = row[:len(row)-1]
			} else {
				row = append(slices.Clone(row), "extra")
			}
			rows.Tables[table][0] = row
			err = rows.check(key)
			if err == nil || !strings.Contains(err.Error(), "a "+table+" row of") {
				t.Errorf("%s row of %d columns: check says %v", table, len(row), err)
			}
			// and the statement itself refuses it, whoever calls it
			x, err := Open(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			w := &batchWriter{db: x.db, size: 2}
			if err := w.addRows(ctx, key, rows, false); err == nil || !strings.Contains(err.Error(), "values, not") {
				t.Errorf("%s row of %d columns: inserted (%v)", table, len(row), err)
			}
			w.rollback()
			x.Close()
		}
	}
}

// A build upserted again after a Flush (which gave it page_links rows)
// has those rows deleted and none inserted: no statement for them.
func TestUpsertAfterFlushReplacesPageLinks(t *testing.T) {
	ctx := context.Background()
	x, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	a, b := reportstest.Variant(reportstest.TOM(), 1), reportstest.Variant(reportstest.TOM(), 2)
	if err := x.Upsert(ctx, a.Build.SHA256, a); err != nil {
		t.Fatal(err)
	}
	if err := x.Upsert(ctx, b.Build.SHA256, b); err != nil {
		t.Fatal(err)
	}
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var links int
	if err := x.db.QueryRowContext(ctx, `SELECT count(*) FROM page_links`).Scan(&links); err != nil {
		t.Fatal(err)
	}
	if links == 0 {
		t.Fatal("Flush made no page_links rows: the test shows nothing")
	}
	b.Status = "partial"
	if err := x.Upsert(ctx, b.Build.SHA256, b); err != nil {
		t.Fatalf("upsert after Flush: %v", err)
	}
}
