package bzip2

import (
	"bytes"
	stdbzip2 "compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// compress runs the bzip2 program on b (level 1..9).
func compress(t testing.TB, b []byte, level int) []byte {
	t.Helper()
	return unpacktest.Build(t, map[string][]byte{"in": b}, "in.bz2", "bzip2", fmt.Sprintf("-%d", level), "-k", "in")
}

func decodeAll(r io.Reader, mode Mode) ([]byte, error) {
	return io.ReadAll(io.LimitReader(NewReader(r, mode), 64<<20))
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed)}).Read(b)
	return b
}

// samples are inputs that exercise runs (the final run-length coding's
// four-byte threshold and 255 limit), every byte value, text, noise and
// more than one block.
func samples() map[string][]byte {
	var all []byte
	for i := range 256 {
		all = append(all, byte(i))
	}
	text := []byte(strings.Repeat("TOM-Skype keyfile line: falun, tibet, 6-4 \r\n", 3000))
	var runs []byte
	for _, n := range []int{1, 2, 3, 4, 5, 6, 254, 255, 256, 259, 260, 261, 1000} {
		runs = append(runs, bytes.Repeat([]byte{byte(n)}, n)...)
	}
	return map[string][]byte{
		"empty":     {},
		"one byte":  {'x'},
		"four":      []byte("aaaa"),
		"all bytes": all,
		"runs":      runs,
		"long run":  bytes.Repeat([]byte{0}, 2_000_000),
		"text":      text,
		"noise":     randomBytes(300_000, 1),
		"mixed":     append(randomBytes(150_000, 2), bytes.Repeat(text, 3)...),
	}
}

// TestStandardMatchesBzip2 decodes what the bzip2 program writes, at the
// smallest and largest block sizes, and agrees with compress/bzip2.
func TestStandardMatchesBzip2(t *testing.T) {
	for name, want := range samples() {
		for _, level := range []int{1, 9} {
			t.Run(fmt.Sprintf("%s/-%d", name, level), func(t *testing.T) {
				z := compress(t, want, level)
				got, err := decodeAll(bytes.NewReader(z), Standard)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("got %d bytes, want %d", len(got), len(want))
				}
				std, err := io.ReadAll(stdbzip2.NewReader(bytes.NewReader(z)))
				if err != nil || !bytes.Equal(std, got) {
					t.Errorf("compress/bzip2 disagrees: %v", err)
				}
			})
		}
	}
}

func TestConcatenatedStreams(t *testing.T) {
	a, b := []byte("first stream\n"), bytes.Repeat([]byte("second "), 50000)
	z := append(compress(t, a, 9), compress(t, b, 1)...)
	got, err := decodeAll(bytes.NewReader(z), Standard)
	if err != nil || !bytes.Equal(got, append(a, b...)) {
		t.Fatalf("err %v, %d bytes", err, len(got))
	}
	// Trailing bytes that are no stream are ignored, as bzip2 -d does.
	got, err = decodeAll(bytes.NewReader(append(z, "garbage"...)), Standard)
	if err != nil || !bytes.Equal(got, append(a, b...)) {
		t.Fatalf("with trailing garbage: err %v, %d bytes", err, len(got))
	}
}

