package lzx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// bitWriter writes LZX's 16-bit little-endian words, most significant bit first.
type bitWriter struct {
	out  []byte
	acc  uint32
	nacc uint
}

func (w *bitWriter) bits(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.nacc++
		if w.nacc == 16 {
			w.out = binary.LittleEndian.AppendUint16(w.out, uint16(w.acc))
			w.acc, w.nacc = 0, 0
		}
	}
}

// flush pads the current word with zeros.
func (w *bitWriter) flush() {
	if w.nacc > 0 {
		w.bits(0, 16-w.nacc)
	}
}

// storedStream builds an LZX stream holding data in one uncompressed block,
// optionally with the Intel E8 header.
func storedStream(data []byte, e8FileSize uint32) []byte {
	var w bitWriter
	if e8FileSize != 0 {
		w.bits(1, 1)
		w.bits(e8FileSize>>16, 16)
		w.bits(e8FileSize&0xFFFF, 16)
	} else {
		w.bits(0, 1)
	}
	w.bits(blockUncompressed, 3)
	w.bits(uint32(len(data))>>8, 16)
	w.bits(uint32(len(data))&0xFF, 8)
	if w.nacc == 0 {
		w.bits(0, 16)
	}
	w.flush()
	out := w.out
	out = binary.LittleEndian.AppendUint32(out, 1)
	out = binary.LittleEndian.AppendUint32(out, 1)
	out = binary.LittleEndian.AppendUint32(out, 1)
	out = append(out, data...)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

func decodeAll(t testing.TB, stream []byte, bits int, total int) ([]byte, error) {
	d, err := NewDecoder(bytes.NewReader(stream), bits)
	if err != nil {
		return nil, err
	}
	var out []byte
	for len(out) < total {
		n := min(FrameSize, total-len(out))
		f, err := d.Frame(n)
		if err != nil {
			return out, err
		}
		out = append(out, f...)
	}
	return out, nil
}

func TestStoredBlocks(t *testing.T) {
	long := bytes.Repeat([]byte("LZX stored data "), 5000) // 80,000 bytes: three frames
	odd := []byte("odd length!")
	// An E8 in the data with the translation header set: the stored bytes are
	// the compressor's (absolute) form, the decoder must give back relative.
	e8 := make([]byte, 64)
	e8[10] = 0xE8
	binary.LittleEndian.PutUint32(e8[11:], 100) // absolute 100 at position 10 -> relative 90
	e8want := append([]byte(nil), e8...)
	binary.LittleEndian.PutUint32(e8want[11:], 90)

	tests := []struct {
		name   string
		data   []byte
		e8Size uint32
		want   []byte
	}{
		{"short", []byte("hello"), 0, []byte("hello")},
		{"odd", odd, 0, odd},
		{"multi-frame", long, 0, long},
		{"e8 translation", e8, 1 << 20, e8want},
		{"e8 target out of range kept", e8, 50, e8},
	}
	for _, tc := range tests {
		for _, bits := range []int{15, 17, 21} {
			got, err := decodeAll(t, storedStream(tc.data, tc.e8Size), bits, len(tc.data))
			if err != nil {
				t.Fatalf("%s/%d: %v", tc.name, bits, err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("%s/%d: got %q..., want %q...", tc.name, bits, got[:min(20, len(got))], tc.want[:min(20, len(tc.want))])
			}
		}
	}
}

func TestCorruptStreams(t *testing.T) {
	tests := []struct {
		name   string
		stream []byte
	}{
		{"empty", nil},
		{"bad block type", []byte{0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0}},
		{"truncated stored block", storedStream(bytes.Repeat([]byte("x"), 1000), 0)[:100]},
		{"all ones", bytes.Repeat([]byte{0xFF}, 64)},
	}
	for _, tc := range tests {
		if _, err := decodeAll(t, tc.stream, 16, 1000); err == nil {
			t.Errorf("%s: no error", tc.name)
		} else if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v is not ErrCorrupt", tc.name, err)
		}
	}
	if _, err := NewDecoder(bytes.NewReader(nil), 22); err == nil {
		t.Error("window bits 22 accepted")
	}
}

func TestTables(t *testing.T) {
	// Spot checks against the LZX specification's position slot table.
	checks := []struct {
		slot  int
		base  uint32
		extra uint8
	}{{0, 0, 0}, {4, 4, 1}, {10, 32, 4}, {36, 262144, 17}, {37, 393216, 17}, {49, 1966080, 17}}
	for _, c := range checks {
		if positionBase[c.slot] != c.base || extraBits[c.slot] != c.extra {
			t.Errorf("slot %d: base %d extra %d, want %d %d", c.slot, positionBase[c.slot], extraBits[c.slot], c.base, c.extra)
		}
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add(storedStream([]byte("hello, world"), 0), uint8(16))
	f.Add(storedStream(bytes.Repeat([]byte{0xE8, 1, 2, 3, 4}, 30), 1<<16), uint8(21))
	// A verbatim block header with an arbitrary pretree, so the fuzzer starts
	// inside the Huffman code paths.
	var w bitWriter
	w.bits(0, 1)
	w.bits(blockVerbatim, 3)
	w.bits(0, 16)
	w.bits(100, 8)
	for i := 0; i < pretreeSymbols; i++ {
		w.bits(5, 4)
	}
	w.bits(0x5a5a, 16)
	w.flush()
	f.Add(w.out, uint8(15))
	f.Fuzz(func(t *testing.T, stream []byte, bits uint8) {
		decodeAll(t, stream, 15+int(bits%7), 3*FrameSize)
	})
}
