package bzip2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// bitWriter packs bits most significant first, as bzip2 does.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

func (w *bitWriter) put(k uint, v uint64) {
	for i := int(k) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | v>>uint(i)&1
		w.n++
		if w.n == 8 {
			w.out = append(w.out, byte(w.acc))
			w.acc, w.n = 0, 0
		}
	}
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		w.put(8-w.n, 0)
	}
	return w.out
}

// toNSIS rewrites a standard bzip2 stream (no randomised blocks) into
// NSIS's form: the block contents stay, the framing changes (no header,
// 0x31 for magic + CRC + randomised bit, 0x17 for the end magic + CRC).
func toNSIS(t testing.TB, z []byte) []byte {
	t.Helper()
	var w bitWriter
	var window uint64
	total := len(z) * 8
	copyFrom := -1
	for p := 32; p < total; p++ {
		window = (window<<1 | uint64(z[p/8]>>(7-p%8)&1)) & (1<<48 - 1)
		at := p - 47
		if at < 32 || window != blockMagic && window != endMagic {
			continue
		}
		if copyFrom >= 0 {
			for q := copyFrom; q < at; q++ {
				w.put(1, uint64(z[q/8]>>(7-q%8)&1))
			}
		}
		if window == endMagic {
			w.put(8, nsisEnd)
			return w.bytes()
		}
		if readBitsAt(z, at+80, 1) != 0 {
			t.Fatal("randomised block: NSIS has none")
		}
		w.put(8, nsisBlock)
		copyFrom = at + 48 + 32 + 1
		p = copyFrom - 1
		window = 0
	}
	t.Fatal("no end magic")
	return nil
}

func TestNSISFormOfEverySample(t *testing.T) {
	for name, want := range samples() {
		t.Run(name, func(t *testing.T) {
			z := toNSIS(t, compress(t, want, 9))
			got, err := decodeAll(bytes.NewReader(z), NSIS)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("err %v, got %d bytes, want %d", err, len(got), len(want))
			}
		})
	}
}

// nsisInstaller builds an installer with makensis and returns the bytes
// after its first header, up to the end of its data.
func nsisInstaller(t testing.TB, compressor string, files map[string][]byte) []byte {
	t.Helper()
	var nsi strings.Builder
	nsi.WriteString("Unicode true\nSetCompressor " + compressor + "\nOutFile \"setup.exe\"\nInstallDir \"$PROGRAMFILES\\X\"\nRequestExecutionLevel user\nSection\nSetOutPath \"$INSTDIR\"\n")
	in := map[string][]byte{}
	for _, name := range sortedKeys(files) {
		nsi.WriteString("File " + name + "\n")
		in[name] = files[name]
	}
	nsi.WriteString("SectionEnd\n")
	in["s.nsi"] = []byte(nsi.String())
	exe := unpacktest.Build(t, in, "setup.exe", "makensis", "-V1", "s.nsi")
	// The first header sits on a 512-byte boundary: flags, then the
	// signature; its last field is the length of all the data from it on.
	// (Package nsis/script finds it too, but it imports this package.)
	for off := 0; off+28 <= len(exe); off += 512 {
		if bytes.Equal(exe[off+4:off+20], []byte("\xef\xbe\xad\xdeNullsoftInst")) {
			return exe[off+28 : off+int(binary.LittleEndian.Uint32(exe[off+24:]))]
		}
	}
	t.Fatal("no NSIS first header")
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	var k []string
	for name := range m {
		k = append(k, name)
	}
	for i := range k {
		for j := i + 1; j < len(k); j++ {
			if k[j] < k[i] {
				k[i], k[j] = k[j], k[i]
			}
		}
	}
	return k
}

