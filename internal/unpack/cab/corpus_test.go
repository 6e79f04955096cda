package cab

import (
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// TestCorpusSignatures checks every CAB build of the synthetic corpus: a
// cabinet signature names the manifest's signer and its digest matches.
func TestCorpusSignatures(t *testing.T) {
	builds := unpacktest.CorpusBuilds(t, []byte("MSCF\x00\x00\x00\x00"))
	for _, b := range builds {
		res := unpacktest.Run(t, Extractor{}, b.Data, unpacktest.Options{})
		unpacktest.CheckContainerSignature(t, b, res.Signature)
	}
	t.Logf("%d CAB builds checked", len(builds))
}