// TestSmallReads reads one byte at a time: block boundaries, runs and
// pending repeats must survive any split.
func TestSmallReads(t *testing.T) {
	want := samples()["runs"]
	want = append(want, samples()["text"]...)
	z := compress(t, want, 1)
	r := NewReader(bytes.NewReader(z), Standard)
	var got []byte
	var one [1]byte
	for {
		n, err := r.Read(one[:])
		got = append(got, one[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
}

// TestRandomisedBlock builds a randomised block the way pre-0.9.5 bzip2
// did: the block holds the data with the rNums bit flips applied, and the
// randomised bit set. bzip2 -d is the referee for the fixture.
func TestRandomisedBlock(t *testing.T) {
	bzip2 := unpacktest.Tool(t, "bzip2")
	// 300 kB covers the whole 512-entry table (mean 500 bytes per entry).
	// Neighbours differ by more than 1 so neither the data nor its flipped
	// form has runs for the final run-length coding to touch.
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 300_000)
	for i := range want {
		for {
			want[i] = byte(rng.IntN(256))
			if i == 0 || want[i]>>1 != want[i-1]>>1 {
				break
			}
		}
	}
	flipped := bytes.Clone(want)
	toGo, idx := 0, 0
	for i := range flipped {
		if toGo == 0 {
			toGo, idx = int(randNums[idx]), (idx+1)%len(randNums)
		}
		toGo--
		if toGo == 1 {
			flipped[i] ^= 1
		}
	}
	z := compress(t, flipped, 9)
	crc := uint32(0xffffffff)
	for _, b := range want {
		crc = crcUpdate(crc, b)
	}
	crc = ^crc
	// BZh9 (4 bytes), block magic (6), block CRC (4), then the bit.
	binary.BigEndian.PutUint32(z[10:], crc)
	z[14] |= 0x80
	// The stream CRC of a one-block stream is the block CRC: it follows
	// the end magic, at most 7 padding bits before the end.
	total := len(z) * 8
	found := false
	for pad := 0; pad < 8 && !found; pad++ {
		at := total - pad - 80
		if readBitsAt(z, at, 48) == endMagic {
			writeBitsAt(z, at+48, 32, uint64(crc))
			found = true
		}
	}
	if !found {
		t.Fatal("end magic not found")
	}
	cmd := exec.Command(bzip2, "-dc")
	cmd.Stdin = bytes.NewReader(z)
	ref, err := cmd.Output()
	if err != nil || !bytes.Equal(ref, want) {
		t.Fatalf("fixture: bzip2 -d: %v (%d bytes)", err, len(ref))
	}
	got, err := decodeAll(bytes.NewReader(z), Standard)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("err %v, %d bytes", err, len(got))
	}
}

func readBitsAt(b []byte, at, n int) uint64 {
	var v uint64
	for i := range n {
		p := at + i
		v = v<<1 | uint64(b[p/8]>>(7-p%8)&1)
	}
	return v
}

func writeBitsAt(b []byte, at, n int, v uint64) {
	for i := range n {
		p := at + i
		bit := byte(v>>(n-1-i)) & 1
		b[p/8] = b[p/8]&^(0x80>>(p%8)) | bit<<(7-p%8)
	}
}

func TestCorruptStandard(t *testing.T) {
	want := append(randomBytes(20_000, 5), samples()["text"][:40_000]...)
	z := compress(t, want, 9)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 150 {
		bad := bytes.Clone(z)
		// A bit anywhere in the block data, past the header and before
		// the end magic: the CRCs must catch whatever gets through.
		p := 14*8 + rng.IntN((len(z)-14-12)*8)
		bad[p/8] ^= 0x80 >> (p % 8)
		got, err := decodeAll(bytes.NewReader(bad), Standard)
		if err == nil {
			t.Fatalf("bit %d flipped: no error (%d bytes, equal %v)", p, len(got), bytes.Equal(got, want))
		}
		var e *Error
		if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "bzip2: ") {
			t.Fatalf("bit %d: error %v is not a *Error", p, err)
		}
	}
}

func TestTruncated(t *testing.T) {
	for _, mode := range []Mode{Standard, NSIS} {
		z := compress(t, samples()["mixed"], 9)
		if mode == NSIS {
			z = toNSIS(t, z)
		}
		for cut := 0; cut < len(z)-1; cut += 1 + len(z)/97 {
			_, err := decodeAll(bytes.NewReader(z[:cut]), mode)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s cut at %d of %d: %v, want an unexpected EOF", mode, cut, len(z), err)
			}
		}
	}
}

func stdbzip2Reader(b []byte) io.Reader { return stdbzip2.NewReader(bytes.NewReader(b)) }
