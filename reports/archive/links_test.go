package archive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// TestRelinkedPagesEqualRebuild: builds of one family archived a few at a
// time, each batch moving the neighbours of pages written before (which
// Flush then patches in place, reports.RelinkHTML), end with the same
// report.html files, byte for byte, as a rebuild that renders every page
// from its report.json.
func TestRelinkedPagesEqualRebuild(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	formats := map[string]bool{"html": true, "md": true}
	var keys []string
	// Versions interleave across batches (i%3 picks the batch), so a later
	// batch lands between builds archived before.
	for batch := 0; batch < 3; batch++ {
		x, err := archive.Open(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		for i := batch; i < 12; i += 3 {
			for _, mk := range []func() *reports.Report{reportstest.TOM, reportstest.Regular, reportstest.HostileBuild} {
				r := reportstest.Variant(mk(), i)
				key := r.Build.SHA256
				if err := archive.WriteBuild(out, key, r, formats); err != nil {
					t.Fatal(err)
				}
				if err := x.Upsert(ctx, key, r); err != nil {
					t.Fatal(err)
				}
				keys = append(keys, key)
			}
		}
		if err := x.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
	}
	read := func() map[string][]byte {
		pages := map[string][]byte{}
		for _, k := range keys {
			b, err := os.ReadFile(filepath.Join(reports.BuildDir(out, k), archive.ReportHTML))
			if err != nil {
				t.Fatal(err)
			}
			pages[k] = b
		}
		return pages
	}
	incremental := read()
	linked := 0
	for _, p := range incremental {
		if bytes.Contains(p, []byte(`id="link-prev"`)) && bytes.Contains(p, []byte(`id="link-next"`)) {
			linked++
		}
	}
	if linked < len(keys)/2 {
		t.Fatalf("only %d of %d pages link both ways: the test does not exercise relinking", linked, len(keys))
	}
	if _, err := archive.Rebuild(ctx, out); err != nil {
		t.Fatal(err)
	}
	for k, want := range read() {
		if got := incremental[k]; !bytes.Equal(got, want) {
			t.Errorf("%s: page relinked in place differs from the page a rebuild renders:\n%s", k, firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	cut := func(x []byte) string { return strings.ToValidUTF8(string(x[from:min(len(x), i+80)]), "?") }
	return "got:  " + cut(a) + "\nwant: " + cut(b)
}
