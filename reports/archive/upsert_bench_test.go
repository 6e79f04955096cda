package archive_test

import (
	"context"
	"testing"

	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// BenchmarkUpsertBatchReplace is the archiver's work in a rules-only
// rescan: every build of the archive is upserted again, in batches of a
// few, over rows that are already there (TOM builds, whose keyword lists
// every build of a batch shares). One op is the whole archive of 60 builds.
func BenchmarkUpsertBatchReplace(b *testing.B) {
	const builds, batch = 60, 4
	ctx := context.Background()
	x, err := archive.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	var keyed []archive.Keyed
	for i := 0; i < builds; i++ {
		r := reportstest.Variant(reportstest.TOM(), i)
		rows, err := archive.RowsOf(ctx, r.Build.SHA256, r)
		if err != nil {
			b.Fatal(err)
		}
		keyed = append(keyed, archive.Keyed{Key: r.Build.SHA256, Rows: rows})
	}
	upsertAll := func() {
		for i := 0; i < len(keyed); i += batch {
			if err := x.UpsertBatch(ctx, keyed[i:min(i+batch, len(keyed))]); err != nil {
				b.Fatal(err)
			}
		}
	}
	upsertAll() // the archive as the first scan left it
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		upsertAll()
	}
}
