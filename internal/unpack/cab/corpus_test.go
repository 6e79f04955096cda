package cab

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// TestCorpusSignatures checks every CAB build of the synthetic corpus: a
// cabinet signature names the manifest's signer and its digest matches.
func TestCorpusSignatures(t *testing.T) {
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS not set")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Builds []struct {
			ID, File, Signer string
		} `json:"builds"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range m.Builds {
		data, err := os.ReadFile(filepath.Join(dir, b.File))
		if err != nil {
			t.Errorf("%s: %v", b.ID, err)
			continue
		}
		if !bytes.HasPrefix(data, []byte("MSCF\x00\x00\x00\x00")) {
			continue
		}
		n++
		res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
		sig := res.Signature
		switch {
		case b.Signer == "" && sig != nil:
			t.Errorf("%s: unsigned in the manifest, signature %+v", b.ID, *sig)
		case b.Signer != "" && sig == nil:
			// The manifest's signer is the build's; the corpus may sign only
			// the PEs inside (its CAB builds are not signed as cabinets).
			t.Logf("%s: manifest signer %q, the container itself is not signed", b.ID, b.Signer)
		case b.Signer != "" && (!strings.Contains(sig.Signer, b.Signer) || !sig.DigestMatches || !sig.SignatureVerified):
			t.Errorf("%s: want signer %q with matching digest, got %+v", b.ID, b.Signer, *sig)
		default:
			if sig != nil {
				t.Logf("%s: %s, digest %s %s matches", b.ID, sig.Signer, sig.DigestAlgorithm, sig.ComputedDigest)
			}
		}
	}
	t.Logf("%d CAB builds checked", n)
}
