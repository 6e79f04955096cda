package cabfile

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// corpusFiles lists every file under the corpora named by the environment
// whose first bytes start with magic.
func corpusFiles(t *testing.T, magic []byte) []string {
	t.Helper()
	var roots []string
	for _, v := range []string{"TOMSCAN_CORPUS", "TOMSCAN_REAL_CORPUS"} {
		if d := os.Getenv(v); d != "" {
			roots = append(roots, d)
		}
	}
	if len(roots) == 0 {
		t.Skip("TOMSCAN_CORPUS and TOMSCAN_REAL_CORPUS not set")
	}
	var out []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			head := make([]byte, len(magic))
			if _, err := io.ReadFull(f, head); err == nil && bytes.Equal(head, magic) {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
	}
	return out
}

// TestCorpusMatchesCabextract compares every cabinet of the synthetic and
// real corpora with cabextract.
func TestCorpusMatchesCabextract(t *testing.T) {
	files := corpusFiles(t, []byte("MSCF\x00\x00\x00\x00"))
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
