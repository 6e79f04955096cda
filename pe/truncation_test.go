package pe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTruncationSweep is issue 13's figure at the PE level: every real
// corpus PE, whole, is not truncated; cut to 10%, 30%, 60% and 90% of its
// size it is either refused (an error: the node gets a parse-error issue)
// or summarised with Truncated set (a truncated issue), never a clean
// summary, and no overlay is claimed for a cut inside the sections. The
// pipeline turns both into a partial status (TestTruncatedPEIsPartial).
func TestTruncationSweep(t *testing.T) {
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set")
	}
	paths := realPEs(t, dir)
	if raceEnabled { // the full sweep runs without -race: go test ./pe -run TruncationSweep
		var sample []string
		for i := 0; i < len(paths); i += 4 {
			sample = append(sample, paths[i])
		}
		paths = sample
	}
	cuts := []int{10, 30, 60, 90}
	refused, truncated, clean, inOverlay := map[int]int{}, map[int]int{}, map[int]int{}, map[int]int{}
	var bad []string
	wholeTruncated := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := Analyze(context.Background(), b, Options{})
		if err == nil && whole.Truncated != nil {
			wholeTruncated++
			t.Logf("whole file truncated: %s: %s", filepath.Base(p), whole.Truncated.Error())
		}
		for _, pct := range cuts {
			cut := b[:len(b)*pct/100]
			s, err := Analyze(context.Background(), cut, Options{})
			switch {
			case err == nil && s.Truncated == nil && whole != nil && whole.Overlay != nil && whole.Overlay.Offset <= int64(len(cut)):
				// Cut inside appended data (an installer's payload): the
				// PE itself is whole; the overlay's extractor judges the rest.
				inOverlay[pct]++
			case err != nil:
				refused[pct]++
			case s.Truncated != nil:
				truncated[pct]++
				if s.Overlay != nil && endsInSections(s, len(cut)) {
					bad = append(bad, fmt.Sprintf("%s at %d%%: overlay claimed at %d in a cut PE", filepath.Base(p), pct, s.Overlay.Offset))
				}
			default:
				clean[pct]++
				bad = append(bad, fmt.Sprintf("%s at %d%%: clean summary", filepath.Base(p), pct))
			}
		}
	}
	var line strings.Builder
	for _, pct := range cuts {
		fmt.Fprintf(&line, "%d%%: %d refused, %d truncated, %d clean, %d cut in the overlay; ", pct, refused[pct], truncated[pct], clean[pct], inOverlay[pct])
	}
	t.Logf("%d real PEs cut: %s%d whole files truncated", len(paths), line.String(), wholeTruncated)
	if wholeTruncated > 0 {
		t.Errorf("%d intact real PEs reported truncated", wholeTruncated)
	}
	for i, m := range bad {
		if i == 30 {
			t.Errorf("... and %d more", len(bad)-30)
			break
		}
		t.Error(m)
	}
}

// endsInSections: some section's raw data runs past n bytes.
func endsInSections(s *Summary, n int) bool {
	for _, sec := range s.Sections {
		if sec.RawSize > 0 && int64(sec.RawOffset)+int64(sec.RawSize) > int64(n) {
			return true
		}
	}
	return false
}
