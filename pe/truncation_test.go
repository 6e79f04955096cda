package pe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTruncated: every corpus PE is whole; cutting 1 to 64 bytes off one
// (its certificate table or its last section) is seen.
func TestTruncated(t *testing.T) {
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "builds", "*.exe"))
	if len(files) == 0 {
		t.Fatal("no corpus PEs")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !IsPE(data) {
			continue
		}
		if msg := Truncated(data); msg != "" {
			t.Errorf("%s: whole file reported truncated: %s", filepath.Base(f), msg)
		}
		end := len(data)
		if s, err := Analyze(t.Context(), data, Options{}); err == nil && s.Overlay != nil && s.Signature == nil {
			end = int(s.Overlay.Offset) // unsigned, with an overlay: the overlay's own format says
		}
		for _, cut := range []int{1, 17, 64} {
			if msg := Truncated(data[:end-cut]); !strings.Contains(msg, "missing") {
				t.Errorf("%s cut by %d: %q", filepath.Base(f), cut, msg)
			}
		}
	}
}
