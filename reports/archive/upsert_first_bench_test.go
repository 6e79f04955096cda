package archive

import (
	"context"
	"fmt"
	"testing"

	"github.com/tomscan/tomscan/reports/reportstest"
)

// syntheticKeyed is 60 builds shaped like the synthetic corpus's, as the
// workers hand them to the archiver: a TOM build's nodes, matches and
// endpoints, and 15 distinct keyword lists of 440 entries, each shared by
// four builds (the corpus has 14 lists, 6,209 entries).
func syntheticKeyed(tb testing.TB) []Keyed {
	const builds, lists, entries = 60, 15, 440
	ctx := context.Background()
	var keyed []Keyed
	for i := 0; i < builds; i++ {
		r := reportstest.Variant(reportstest.TOM(), i)
		rows, err := RowsOf(ctx, r.Build.SHA256, r)
		if err != nil {
			tb.Fatal(err)
		}
		kws := make([]string, entries)
		for k := range kws {
			kws[k] = fmt.Sprintf("关键词 %d of list %d", k, i%lists)
		}
		d := keywordsDigest(kws)
		rows.Lists = map[string][]string{d: kws}
		for _, row := range rows.Tables["build_lists"] {
			row[len(row)-1] = d
		}
		if err := rows.check(r.Build.SHA256); err != nil {
			tb.Fatal(err)
		}
		keyed = append(keyed, Keyed{Key: r.Build.SHA256, Rows: rows})
	}
	return keyed
}

// BenchmarkUpsertBatchFirst is the archiver's work in a first scan: the
// syntheticKeyed builds upserted into an empty index in batches of four.
// One op is the whole archive.
func BenchmarkUpsertBatchFirst(b *testing.B) {
	const batch = 4
	ctx := context.Background()
	keyed := syntheticKeyed(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		x, err := Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for j := 0; j < len(keyed); j += batch {
			if err := x.UpsertBatch(ctx, keyed[j:min(j+batch, len(keyed))]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		x.Close()
		b.StartTimer()
	}
}

// BenchmarkCanonicalizeSynthetic: the canonical copy Flush makes of an
// index of the syntheticKeyed builds (1.1 MB, three quarters of it keyword
// lists and their index), what a rules-only rescan of the synthetic corpus
// pays at its end. 19.5-20.9 ms an op when every table was copied sorted
// with a 2 MB page cache; 13.6-14.1 ms with list_keywords and its index
// transferred as stored and a 256 KiB cache (five runs each).
func BenchmarkCanonicalizeSynthetic(b *testing.B) {
	ctx := context.Background()
	out := b.TempDir()
	x, err := Open(ctx, out)
	if err != nil {
		b.Fatal(err)
	}
	if err := x.UpsertBatch(ctx, syntheticKeyed(b)); err != nil {
		b.Fatal(err)
	}
	if err := x.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Canonicalize(ctx, out); err != nil {
			b.Fatal(err)
		}
	}
}