// bigFile is 1.6 MB: two NSIS blocks (900,000 bytes each at most).
func bigFile() []byte {
	var b bytes.Buffer
	noise := randomBytes(400_000, 7)
	for i := 0; b.Len() < 1_600_000; i++ {
		b.WriteString("line ")
		b.Write(noise[i%len(noise) : min(i%len(noise)+60, len(noise))])
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// TestMakensisNonSolid decodes every compressed data block of a non-solid
// bzip2 installer: a 4-byte length (high bit: compressed), then one NSIS
// bzip2 stream per block, the header first.
func TestMakensisNonSolid(t *testing.T) {
	big := bigFile()
	files := map[string][]byte{"big.txt": big, "text.txt": []byte(strings.Repeat("keyfile ", 2000))}
	data := nsisInstaller(t, "bzip2", files)
	var outs [][]byte
	for p := 0; p+4 <= len(data); {
		v := binary.LittleEndian.Uint32(data[p:])
		l := int(v & 0x7fffffff)
		if p+4+l > len(data) {
			break // the trailing CRC32
		}
		block := data[p+4 : p+4+l]
		if v&0x80000000 != 0 {
			if block[0] != nsisBlock || block[1] >= 14 {
				t.Errorf("block at %d starts % x, want 0x31 and the high byte of a 24-bit origin pointer", p, block[:2])
			}
			r := bytes.NewReader(block)
			out, err := decodeAll(r, NSIS)
			if err != nil {
				t.Fatalf("block at %d: %v", p, err)
			}
			if r.Len() != 0 {
				t.Errorf("block at %d: %d bytes after the stream", p, r.Len())
			}
			if block[len(block)-1] == 0 {
				t.Logf("block at %d ends in a zero byte", p)
			}
			outs = append(outs, out)
		}
		p += 4 + l
	}
	if len(outs) != 3 || !bytes.Equal(outs[1], big) || !bytes.Equal(outs[2], files["text.txt"]) {
		t.Fatalf("decoded %d blocks", len(outs))
	}
}

// TestMakensisSolid decodes a solid installer's one stream: the header and
// each file as a 4-byte length and its bytes. The 1.6 MB file needs more
// than one block; the first is exactly NSIS's 900,000 bytes or less.
func TestMakensisSolid(t *testing.T) {
	big := bigFile()
	data := nsisInstaller(t, "/SOLID bzip2", map[string][]byte{"big.txt": big})
	z := NewReader(bytes.NewReader(data), NSIS)
	out, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	hl := binary.LittleEndian.Uint32(out)
	rest := out[4+hl:]
	if int(binary.LittleEndian.Uint32(rest)) != len(big) || !bytes.Equal(rest[4:], big) {
		t.Fatalf("stream of %d bytes does not hold the file after the %d-byte header", len(out), hl)
	}
	if z.blockNo < 2 {
		t.Errorf("%d blocks, want at least 2", z.blockNo)
	}
}

// TestNSISBlockSize: a block holds at most 900,000 bytes before the final
// run-length coding (NSIS's level 9), and makensis fills it.
func TestNSISBlockSize(t *testing.T) {
	data := nsisInstaller(t, "/SOLID bzip2", map[string][]byte{"big.txt": bigFile()})
	z := NewReader(bytes.NewReader(data), NSIS)
	if err := z.nextBlock(); err != nil {
		t.Fatal(err)
	}
	if z.left > NSISBlockSize || z.left < NSISBlockSize-100 {
		t.Errorf("first block holds %d bytes", z.left)
	}
}

// craft writes one NSIS block over the byte values 'A' and 'B': Huffman
// tables over RUNA, RUNB, MTF 1 and EOB (all of length 2 in the good case:
// codes 00, 01, 10, 11), the selectors (all group 0), then syms.
type blockSpec struct {
	origPtr uint64
	groups  uint64
	nSel    uint64
	lengths []uint64 // start length, then per symbol: deltas are written as needed
	syms    []string // "RUNA", "RUNB", "EOB"
}

func craft(s blockSpec) []byte {
	var w bitWriter
	w.put(8, nsisBlock)
	w.put(24, s.origPtr)
	w.put(16, 0x8000>>4)           // range 0x40..0x4f in use
	w.put(16, 0x8000>>1|0x8000>>2) // 'A', 'B'
	w.put(3, s.groups)
	w.put(15, s.nSel)
	for range s.nSel {
		w.put(1, 0)
	}
	for range s.groups {
		cur := s.lengths[0]
		w.put(5, cur)
		for _, l := range s.lengths[1:] {
			for ; cur < l; cur++ {
				w.put(2, 2)
			}
			for ; cur > l; cur-- {
				w.put(2, 3)
			}
			w.put(1, 0)
		}
	}
	for _, sym := range s.syms {
		w.put(2, map[string]uint64{"RUNA": 0, "RUNB": 1, "MTF1": 2, "EOB": 3}[sym])
	}
	w.put(8, nsisEnd)
	return w.bytes()
}

func TestCraftedBlocks(t *testing.T) {
	// "AB" sorts its rotations as AB, BA: the BWT is "BA" (MTF 1 twice),
	// and the origin is row 0.
	good := blockSpec{origPtr: 0, groups: 2, nSel: 1, lengths: []uint64{2, 2, 2, 2, 2}, syms: []string{"MTF1", "MTF1", "EOB"}}
	got, err := decodeAll(bytes.NewReader(craft(good)), NSIS)
	if err != nil || string(got) != "AB" {
		t.Fatalf("good block: %q %v", got, err)
	}
	syms := func(sym string, n int) []string {
		var s []string
		for range n {
			s = append(s, sym)
		}
		return append(s, "EOB")
	}
	for _, c := range []struct {
		name string
		spec blockSpec
		want string
	}{
		{"origin pointer past the block", blockSpec{origPtr: 4, groups: 2, nSel: 1, lengths: []uint64{2, 2, 2, 2, 2}, syms: []string{"RUNB", "RUNA", "EOB"}}, "nsis bzip2: block 1: origin pointer 4 outside the block of 4 bytes"},
		{"origin pointer past the block size", blockSpec{origPtr: NSISBlockSize, groups: 2, nSel: 1, lengths: []uint64{2, 2, 2, 2, 2}}, "nsis bzip2: block 1: origin pointer 900000 beyond the block size 900000"},
		{"one group", blockSpec{groups: 1, nSel: 1, lengths: []uint64{2, 2, 2, 2, 2}}, "nsis bzip2: block 1: bad huffman group count 1"},
		{"seven groups", blockSpec{groups: 7, nSel: 1, lengths: []uint64{2, 2, 2, 2, 2}}, "nsis bzip2: block 1: bad huffman group count 7"},
		{"no selectors", blockSpec{groups: 2, nSel: 0, lengths: []uint64{2, 2, 2, 2, 2}}, "nsis bzip2: block 1: no selectors"},
		{"length 0", blockSpec{groups: 2, nSel: 1, lengths: []uint64{0, 0, 0, 0, 0}}, "nsis bzip2: block 1: bad huffman code lengths: table 0 symbol 0 length 0"},
		{"length 21", blockSpec{groups: 2, nSel: 1, lengths: []uint64{20, 21, 2, 2, 2}}, "nsis bzip2: block 1: bad huffman code lengths: table 0 symbol 0 length 21"},
		{"oversubscribed", blockSpec{groups: 2, nSel: 1, lengths: []uint64{1, 1, 1, 2, 2}}, "nsis bzip2: block 1: table 0: bad huffman code lengths: more codes than the lengths allow"},
		{"run digits past 900k", blockSpec{groups: 2, nSel: 1, lengths: []uint64{2, 2, 2, 2, 2}, syms: syms("RUNB", 21)}, "nsis bzip2: block 1: zero run longer than the block"},
		{"run over 900k", blockSpec{groups: 2, nSel: 1, lengths: []uint64{2, 2, 2, 2, 2}, syms: syms("RUNB", 20)}, "nsis bzip2: block 1: block longer than 900000 bytes"},
		{"symbols past the selectors", blockSpec{groups: 2, nSel: 1, lengths: []uint64{2, 2, 2, 2, 2}, syms: syms("MTF1", 50)}, "nsis bzip2: block 1: more symbols than selectors (1)"},
		{"unassigned code", blockSpec{groups: 2, nSel: 1, lengths: []uint64{2, 2, 2, 3, 3}, syms: []string{"EOB"}}, "nsis bzip2: block 1: invalid huffman code"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeAll(bytes.NewReader(craft(c.spec)), NSIS)
			if err == nil || err.Error() != c.want {
				t.Fatalf("error %v\nwant  %s", err, c.want)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%v is not ErrCorrupt", err)
			}
		})
	}
	if _, err := decodeAll(strings.NewReader("\x42"), NSIS); err == nil || err.Error() != "nsis bzip2: block 1: bad block marker 0x42 (want 0x31, or 0x17 at the end)" {
		t.Errorf("bad marker: %v", err)
	}
	if _, err := decodeAll(strings.NewReader("BZh0"), Standard); !errors.Is(err, ErrCorrupt) {
		t.Errorf("level 0: %v", err)
	}
}

// TestCorruptNSIS: without CRCs a flipped bit may decode to other bytes,
// but never panics and never yields more than the block sizes allow.
func TestCorruptNSIS(t *testing.T) {
	want := append(randomBytes(20_000, 5), samples()["text"][:40_000]...)
	z := toNSIS(t, compress(t, want, 9))
	for p := 8; p < len(z)*8; p += 1 + len(z)*8/150 {
		bad := bytes.Clone(z)
		bad[p/8] ^= 0x80 >> (p % 8)
		got, _ := io.ReadAll(io.LimitReader(NewReader(bytes.NewReader(bad), NSIS), 1<<30))
		if len(got) > 2*NSISBlockSize*51 {
			t.Fatalf("bit %d: %d bytes out", p, len(got))
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"runs", "text", "all bytes", "one byte"} {
		z := compress(f, samples()[name], 1)
		f.Add(z)
		f.Add(toNSIS(f, z))
	}
	f.Add(craft(blockSpec{origPtr: 0, groups: 2, nSel: 1, lengths: []uint64{2, 2, 2, 2, 2}, syms: []string{"MTF1", "MTF1", "EOB"}}))
	if _, err := exec.LookPath("makensis"); err == nil {
		data := nsisInstaller(f, "/SOLID bzip2", map[string][]byte{"a.txt": []byte(strings.Repeat("keyfile line\r\n", 200))})
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		mode := NSIS
		if bytes.HasPrefix(b, []byte("BZh")) {
			mode = Standard
		}
		// Output is bounded per block (900,000 bytes, each at most 4+255
		// output bytes per 5), so this limit only keeps the fuzzer quick.
		n, err := io.Copy(io.Discard, io.LimitReader(NewReader(bytes.NewReader(b), mode), 64<<20))
		if err != nil && !strings.HasPrefix(err.Error(), mode.String()+": ") {
			t.Fatalf("error without context: %v", err)
		}
		if mode == Standard && err == nil && n < 64<<20 {
			// A stream both accept must decode the same.
			std, serr := io.ReadAll(stdbzip2Reader(b))
			got, _ := io.ReadAll(NewReader(bytes.NewReader(b), mode))
			if serr == nil && !bytes.Equal(std, got) {
				t.Fatalf("compress/bzip2 decodes %d bytes, we %d", len(std), len(got))
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	want := samples()["mixed"]
	want = append(want, bigFile()...)
	for _, mode := range []Mode{Standard, NSIS} {
		z := compress(b, want, 9)
		if mode == NSIS {
			z = toNSIS(b, z)
		}
		b.Run(mode.String(), func(b *testing.B) {
			b.SetBytes(int64(len(want)))
			for b.Loop() {
				n, err := io.Copy(io.Discard, NewReader(bytes.NewReader(z), mode))
				if err != nil || n != int64(len(want)) {
					b.Fatal(n, err)
				}
			}
		})
	}
}
