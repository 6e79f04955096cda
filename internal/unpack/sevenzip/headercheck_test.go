package sevenzip

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"runtime"
	"strings"
	"testing"

	sz "github.com/bodgit/sevenzip"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// HugeCoderProperties is a minimal, upstream-ready reproduction for
// github.com/bodgit/sevenzip v1.6.5: a 7z archive of 59 bytes whose one
// LZMA coder declares 0xFFFFFFF0 bytes of properties, written as the 7z
// number 0xFF + u64 (every CRC is right). readCoder checks the size only
// against math.MaxUint32 and then does make([]byte, size): sevenzip.NewReader
// allocates ~4 GiB before it finds that the header holds no such bytes.
//
//	signature header (32 bytes): "7z\xbc\xaf\x27\x1c" 00 04, start header CRC,
//	  next header offset 1, size 26, CRC
//	packed stream (1 byte)
//	header: 01 Header
//	          04 MainStreamsInfo
//	            06 PackInfo: pos 0, 1 stream, 09 Size 1, 00 End
//	            07 UnpackInfo: 0B Folder, 1 folder, external 0
//	              1 coder, flags 0x23 (3-byte id, has properties), id 03 01 01 (LZMA)
//	              properties size FF F0 FF FF FF 00 00 00 00   <- 0xFFFFFFF0
//	          (the header ends here: the properties are never there)
func HugeCoderProperties() []byte {
	hdr := []byte{0x01, 0x04,
		0x06, 0x00, 0x01, 0x09, 0x01, 0x00,
		0x07, 0x0B, 0x01, 0x00,
		0x01, 0x23, 0x03, 0x01, 0x01,
		0xFF, 0xF0, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00}
	return archive7z([]byte{0x00}, hdr)
}

// archive7z lays out signature header, packed bytes and next header, with
// every CRC right.
func archive7z(packed, hdr []byte) []byte {
	start := make([]byte, 20)
	binary.LittleEndian.PutUint64(start[0:], uint64(len(packed)))
	binary.LittleEndian.PutUint64(start[8:], uint64(len(hdr)))
	binary.LittleEndian.PutUint32(start[16:], crc32.ChecksumIEEE(hdr))
	out := append([]byte("7z\xbc\xaf\x27\x1c\x00\x04"), binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(start))...)
	out = append(out, start...)
	out = append(out, packed...)
	return append(out, hdr...)
}

// allocated runs fn and returns the bytes it allocated on the heap.
func allocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestHugeCoderPropertiesRefused: tomscan refuses the archive as malformed,
// naming the field, and allocates next to nothing doing so.
func TestHugeCoderPropertiesRefused(t *testing.T) {
	data := HugeCoderProperties()
	var res *unpacktest.Result
	n := allocated(func() { res = unpacktest.Run(t, Extractor{}, data, unpacktest.Options{}) })
	if !errors.Is(res.Err, unpack.ErrMalformed) || !strings.Contains(res.Err.Error(), "coder properties size") {
		t.Errorf("error %v, want a malformed coder properties size", res.Err)
	}
	if n > 16<<20 {
		t.Errorf("allocated %d MB refusing a 59-byte archive", n>>20)
	}
	// Through the engine: a malformed issue on the node, nothing else lost.
	root := unpacktest.RunEngine(context.Background(), t, []unpack.Extractor{Extractor{}}, "x.7z", data, limits.Default())
	if len(root.Issues) != 1 || root.Issues[0].Kind != artifact.KindMalformed {
		t.Errorf("issues %v, want one malformed", unpacktest.Issues(root))
	}
}

// TestUpstreamAllocation shows what the library does with the file alone.
// It allocates ~4 GiB, so it runs only when asked for
// (TOMSCAN_UPSTREAM_REPRO=1), to demonstrate the bug upstream.
func TestUpstreamAllocation(t *testing.T) {
	if os.Getenv("TOMSCAN_UPSTREAM_REPRO") == "" {
		t.Skip("set TOMSCAN_UPSTREAM_REPRO=1 to let bodgit/sevenzip allocate ~4 GiB")
	}
	data := HugeCoderProperties()
	n := allocated(func() { _, _ = sz.NewReader(bytes.NewReader(data), int64(len(data))) })
	t.Logf("sevenzip.NewReader allocated %d MiB for a %d-byte archive", n>>20, len(data))
	if n < 1<<30 {
		t.Errorf("upstream allocated only %d MiB: fixed upstream?", n>>20)
	}
}

