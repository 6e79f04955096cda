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

// TestCheckMZ: an MZ file cut before its PE header is truncated with the
// sizes: the 2-byte "MZ", a 76-byte DOS stub whose e_lfanew (0x80) points
// past the end (the campaign found it reported succeeded once), a stub cut
// inside the PE signature; a DOS program (e_lfanew 0 or inside the file
// with no PE signature there) and non-MZ data are not.
func TestCheckMZ(t *testing.T) {
	stub := func(n int, lfanew uint32) []byte {
		b := make([]byte, n)
		copy(b, "MZ")
		if n >= 0x40 {
			b[0x3c], b[0x3d], b[0x3e], b[0x3f] = byte(lfanew), byte(lfanew>>8), byte(lfanew>>16), byte(lfanew>>24)
		}
		return b
	}
	cutSig := stub(0x82, 0x80)
	copy(cutSig[0x80:], "PE")
	for _, tc := range []struct {
		name     string
		data     []byte
		expected int64 // 0: not truncated
	}{
		{"two bytes", []byte("MZ"), 0x40},
		{"DOS header cut", stub(40, 0), 0x40},
		{"76-byte stub, e_lfanew past the end", stub(76, 0x80), 0x80 + 24},
		{"cut inside the PE signature", cutSig, 0x80 + 24},
		{"DOS program, e_lfanew 0", stub(200, 0), 0},
		{"DOS program, e_lfanew inside, no PE", stub(300, 0x80), 0},
		{"not MZ", []byte("PK\x03\x04 not a PE at all"), 0},
	} {
		tr := CheckMZ(tc.data)
		switch {
		case tc.expected == 0 && tr != nil:
			t.Errorf("%s: truncated %v, want none", tc.name, tr)
		case tc.expected != 0 && (tr == nil || tr.Expected != tc.expected || tr.Actual != int64(len(tc.data))):
			t.Errorf("%s: %+v, want truncated: %d bytes, headers need %d", tc.name, tr, len(tc.data), tc.expected)
		}
	}
}
