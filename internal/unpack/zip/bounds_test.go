package zip

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// boundsFiles do not compress much, so that a lie of 1000 bytes stays
// inside the file.
var boundsFiles = map[string][]byte{
	"a/Skype.exe": noise(1, 3000),
	"b/keyfile":   noise(2, 2000),
	"c.txt":       []byte("hello, this is stored\n"),
}

func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 14))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// zips are the same three files written with a data descriptor (Go's
// archive/zip: sizes after the data) and with sizes in the local headers
// (Info-ZIP's zip), and the latter appended to a stub like a self-extractor.
func zips(t *testing.T) map[string][]byte {
	go_ := unpacktest.ZipOf(t, [2]string{"a/Skype.exe", string(boundsFiles["a/Skype.exe"])},
		[2]string{"b/keyfile", string(boundsFiles["b/keyfile"])}, [2]string{"c.txt", string(boundsFiles["c.txt"])})
	infozip := unpacktest.Build(t, boundsFiles, "x.zip", "zip", "-X", "-q", "x.zip", "a/Skype.exe", "b/keyfile", "c.txt")
	sfx := append(bytes.Repeat([]byte("MZ stub "), 512), infozip...)
	return map[string][]byte{"go": go_, "infozip": infozip, "sfx": sfx}
}

// central returns the offsets of the central directory entries.
func central(d []byte) []int {
	var out []int
	for off := 0; ; {
		i := bytes.Index(d[off:], []byte("PK\x01\x02"))
		if i < 0 {
			return out
		}
		out = append(out, off+i)
		off += i + 4
	}
}

func patched(d []byte, at int, v uint32) []byte {
	out := bytes.Clone(d)
	binary.LittleEndian.PutUint32(out[at:], v)
	return out
}

func has(issues []string, prefix, text string) bool {
	for _, is := range issues {
		if strings.HasPrefix(is, prefix) && strings.Contains(is, text) {
			return true
		}
	}
	return false
}

// TestHeaderLies: whole archives carry no issue; a central directory that
// lies about an entry's compressed size (into the next entry, into the
// central directory, past the end), uncompressed size or CRC is an issue
// naming the field on the archive, whichever way the archive was written.
// The campaign found `zip central compressed size +1000` succeeded: the
// standard library inflates the deflate stream to its end and never looks
// at the declared size.
func TestHeaderLies(t *testing.T) {
	for kind, data := range zips(t) {
		t.Run(kind, func(t *testing.T) {
			res := Run(t, data)
			if len(res.Issues) > 0 || res.Err != nil || len(res.Files) != 3 {
				t.Fatalf("whole: issues %v err %v files %d", res.Issues, res.Err, len(res.Files))
			}
			cds := central(data)
			if len(cds) != 3 {
				t.Fatalf("%d central entries", len(cds))
			}
			first, last := cds[0], cds[2]
			u32 := func(at int) uint32 { return binary.LittleEndian.Uint32(data[at:]) }
			for _, tc := range []struct {
				name, prefix, text string
				data               []byte
			}{
				{"first compressed +1000", "malformed: ", "past the local header of entry", patched(data, first+20, u32(first+20)+1000)},
				{"last compressed +1000", "malformed: ", "past the central directory", patched(data, last+20, u32(last+20)+1000)},
				{"last compressed past the end", "malformed: ", "past the central directory", patched(data, last+20, u32(last+20)+uint32(len(data)))},
				{"first compressed -1", "malformed: ", "compressed size", patched(data, first+20, u32(first+20)-1)},
				{"uncompressed 4GiB", "malformed: ", "uncompressed size 4294967280", patched(data, first+24, 0xFFFFFFF0)},
				{"uncompressed -1", "malformed: ", "uncompressed size", patched(data, first+24, u32(first+24)-1)},
				{"crc", "malformed: ", "CRC-32", patched(data, last+16, u32(last+16)^1)},
			} {
				res := Run(t, tc.data)
				if !has(res.Issues, tc.prefix, tc.text) {
					t.Errorf("%s: want %s...%s, got issues %v err %v", tc.name, tc.prefix, tc.text, res.Issues, res.Err)
				}
			}
		})
	}
}

// TestReadChecks: what the standard library checks while it reads stays
// an issue on the entry: data that does not match its CRC, and more or
// fewer bytes inflated than the (consistent) headers declare.
func TestReadChecks(t *testing.T) {
	data := zips(t)["infozip"]
	cds := central(data)
	// A byte of c.txt's data, right after its local header.
	flipped := bytes.Clone(data)
	for i := 0; i+35 < len(data); i++ {
		if bytes.Equal(data[i:i+4], []byte("PK\x03\x04")) && string(data[i+30:i+35]) == "c.txt" {
			n, m := int(binary.LittleEndian.Uint16(data[i+26:])), int(binary.LittleEndian.Uint16(data[i+28:]))
			flipped[i+30+n+m+2] ^= 0x20
			break
		}
	}
	res := Run(t, flipped)
	bad := 0
	for _, f := range res.Files {
		if f.Err != "" {
			bad++
		}
	}
	if bad != 1 {
		t.Errorf("flipped stored byte: %d entries with a read error, want 1: %+v", bad, res.Files)
	}
	// Both headers of the deflated a/Skype.exe lie the same about its
	// uncompressed size: only the read can tell.
	for _, delta := range []int64{-1, +1} {
		lied := bytes.Clone(data)
		l := bytes.Index(lied, []byte("PK\x03\x04"))
		binary.LittleEndian.PutUint32(lied[l+22:], uint32(int64(binary.LittleEndian.Uint32(lied[l+22:]))+delta))
		binary.LittleEndian.PutUint32(lied[cds[0]+24:], uint32(int64(binary.LittleEndian.Uint32(lied[cds[0]+24:]))+delta))
		res := Run(t, lied)
		if len(res.Files) == 0 || res.Files[0].Err == "" {
			t.Errorf("uncompressed size %+d in both headers: read without error: %+v %v", delta, res.Files, res.Issues)
		}
	}
}

// Run is unpacktest.Run with the default options.
func Run(t *testing.T, data []byte) *unpacktest.Result {
	return unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
}