// lieInEncodedHeader takes a real 7zz archive (encoded header), sets the
// header folder's LZMA property size to 0xFF + u64 0xFFFFFFF0 and fixes
// the CRCs: the crafted file of the hostile campaign.
func lieInEncodedHeader(t *testing.T, data []byte) []byte {
	t.Helper()
	nextOff := int(binary.LittleEndian.Uint64(data[12:]))
	nextSize := int(binary.LittleEndian.Uint64(data[20:]))
	hdr := append([]byte(nil), data[32+nextOff:32+nextOff+nextSize]...)
	if hdr[0] != idEncodedHeader {
		t.Fatalf("7zz wrote header id %#x, want an encoded header", hdr[0])
	}
	i := bytes.Index(hdr, []byte{0x23, 0x03, 0x01, 0x01, 0x05}) // LZMA coder, 5 bytes of properties
	if i < 0 {
		t.Fatalf("no LZMA coder in the encoded header % x", hdr)
	}
	lied := append(append(append([]byte(nil), hdr[:i+4]...), 0xFF, 0xF0, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0), hdr[i+5:]...)
	return archive7z(data[32:32+nextOff], lied)
}

func TestEncodedHeaderLies(t *testing.T) {
	data := unpacktest.Build(t, fixtureFiles(), "a.7z", "7zz", "a", "-bd", "a.7z", "app", "readme.txt")
	if err := CheckHeader(bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("a sound archive refused: %v", err)
	}
	lied := lieInEncodedHeader(t, data)
	var res *unpacktest.Result
	n := allocated(func() { res = unpacktest.Run(t, Extractor{}, lied, unpacktest.Options{}) })
	if !errors.Is(res.Err, unpack.ErrMalformed) || !strings.Contains(res.Err.Error(), "coder properties size") {
		t.Errorf("error %v, want a malformed coder properties size", res.Err)
	}
	if n > 16<<20 {
		t.Errorf("allocated %d MB refusing the archive", n>>20)
	}
	// Cut inside the signature header, or to a prefix of the magic: truncated.
	for _, n := range []int{4, 5, 6, 20, 31} {
		if !(Extractor{}).Match(data[:n], int64(n)) {
			t.Errorf("%d bytes: not matched", n)
			continue
		}
		if res := unpacktest.Run(t, Extractor{}, data[:n], unpacktest.Options{}); !errors.Is(res.Err, unpack.ErrTruncated) {
			t.Errorf("%d bytes: error %v, want truncated", n, res.Err)
		}
	}
	// Short tail truncations cut the header off: truncated, not succeeded.
	for _, cut := range []int{1, 8, 64} {
		res := unpacktest.Run(t, Extractor{}, data[:len(data)-cut], unpacktest.Options{})
		if !errors.Is(res.Err, unpack.ErrTruncated) {
			t.Errorf("cut %d bytes: error %v, want truncated", cut, res.Err)
		}
	}
}

// TestPlainHeaderLies: counts the library would allocate for (2^31 files,
// 2^28 substreams, a 2^28-byte property) are refused before it sees them.
func TestPlainHeaderLies(t *testing.T) {
	// A plain header whose files count is 2^31: make([]FileHeader, 2^31).
	plain := []byte{0x01, 0x05, 0xF0, 0x00, 0x00, 0x00, 0x80}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"files count", archive7z(nil, plain), unpack.ErrMalformed},
		{"substream CRCs", archive7z([]byte{0}, []byte{0x01, 0x04,
			0x06, 0x00, 0x01, 0x09, 0x01, 0x00,
			0x07, 0x0B, 0x01, 0x00, 0x01, 0x01, 0x00, 0x0C, 0x01, 0x00,
			0x08, 0x0D, 0xF0, 0xFF, 0xFF, 0xFF, 0x0F, 0x0A, 0x01}), errTooMany},
		{"property size", archive7z(nil, []byte{0x01, 0x05, 0x01, 0x11, 0xF0, 0xFF, 0xFF, 0xFF, 0x0F}), unpack.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckHeader(bytes.NewReader(tc.data), int64(len(tc.data)))
			if !errors.Is(err, tc.want) {
				t.Errorf("CheckHeader: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestCorpusHeadersPass: every 7z archive of the corpus (plain and inside
// self-extractors) passes the check: no false alarm.
func TestCorpusHeadersPass(t *testing.T) {
	files := unpacktest.CorpusFiles(t, Magic)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(data, Magic)
		if i < 0 {
			continue
		}
		if err := CheckHeader(bytes.NewReader(data[i:]), int64(len(data)-i)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	t.Logf("%d corpus files with a 7z archive checked", len(files))
}
