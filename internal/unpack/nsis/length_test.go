package nsis

import (
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// TestShortTailCutIsTruncated: cutting 1 to 64 bytes off an installer is a
// truncated issue from the first header's length, for every compressor;
// the whole installer has none.
func TestShortTailCutIsTruncated(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	for _, c := range []string{"zlib", "/SOLID lzma"} {
		data, _ := installer(t, c)
		res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
		for _, is := range res.Issues {
			if strings.HasPrefix(is, "truncated") || strings.HasPrefix(is, "malformed") {
				t.Errorf("%s: whole installer: %s", c, is)
			}
		}
		for _, cut := range []int{1, 4, 5, 63, 64} {
			res := unpacktest.Run(t, Extractor{}, data[:len(data)-cut], unpacktest.Options{})
			found := false
			for _, is := range res.Issues {
				found = found || strings.HasPrefix(is, "truncated: ") && strings.Contains(is, "length_of_all_following_data")
			}
			if !found {
				t.Errorf("%s cut by %d: issues %v, err %v: no truncated issue", c, cut, res.Issues, res.Err)
			}
		}
	}
}
