package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// SourcesDigest is the Digest of the Set that sources compile to, computed
// without compiling them: a scan whose every build is reusable under this
// digest never needs the compiled rules (cmd/tomscan: reuse).
func SourcesDigest(sources []Source) string {
	h := sha256.New()
	for _, s := range sources {
		fmt.Fprintf(h, "%s\x00%d\x00", s.Namespace, len(s.Text))
		h.Write(s.Text)
	}
	return hex.EncodeToString(h.Sum(nil))
}
