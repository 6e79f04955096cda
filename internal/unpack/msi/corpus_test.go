package msi

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// TestCorpusMatchesMsiextract runs the extractor on every MSI build of the
// synthetic corpus and compares (name, size, sha256) with msiextract's
// output, printing the comparison table.
func TestCorpusMatchesMsiextract(t *testing.T) {
	files := unpacktest.CorpusFiles(t, oleMagic)
	needTools(t, "msiextract")
	var table strings.Builder
	n := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := runExtract(t, data)
		if err != nil {
			t.Errorf("%s: extract: %v", p, err)
		}
		if s.installer == nil {
			continue // an OLE file that is not an MSI
		}
		n++
		compareTables(t, p, s)
		if _, ok := s.installer.Tables["File"]; !ok {
			// A database without a File table (an ICE .cub, a merge of
			// tables only): msiextract fails on it, and it installs nothing.
			for name := range s.entries {
				if !isStreamName(name) {
					t.Errorf("%s: no File table, yet %q listed as an installed file", p, name)
				}
			}
			fmt.Fprintf(&table, "%s: no File table, %d streams\n", filepath.Base(p), len(s.entries))
			continue
		}
		ref := msiextractListing(t, p)
		names := map[string]bool{}
		for k := range ref {
			names[k] = true
		}
		for k := range s.entries {
			if !isStreamName(k) {
				names[k] = true
			}
		}
		var sorted []string
		for k := range names {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		fmt.Fprintf(&table, "%s (%d files):\n", filepath.Base(p), len(ref))
		for _, k := range sorted {
			status := "same"
			if s.entries[k] != ref[k] {
				status = "DIFFERENT"
				t.Errorf("%s: %s: msi %q, msiextract %q", p, k, s.entries[k], ref[k])
			}
			fmt.Fprintf(&table, "  %-9s %-50s %s\n", status, k, ref[k])
		}
	}
	t.Logf("%d MSIs compared with msiextract:\n%s", n, table.String())
}

// isStreamName tells the extractor's stream children (Binary.x, Icon.x,
// [5]SummaryInformation) from installed files.
func isStreamName(name string) bool {
	return strings.HasPrefix(name, "Binary.") || strings.HasPrefix(name, "Icon.") || strings.HasPrefix(name, "[")
}

// TestCorpusSignatures checks every MSI build of the synthetic corpus: an
// MSI signature names the manifest's signer and its digest over the streams
// matches.
func TestCorpusSignatures(t *testing.T) {
	builds := unpacktest.CorpusBuilds(t, oleMagic)
	for _, b := range builds {
		s, err := runExtract(t, b.Data)
		if err != nil {
			t.Errorf("%s: %v", b.ID, err)
		}
		unpacktest.CheckContainerSignature(t, b, s.sig)
	}
	t.Logf("%d MSI builds checked", len(builds))
}

// compareTables checks every recorded table but those with stream columns
// against msiinfo export.
func compareTables(t *testing.T, msi string, s *outcome) {
	t.Helper()
	for name, got := range s.installer.Tables {
		if name == "Binary" || name == "Icon" {
			continue
		}
		want := msiinfoExport(t, msi, name)
		if strings.Join(got.Columns, "\t") != want[0][0] {
			t.Errorf("%s: %s columns %q, msiinfo %q", filepath.Base(msi), name, got.Columns, want[0][0])
		}
		if g, w := strings.Join(rowsText(got.Rows), "\n"), strings.Join(want[1], "\n"); g != w {
			t.Errorf("%s: %s rows differ from msiinfo export:\n%s\n--- msiinfo:\n%s", filepath.Base(msi), name, g, w)
		}
	}
}
