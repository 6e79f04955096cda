package nsis

import (
	"bytes"
	"encoding/binary"
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

// TestCRCCatchesLengthLie: a first header that declares 64 bytes more than
// the data while the file still has them (a signed installer carries its
// signature after the data), and a byte changed inside the data, fail the
// installer's own CRC32: malformed. The campaign found `nsis data length
// +64` reported succeeded for every signed corpus installer.
func TestCRCCatchesLengthLie(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data, _ := installer(t, "zlib")
	off := -1
	for o := 0; o+28 <= len(data); o += 512 {
		if string(data[o+8:o+20]) == "NullsoftInst" {
			off = o
			break
		}
	}
	if off < 0 {
		t.Fatal("no first header")
	}
	signed := append(bytes.Clone(data), bytes.Repeat([]byte{0x30}, 1800)...) // what a signature adds
	lie := bytes.Clone(signed)
	binary.LittleEndian.PutUint32(lie[off+24:], binary.LittleEndian.Uint32(lie[off+24:])+64)
	flipped := bytes.Clone(signed)
	flipped[off+100] ^= 0x5a
	for name, tc := range map[string]struct {
		data []byte
		want bool
	}{"signed": {signed, false}, "length +64": {lie, true}, "byte changed": {flipped, true}} {
		res := unpacktest.Run(t, Extractor{}, tc.data, unpacktest.Options{})
		found := false
		for _, is := range res.Issues {
			found = found || strings.HasPrefix(is, "malformed: ") && strings.Contains(is, "CRC32")
		}
		if found != tc.want {
			t.Errorf("%s: CRC issue %v, want %v: %v", name, found, tc.want, res.Issues)
		}
	}
}
