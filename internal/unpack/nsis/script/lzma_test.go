package script

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/ulikunitz/xz/lzma"
)

// nsisLZMA compresses data as NSIS stores an LZMA stream: the five property
// bytes (dictionary dict), then the data, ended by an end marker.
func nsisLZMA(t testing.TB, data []byte, dict int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := lzma.WriterConfig{DictCap: dict, EOSMarker: true}.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	return append(out[:5:5], out[13:]...) // no size field
}

// readChunks reads r to its end in reads of n bytes.
func readChunks(r io.Reader, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// longReach is data that decompresses to far more than 16 times its
// compressed size, with a match reaching further back than the first
// dictionary: a random block, zeros, the block again.
func longReach(zeros int) []byte {
	rnd := rand.New(rand.NewPCG(1, 2))
	block := make([]byte, 48<<10)
	for i := range block {
		block[i] = byte(rnd.Uint32())
	}
	data := append([]byte(nil), block...)
	data = append(data, make([]byte, zeros)...)
	return append(data, block...)
}

// TestLZMAFirstDictionary: a stream is decoded with a dictionary of 16
// times its compressed size first, and the bytes are those of a decoder
// with the stream's own dictionary, whatever the reads' sizes: for a stream
// that fits (no second decoder), for one that outgrows it (decoded again
// with its own dictionary once the first has given as many bytes as it
// holds), and for one whose match further back than it comes soon enough
// after that the first decoder, decoding ahead, fails on it first.
func TestLZMAFirstDictionary(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	text := make([]byte, 300<<10)
	for i := range text {
		text[i] = "abcdefgh ijk\n"[rnd.IntN(13)]
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		grown bool
	}{
		{"fits", text, false},
		{"outgrows", longReach(4 << 20), true},
		{"fails ahead", longReach(1 << 20), true},
	} {
		stream := nsisLZMA(t, tc.data, 8<<20)
		for _, chunk := range []int{1000, 64 << 10, 1 << 20} {
			r, err := Decompressor(io.NewSectionReader(bytes.NewReader(stream), 0, int64(len(stream))), LZMA, 0, 64<<20)
			if err != nil {
				t.Fatal(err)
			}
			z := r.(*lzmaReader)
			if want := min(int64(8<<20), max(minFirstDict, firstDictPerByte*int64(len(stream)-5))); z.cap != want || z.dict != 8<<20 {
				t.Fatalf("%s: first dictionary %d of %d, want %d of %d", tc.name, z.cap, z.dict, want, 8<<20)
			}
			got, err := readChunks(r, chunk)
			if err != nil {
				t.Fatalf("%s, reads of %d: %v", tc.name, chunk, err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Fatalf("%s, reads of %d: %d bytes decoded, not the %d compressed", tc.name, chunk, len(got), len(tc.data))
			}
			if grown := z.cap == z.dict; grown != tc.grown {
				t.Errorf("%s, reads of %d: decoded again with the stream's dictionary: %v, want %v", tc.name, chunk, grown, tc.grown)
			}
		}
	}
}

// TestLZMAFirstDictionaryDamage: a damaged stream still fails, past the
// first dictionary as before it, and every byte returned before the error
// is the stream's.
func TestLZMAFirstDictionaryDamage(t *testing.T) {
	data := longReach(4 << 20)
	stream := nsisLZMA(t, data, 8<<20)
	for _, cut := range []int{len(stream) / 3, len(stream) - 40, len(stream) - 2} {
		damaged := stream[:cut]
		r, err := Decompressor(io.NewSectionReader(bytes.NewReader(damaged), 0, int64(len(damaged))), LZMA, 0, 64<<20)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readChunks(r, 32<<10)
		if err == nil {
			t.Errorf("cut at %d of %d: no error", cut, len(stream))
		}
		if !bytes.Equal(got, data[:len(got)]) {
			t.Errorf("cut at %d: the %d bytes returned are not the stream's", cut, len(got))
		}
		// A read after the error never hands out bytes from elsewhere in
		// the stream as if they came next.
		more, _ := readChunks(r, 32<<10)
		if !bytes.Equal(more, data[len(got):len(got)+len(more)]) {
			t.Errorf("cut at %d: after the error, %d bytes that do not follow the %d returned", cut, len(more), len(got))
		}
	}
	// A match further back than the stream's own dictionary fails with
	// the small dictionary and with the stream's alike.
	stream = nsisLZMA(t, data, 8<<20)
	stream[1], stream[2], stream[3], stream[4] = 0, 0x10, 0, 0 // 1 MiB: the zeros are longer
	r, err := Decompressor(io.NewSectionReader(bytes.NewReader(stream), 0, int64(len(stream))), LZMA, 0, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readChunks(r, 64<<10)
	if err == nil || errors.Is(err, io.EOF) {
		t.Errorf("a match beyond the declared dictionary: err %v", err)
	}
	if !bytes.Equal(got, data[:len(got)]) {
		t.Errorf("the %d bytes returned before the error are not the stream's", len(got))
	}
}

// FuzzLZMAFirstDictionary: on any bytes, what the first-dictionary reader
// returns agrees with a decoder given the stream's dictionary from the
// start on every byte both return, both fail or neither does, and a stream
// both decode to its end ends at the same byte.
func FuzzLZMAFirstDictionary(f *testing.F) {
	f.Add(nsisLZMA(f, []byte("hello, hello, hello, world"), 1<<16))
	f.Add(nsisLZMA(f, bytes.Repeat([]byte("tomscan "), 5000), 1<<16))
	f.Add(nsisLZMA(f, append(append(bytes.Repeat([]byte{7}, 300<<10), "tail"...), bytes.Repeat([]byte{7}, 10)...), 1<<20))
	f.Fuzz(func(t *testing.T, stream []byte) {
		if len(stream) < 5 || len(stream) > 1<<16 {
			return
		}
		r, err := Decompressor(io.NewSectionReader(bytes.NewReader(stream), 0, int64(len(stream))), LZMA, 0, 4<<20)
		if err != nil {
			return
		}
		got, gerr := readChunks(io.LimitReader(r, 8<<20), 4096)
		z := r.(*lzmaReader)
		var h [13]byte
		h[0] = stream[0]
		binary.LittleEndian.PutUint32(h[1:5], uint32(z.dict))
		for i := 5; i < len(h); i++ {
			h[i] = 0xff
		}
		full, err := lzma.NewReader(io.MultiReader(bytes.NewReader(h[:]), bytes.NewReader(stream[5:])))
		if err != nil {
			t.Fatalf("the stream's own dictionary: %v", err)
		}
		want, werr := readChunks(io.LimitReader(full, 8<<20), 4096)
		n := min(len(got), len(want))
		if !bytes.Equal(got[:n], want[:n]) {
			t.Fatalf("the readers disagree within their first %d bytes", n)
		}
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("one reader ends the stream, the other fails: %v / %v (%d / %d bytes)", gerr, werr, len(got), len(want))
		}
		if gerr == nil && len(got) != len(want) {
			t.Fatalf("both end the stream, at %d and %d bytes", len(got), len(want))
		}
	})
}
