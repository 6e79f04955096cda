package pipeline_test

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
)

// BenchmarkLargeBuild scans one build, a stored ZIP of about 32 MB of the
// real corpus's PEs (as bench/e2e's large ZIP, smaller), in process, with
// its nodes analysed one at a time and in lanes beside the walk. On n CPUs
// the lanes should bring the time towards what the walk alone costs.
func BenchmarkLargeBuild(b *testing.B) {
	real := os.Getenv("TOMSCAN_REAL_CORPUS")
	if real == "" {
		b.Skip("TOMSCAN_REAL_CORPUS not set")
	}
	dir := b.TempDir()
	size := writePEZip(b, filepath.Join(dir, "pes.zip"), filepath.Join(real, "files"), 32<<20)
	for _, lanes := range []int{0, runtime.GOMAXPROCS(0) - 1} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			defer pipeline.SetLanes(lanes)()
			cfg := pipelinetest.Config(b)
			cfg.Jobs = 1
			cfg.Cores = 1 + lanes // the one build alone with every core
			b.SetBytes(size)
			for b.Loop() {
				pipelinetest.Scan(b, cfg, []string{dir}, func(pipeline.Result) {})
			}
		})
	}
}

// writePEZip writes a stored ZIP of the PEs under from, in name order, until
// it holds size bytes, and returns its size.
func writePEZip(b *testing.B, path, from string, size int64) int64 {
	b.Helper()
	var pes []string
	_ = filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		var h [2]byte
		if _, err := io.ReadFull(f, h[:]); err == nil && string(h[:]) == "MZ" {
			pes = append(pes, p)
		}
		return nil
	})
	if len(pes) == 0 {
		b.Skipf("no PE under %s", from)
	}
	sort.Strings(pes)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	var total int64
	for i := 0; total < size && i < len(pes); i++ {
		data, err := os.ReadFile(pes[i])
		if err != nil {
			b.Fatal(err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: filepath.Base(pes[i]), Method: zip.Store})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
		total += int64(len(data))
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	info, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	return info.Size()
}
