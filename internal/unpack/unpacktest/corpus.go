package unpacktest

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/corpus/manifest/manifesttest"

	"github.com/tomscan/tomscan/pe"
)

// CorpusFiles returns every file of the synthetic and real corpora
// (TOMSCAN_CORPUS, TOMSCAN_REAL_CORPUS) whose bytes start with magic, in walk
// order. It skips the test when neither corpus is set.
func CorpusFiles(t testing.TB, magic []byte) []string {
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

// CorpusBuild is one build of the synthetic corpus's manifest, with its bytes.
type CorpusBuild struct {
	ID, File, Signer string
	Data             []byte
}

// CorpusBuilds returns the manifest's builds (TOMSCAN_CORPUS) whose bytes
// start with magic. It skips the test when the corpus is not set.
func CorpusBuilds(t testing.TB, magic []byte) []CorpusBuild {
	t.Helper()
	dir, m := manifesttest.Load(t)
	var out []CorpusBuild
	for _, b := range m.Builds {
		data, err := os.ReadFile(b.FilePath(dir))
		if err != nil {
			t.Errorf("%s: %v", b.ID, err)
			continue
		}
		if bytes.HasPrefix(data, magic) {
			out = append(out, CorpusBuild{ID: b.ID, File: b.File, Signer: b.Signer, Data: data})
		}
	}
	return out
}

// CheckContainerSignature compares a container's own Authenticode signature
// with the manifest: an unsigned build must carry none; a signed one names
// the manifest's signer with a verified signature and a matching digest. The
// manifest's signer is the build's, and the corpus may sign only the PEs
// inside, so a signed build whose container carries no signature is logged.
func CheckContainerSignature(t testing.TB, b CorpusBuild, sig *pe.Signature) {
	t.Helper()
	switch {
	case b.Signer == "" && sig != nil:
		t.Errorf("%s: unsigned in the manifest, signature %+v", b.ID, *sig)
	case b.Signer != "" && sig == nil:
		t.Logf("%s: manifest signer %q, the container itself is not signed", b.ID, b.Signer)
	case b.Signer != "" && (!strings.Contains(sig.Signer, b.Signer) || !sig.DigestMatches || !sig.SignatureVerified):
		t.Errorf("%s: want signer %q with matching digest, got %+v", b.ID, b.Signer, *sig)
	case sig != nil:
		t.Logf("%s: %s, digest %s %s matches", b.ID, sig.Signer, sig.DigestAlgorithm, sig.ComputedDigest)
	}
}
