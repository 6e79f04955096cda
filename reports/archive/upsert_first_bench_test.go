package archive

import (
	"context"
	"fmt"
	"testing"

	"github.com/tomscan/tomscan/reports/reportstest"
)

// BenchmarkUpsertBatchFirst is the archiver's work in a first scan: 60
// builds upserted into an empty index in batches of four, shaped like the
// synthetic corpus's (a TOM build's nodes, matches and endpoints, and 15
// distinct keyword lists of 440 entries, each shared by four builds: the
// corpus has 14 lists, 6,209 entries). One op is the whole archive.
func BenchmarkUpsertBatchFirst(b *testing.B) {
	const builds, batch, lists, entries = 60, 4, 15, 440
	ctx := context.Background()
	var keyed []Keyed
	for i := 0; i < builds; i++ {
		r := reportstest.Variant(reportstest.TOM(), i)
		rows, err := RowsOf(ctx, r.Build.SHA256, r)
		if err != nil {
			b.Fatal(err)
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
			b.Fatal(err)
		}
		keyed = append(keyed, Keyed{Key: r.Build.SHA256, Rows: rows})
	}
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
