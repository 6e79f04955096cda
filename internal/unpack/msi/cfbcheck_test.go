package msi

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// corpusMSIs returns the MSI files of the corpora.
func corpusMSIs(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range unpacktest.CorpusFiles(t, oleMagic) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = data
	}
	if len(out) == 0 {
		t.Skip("no MSI in the corpora")
	}
	return out
}

// TestCorpusCompoundFilesSound: no MSI of the corpora trips the check.
func TestCorpusCompoundFilesSound(t *testing.T) {
	for f, data := range corpusMSIs(t) {
		if p := checkCompound(bytes.NewReader(data), int64(len(data))); len(p) > 0 {
			t.Errorf("%s: %v", f, p)
		}
	}
}

// streamEntries finds the directory entries of data's streams: offset of
// each 128-byte entry by decoded name.
func streamEntries(t *testing.T, data []byte) map[string]int {
	t.Helper()
	shift := binary.LittleEndian.Uint16(data[0x1E:])
	entries, err := readDirectory(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range entries {
		if e.typ != 2 {
			continue
		}
		// find the entry's bytes: its name is unique
		i := bytes.Index(data, append(append([]byte(nil), e.name...), 0, 0))
		for i >= 0 && (int64(i)%128 != 0 || i < 1<<shift) {
			j := bytes.Index(data[i+1:], append(append([]byte(nil), e.name...), 0, 0))
			if j < 0 {
				i = -1
				break
			}
			i += 1 + j
		}
		if i >= 0 {
			out[decodeStreamName(utf16Of(e.name))] = i
		}
	}
	return out
}

// TestStreamSizeLies: every stream of a corpus MSI given a size of 4 GiB,
// or one sector more or less than its chain holds, is a malformed issue
// naming the stream; cutting 1 to 64 bytes off the end is truncated.
func TestStreamSizeLies(t *testing.T) {
	var data []byte
	for f, d := range corpusMSIs(t) {
		if strings.Contains(f, "tom-en-5.5.0.113-msi") {
			data = d
		}
	}
	if data == nil {
		t.Skip("corpus MSI tom-en-5.5.0.113-msi not found")
	}
	entries := streamEntries(t, data)
	if len(entries) < 5 {
		t.Fatalf("found %d stream entries", len(entries))
	}
	tried := 0
	for name, off := range entries {
		orig := binary.LittleEndian.Uint32(data[off+120:])
		for _, lie := range []uint32{0xFFFFFFFF, 0xF0000000, orig + 4096, orig + 64, orig + 4096 + 567, orig + 8192 + 1} {
			if orig >= 4096 && lie == orig+64 {
				continue // still inside the last sector: not a lie the chain shows
			}
			if orig < 4096 && lie == orig+64 && (orig+63)/64 == (orig+64+63)/64 {
				continue
			}
			b := bytes.Clone(data)
			binary.LittleEndian.PutUint32(b[off+120:], lie)
			probs := checkCompound(bytes.NewReader(b), int64(len(b)))
			// The lie is named: as the stream whose size disagrees, or as the
			// stream another's chain runs into (which of two overlapping
			// streams is reported depends on their order in the directory).
			if len(probs) == 0 || probs[0].truncated || !strings.Contains(probs[0].String(), strconv.Quote(name)) {
				t.Errorf("stream %q size %d -> %d: %v", name, orig, lie, probs)
			}
			tried++
		}
	}
	for cut := 1; cut <= 64; cut++ {
		b := data[:len(data)-cut]
		probs := checkCompound(bytes.NewReader(b), int64(len(b)))
		if len(probs) == 0 || !probs[0].truncated {
			t.Errorf("cut %d bytes: %v", cut, probs)
		}
	}
	t.Logf("%d size lies over %d streams", tried, len(entries))
}
