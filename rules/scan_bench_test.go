package rules

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
)

// BenchmarkScanSmallNode is the per-scan cost the scan pays on each of a
// build's many small nodes: variables set, libyara's scan, matches converted.
func BenchmarkScanSmallNode(b *testing.B) {
	srcs, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	set, err := Compile(context.Background(), srcs)
	if err != nil {
		b.Fatal(err)
	}
	sc, err := set.NewScanner(time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	data := make([]byte, 4096)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := Variables{FileName: "a.dll", FilePath: fmt.Sprintf("build!a%d.dll", i%64), FileType: "pe", ParentFileType: "zip", Extractor: "zip", Depth: 1}
		if _, err := sc.Scan(ctx, data, v); err != nil {
			b.Fatal(err)
		}
	}
}

// TestScanSetsChangedVariables: a scanner sets only the variables that
// changed since its last scan, so a sequence of scans must match as fresh
// scanners do, whichever variables change from one node to the next.
func TestScanSetsChangedVariables(t *testing.T) {
	ctx := context.Background()
	set, err := Compile(ctx, []Source{{Namespace: "vars", Path: "vars.yar", Text: []byte(`
rule Name { condition: filename == "a.dll" }
rule Path { condition: filepath contains "!inner" }
rule Type { condition: filetype == "pe" and parent_filetype == "zip" }
rule Extractor { condition: extractor == "zip" }
rule Deep { condition: depth >= 2 }
rule Empty { condition: filename == "" and depth == 0 }
`)}})
	if err != nil {
		t.Fatal(err)
	}
	seq := []Variables{
		{FileName: "a.dll", FilePath: "b!inner", FileType: "pe", ParentFileType: "zip", Extractor: "zip", Depth: 2},
		{FileName: "a.dll", FilePath: "b!inner", FileType: "pe", ParentFileType: "zip", Extractor: "zip", Depth: 2},
		{FileName: "c.dll", FilePath: "b!inner", FileType: "pe", ParentFileType: "zip", Extractor: "zip", Depth: 2},
		{},
		{FileName: "a.dll", Depth: 3},
		{FileName: "a.dll", FilePath: "x", FileType: "pe", ParentFileType: "msi", Extractor: "7z", Depth: 1},
		{FileType: "pe", ParentFileType: "zip", Extractor: "zip"},
		{},
		{},
	}
	sc, err := set.NewScanner(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	names := func(ms []artifact.Match) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Rule)
		}
		return out
	}
	for i, v := range seq {
		got, err := sc.Scan(ctx, []byte("x"), v)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := set.NewScanner(time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fresh.Scan(ctx, []byte("x"), v)
		fresh.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(names(got), names(want)) {
			t.Errorf("scan %d %+v: got %v, fresh scanner %v", i, v, names(got), names(want))
		}
	}
}
