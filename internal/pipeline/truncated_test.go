package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
	"github.com/tomscan/tomscan/reports"
)

// TestTruncatedPEIsPartial: issue 13's damaged-PE cases through the whole
// pipeline. Real PEs cut to 60% (Inno Setup's signed ISCC.exe, wine's
// notepad.exe) come back partial and a 2-byte "MZ" file failed (nothing
// of it could be read: README, status), each with a truncated issue on the
// node naming the expected and actual sizes, and a cut PE gets no [overlay]
// child: nothing was appended to it. None is ever succeeded.
func TestTruncatedPEIsPartial(t *testing.T) {
	real := os.Getenv("TOMSCAN_REAL_CORPUS")
	if real == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, src := range []string{
		"files/npm/innosetup/package/bin/ISCC.exe",
		"files/deb/libwine/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/notepad.exe",
	} {
		b, err := os.ReadFile(filepath.Join(real, src))
		if err != nil {
			t.Fatal(err)
		}
		write("cut-"+filepath.Base(src), b[:len(b)*60/100])
	}
	write("two-bytes.exe", []byte("MZ"))
	seen := 0
	pipelinetest.Scan(t, pipelinetest.Config(t), []string{dir}, func(r pipeline.Result) {
		seen++
		root := r.Report.Tree
		want := reports.StatusPartial
		if root.Name == "two-bytes.exe" {
			want = reports.StatusFailed
		}
		if r.Report.Status != want {
			t.Errorf("%s: status %s, want %s", root.Name, r.Report.Status, want)
		}
		var msg string
		for _, is := range root.Issues {
			if is.Kind == artifact.KindTruncated {
				msg = is.Message
			}
		}
		if !strings.Contains(msg, "bytes, its headers need") {
			t.Errorf("%s: no truncated issue with sizes: %+v", root.Name, root.Issues)
		}
		for _, c := range root.Children {
			if c.Name == "[overlay]" {
				t.Errorf("%s: [overlay] child of a cut PE", root.Name)
			}
		}
		t.Logf("%s: %s: %s", root.Name, r.Report.Status, msg)
	})
	if seen != 3 {
		t.Errorf("%d reports, want 3", seen)
	}
}
