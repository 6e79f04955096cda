package cabfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// TestCorpusMatchesCabextract compares every cabinet of the synthetic and
// real corpora with cabextract.
func TestCorpusMatchesCabextract(t *testing.T) {
	files := unpacktest.CorpusFiles(t, []byte("MSCF\x00\x00\x00\x00"))
	needTool(t, "cabextract")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, issues, err := walkCab(t, data, 1<<32)
		if err != nil || len(issues) > 0 {
			t.Errorf("%s: err %v, issues %q", p, err, issues)
		}
		compareListings(t, filepath.Base(p), got, cabextractListing(t, p))
	}
	t.Logf("%d cabinets compared with cabextract", len(files))
}
