package compress

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/ulikunitz/xz"
)

// xzWith compresses b with a declared dictionary and block size.
func xzWith(t testing.TB, b []byte, dictCap, blockSize int, check byte) []byte {
	var buf bytes.Buffer
	w, err := xz.WriterConfig{DictCap: dictCap, BlockSize: int64(blockSize), CheckSum: check}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeXZ is what the extractor reads from r, and the decoder's error.
func decodeXZ(r io.Reader) ([]byte, error) {
	zr, err := xz.NewReader(r)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func someBytes(n int) []byte {
	rng := rand.New(rand.NewPCG(16, 7))
	words := [][]byte{[]byte("keyfile "), []byte("法轮功\n"), []byte("TOM-Skype "), {0, 1, 2, 3}, []byte("http://skypetools.tom.com/")}
	var out []byte
	for len(out) < n {
		if rng.IntN(4) == 0 {
			out = append(out, byte(rng.Uint32()))
			continue
		}
		out = append(out, words[rng.IntN(len(words))]...)
	}
	return out[:n]
}

// TestFitDictSameBytes: the stream with lowered dictionaries decodes to the
// same bytes as the stream itself, for one and many blocks and every check,
// and the dictionaries were lowered.
func TestFitDictSameBytes(t *testing.T) {
	for _, tc := range []struct {
		name             string
		n, dict, block   int
		check            byte
		wantPatchedBlock int
	}{
		{"one block 64 MiB dict", 50_000, 64 << 20, 1 << 20, xz.CRC64, 1},
		{"tiny", 10, 8 << 20, 1 << 20, xz.CRC32, 1},
		{"many blocks", 300_000, 8 << 20, 64 << 10, xz.SHA256, 5},
		{"no check", 5_000, 1 << 20, 1 << 20, xz.None, 1},
		{"dict already fits", 100_000, 4096, 1 << 20, xz.CRC64, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := someBytes(tc.n)
			stream := xzWith(t, plain, tc.dict, tc.block, tc.check)
			patches := dictPatches(bytes.NewReader(stream), int64(len(stream)))
			if len(patches) != tc.wantPatchedBlock {
				t.Fatalf("%d block headers patched, want %d", len(patches), tc.wantPatchedBlock)
			}
			got, err := decodeXZ(FitDict(bytes.NewReader(stream), int64(len(stream))))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatal("fitted stream decodes to other bytes")
			}
		})
	}
}

// TestFitDictLeavesOddStreams: two concatenated streams, stream padding and
// a damaged header are passed through untouched.
func TestFitDictLeavesOddStreams(t *testing.T) {
	one := xzWith(t, someBytes(1000), 8<<20, 1<<20, xz.CRC64)
	damaged := append([]byte(nil), one...)
	damaged[xzHeaderLen+3] ^= 0xff // in the first block header: its CRC fails
	for name, s := range map[string][]byte{
		"two streams": append(append([]byte(nil), one...), one...),
		"padding":     append(append([]byte(nil), one...), 0, 0, 0, 0),
		"damaged":     damaged,
		"truncated":   one[:len(one)-5],
		"empty":       nil,
	} {
		if p := dictPatches(bytes.NewReader(s), int64(len(s))); len(p) != 0 {
			t.Errorf("%s: %d headers patched", name, len(p))
		}
	}
}

func TestDictByte(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want byte
	}{{0, 0}, {4096, 0}, {4097, 1}, {6144, 1}, {6145, 2}, {64 << 20, 28}, {1 << 40, 40}} {
		if got := dictByte(tc.n); got != tc.want {
			t.Errorf("dictByte(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

// FuzzFitDict: whenever the stream itself decodes, the fitted one decodes
// to the same bytes.
func FuzzFitDict(f *testing.F) {
	f.Add(xzWith(f, someBytes(3000), 1<<20, 1<<20, xz.CRC64))
	f.Add(xzWith(f, someBytes(30000), 64<<10, 8<<10, xz.CRC32))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bigDict(data) {
			return // the decoder would allocate it: gigabytes per execution
		}
		want, err := decodeXZ(bytes.NewReader(data))
		if err != nil {
			return
		}
		got, err := decodeXZ(FitDict(bytes.NewReader(data), int64(len(data))))
		if err != nil {
			t.Fatalf("the stream decodes, the fitted one fails: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("fitted stream decodes to other bytes")
		}
	})
}

// bigDict tells whether a block header of data (any offset: the fuzzer
// moves them) could declare an LZMA2 dictionary over 1 MiB: a filter ID
// 0x21 with one property byte above 16.
func bigDict(data []byte) bool {
	for i := 0; i+2 < len(data); i++ {
		if data[i] == xzLZMA2ID && data[i+1] == 1 && data[i+2] > 16 {
			return true
		}
	}
	return false
}
