// Package hostile writes hostile inputs for tomscan from the synthetic
// corpus: mutants of its builds (truncations, byte flips, zeroed ranges,
// header fields that lie with their CRCs fixed), decompression bombs, path
// traversal and hostile names. The set is a deterministic function of the
// corpus, the count and the seed, so a campaign can be rerun exactly.
// Campaign (campaign.go) scans them with the tomscan binary and tells what
// happened to each.
package hostile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Classes of inputs.
const (
	ClassTruncTail = "trunc-tail" // 1 to 64 bytes cut off the end
	ClassTrunc     = "trunc"      // cut anywhere
	ClassFlip      = "flip"       // 1 to 16 random bytes changed
	ClassZero      = "zero"       // a range of 16 B to 64 KiB zeroed
	ClassLie       = "lie"        // a header field lies, CRCs fixed
	ClassBomb      = "bomb"       // decompression bombs
	ClassTraversal = "traversal"  // entry names that climb out
	ClassNames     = "names"      // entry and file names that try to act on a page or terminal
)

// Classes lists them in table order.
var Classes = []string{ClassTruncTail, ClassTrunc, ClassFlip, ClassZero, ClassLie, ClassBomb, ClassTraversal, ClassNames}

// Marker is in every hostile string and every traversal target, so that a
// page or a file system can be searched for them.
const Marker = "TOMSCANHOSTILE"

// Hostile are strings that try to act on a browser, a Markdown viewer or a
// terminal; a page that carries one unescaped is a failure.
var Hostile = []string{
	"<script>alert('" + Marker + "')</script>",
	"\x1b[31m" + Marker + "\x1b[0m",
	"\x1b]0;" + Marker + "\x07",
	"\u202e" + Marker + "exe.txt",
}

// Input is one hostile file.
type Input struct {
	Name  string // file name to write it under (may itself be hostile)
	Class string
	From  string // the corpus build it was made from, "" for crafted ones
	What  string // the mutation, for the table and the log
	Data  []byte

	sum [32]byte // sha256 of Data, kept once Data is written and dropped
}

// MustNotSucceed tells whether a report that says `succeeded` for this
// input is wrong: a truncated container is never whole, and a header that
// lies about the bytes is an issue (README "Header lies are issues").
func (in Input) MustNotSucceed() bool {
	return in.Class == ClassTruncTail || in.Class == ClassTrunc || in.Class == ClassLie
}

// Build is one corpus build: its id and bytes.
type Build struct {
	ID   string
	Data []byte
}

// LoadCorpus reads the builds of a synthetic corpus folder (builds/*),
// sorted by name.
func LoadCorpus(dir string) ([]Build, error) {
	des, err := os.ReadDir(filepath.Join(dir, "builds"))
	if err != nil {
		return nil, fmt.Errorf("hostile: corpus: %w", err)
	}
	var out []Build
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "builds", de.Name()))
		if err != nil {
			return nil, fmt.Errorf("hostile: corpus: %w", err)
		}
		out = append(out, Build{ID: strings.TrimSuffix(de.Name(), filepath.Ext(de.Name())), Data: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) == 0 {
		return nil, fmt.Errorf("hostile: no builds in %s", dir)
	}
	return out, nil
}

// Generate returns n inputs: the crafted ones (bombs, traversal, names)
// first, then header lies interleaved with mutants of the builds. Same
// builds, n and seed: same inputs.
func Generate(builds []Build, n int, seed uint64) []Input {
	var out []Input
	_ = Each(builds, n, seed, func(in Input) error { out = append(out, in); return nil })
	return out
}

// Each hands the inputs Generate returns to fn one at a time, so that a
// campaign never holds them all (a child's peak RSS as rusage reports it
// starts at its parent's). It stops at fn's first error.
func Each(builds []Build, n int, seed uint64, fn func(Input) error) error {
	r := rand.New(rand.NewPCG(seed, 0x70_6d_73_63_61_6e))
	count := 0
	add := func(in Input) error {
		if count >= n {
			return nil
		}
		in.Name = fmt.Sprintf("%05d-%s", count, in.Name)
		count++
		return fn(in)
	}
	for _, in := range crafted() {
		if err := add(in); err != nil {
			return err
		}
	}
	// Lies (a handful per build) interleaved with the random mutations, so
	// that any prefix (a test's subset) holds every class.
	var queue []Input
	for _, b := range builds {
		queue = append(queue, lies(b, r)...)
	}
	mutators := []func(Build, *rand.Rand) Input{truncTail, truncAnywhere, flip, zero}
	for i := 0; count < n; i++ {
		if len(queue) > 0 {
			if err := add(queue[0]); err != nil {
				return err
			}
			queue = queue[1:]
		}
		b := builds[(i/len(mutators))%len(builds)]
		if err := add(mutators[i%len(mutators)](b, r)); err != nil {
			return err
		}
	}
	return nil
}

func name(b Build, what string) string {
	return b.ID + "-" + strings.NewReplacer(" ", "_", "/", "_").Replace(what) + ext(b.ID)
}

func ext(id string) string {
	switch {
	case strings.HasSuffix(id, "-msi"):
		return ".msi"
	case strings.HasSuffix(id, "-cab"):
		return ".cab"
	case strings.HasSuffix(id, "-zip"), strings.HasSuffix(id, "-zip-cab"), strings.HasSuffix(id, "-zip-msi"):
		return ".zip"
	case strings.HasSuffix(id, "-7z"), strings.HasSuffix(id, "-7z-decoy"), strings.HasSuffix(id, "-7z-nsis"):
		return ".7z"
	}
	return ".exe"
}

func truncTail(b Build, r *rand.Rand) Input {
	cut := 1 + r.IntN(64)
	what := fmt.Sprintf("cut %d", cut)
	return Input{Name: name(b, what), Class: ClassTruncTail, From: b.ID, What: what, Data: bytes.Clone(b.Data[:len(b.Data)-cut])}
}

func truncAnywhere(b Build, r *rand.Rand) Input {
	at := 1 + r.IntN(len(b.Data)-1)
	what := fmt.Sprintf("at %d", at)
	return Input{Name: name(b, what), Class: ClassTrunc, From: b.ID, What: what, Data: bytes.Clone(b.Data[:at])}
}

func flip(b Build, r *rand.Rand) Input {
	d := bytes.Clone(b.Data)
	k := 1 + r.IntN(16)
	var at []string
	for i := 0; i < k; i++ {
		p := r.IntN(len(d))
		d[p] ^= byte(1 + r.IntN(255))
		at = append(at, fmt.Sprint(p))
	}
	what := "flip " + strings.Join(at, ",")
	if len(what) > 60 {
		what = what[:60]
	}
	return Input{Name: name(b, fmt.Sprintf("flip%d-%d", k, r.Uint32())), Class: ClassFlip, From: b.ID, What: what, Data: d}
}

func zero(b Build, r *rand.Rand) Input {
	d := bytes.Clone(b.Data)
	n := 16 << r.IntN(13) // 16 B to 64 KiB
	n = min(n, len(d)/2)
	p := r.IntN(len(d) - n)
	clear(d[p : p+n])
	what := fmt.Sprintf("zero %d+%d", p, n)
	return Input{Name: name(b, what), Class: ClassZero, From: b.ID, What: what, Data: d}
}

var (
	magic7z  = []byte("7z\xbc\xaf\x27\x1c")
	magicCab = []byte("MSCF\x00\x00\x00\x00")
	magicOLE = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	nsisSig  = []byte("\xef\xbe\xad\xdeNullsoftInst")
	innoSig  = []byte("rDlPtS\xcd\xe6\xd7\x7b\x0b\x2a") // 5.1.5+ offset table
)

// lies are header fields that disagree with the bytes, with every CRC
// that covers them fixed, for each container the build holds at its top
// (or right after a PE stub: self-extractors, NSIS, Inno).
func lies(b Build, r *rand.Rand) []Input {
	var out []Input
	add := func(what string, d []byte) {
		if d != nil {
			out = append(out, Input{Name: name(b, what), Class: ClassLie, From: b.ID, What: what, Data: d})
		}
	}
	d := b.Data
	if i := bytes.Index(d, magicCab); i >= 0 && i < 1<<20 {
		add("cab cbCabinet 4GiB", patch(d, i+8, le32(0xFFFFFFFF)))
		add("cab cCFData 65535", patch(d, i+36+4, []byte{0xFF, 0xFF}))
	}
	if i := lastIndex7z(d); i >= 0 {
		add("7z coder properties 4GiB", lie7zCoderProps(d, i))
		add("7z next header size +1", lie7zNextSize(d, i, 1))
		add("7z next header size 4GiB", lie7zNextSize(d, i, 1<<32))
	}
	if bytes.HasPrefix(d, magicOLE) {
		for k, e := range oleStreams(d) {
			if k >= 6 {
				break
			}
			v := []uint32{0xFFFFFFFF, binary.LittleEndian.Uint32(d[e+120:]) + 4096 + uint32(r.IntN(4096))}[k%2]
			add(fmt.Sprintf("msi stream %d size %d", k, v), patch(d, e+120, le32(v)))
		}
	}
	if i := nsisHeader(d); i >= 0 {
		add("nsis data length +64", patch(d, i+24, le32(binary.LittleEndian.Uint32(d[i+24:])+64)))
	}
	if i := innoTable(d); i >= 0 {
		// 5.1.5+ table: revision, total size, ..., CRC over the fields before
		// it. The lie is past the file's end: a signed installer carries its
		// signature after TotalSize, so a smaller one would not disagree.
		t := bytes.Clone(d)
		binary.LittleEndian.PutUint32(t[i+16:], uint32(len(d)+4096))
		binary.LittleEndian.PutUint32(t[i+40:], crc32.ChecksumIEEE(t[i:i+40]))
		add("inno total size past the end", t)
	}
	if bytes.HasPrefix(d, []byte("PK\x03\x04")) {
		if e := bytes.LastIndex(d, []byte("PK\x01\x02")); e >= 0 && e+28 <= len(d) {
			add("zip central uncompressed size 4GiB", patch(d, e+24, le32(0xFFFFFFF0)))
			add("zip central compressed size +1000", patch(d, e+20, le32(binary.LittleEndian.Uint32(d[e+20:])+1000)))
			add("zip central crc-32 changed", patch(d, e+16, le32(binary.LittleEndian.Uint32(d[e+16:])^0x5a5a)))
		}
	}
	return out
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func patch(d []byte, at int, v []byte) []byte {
	if at < 0 || at+len(v) > len(d) {
		return nil
	}
	out := bytes.Clone(d)
	copy(out[at:], v)
	return out
}

// lastIndex7z finds a 7z signature header whose start-header CRC holds.
func lastIndex7z(d []byte) int {
	for off := 0; ; {
		i := bytes.Index(d[off:], magic7z)
		if i < 0 {
			return -1
		}
		i += off
		if i+32 <= len(d) && crc32.ChecksumIEEE(d[i+12:i+32]) == binary.LittleEndian.Uint32(d[i+8:]) {
			return i
		}
		off = i + 1
	}
}

// lie7zCoderProps gives the LZMA coder of the (encoded) header a property
// size of 0xFF + u64 0xFFFFFFF0 and fixes both CRCs.
func lie7zCoderProps(d []byte, at int) []byte {
	s := d[at:]
	nextOff := int(binary.LittleEndian.Uint64(s[12:]))
	nextSize := int(binary.LittleEndian.Uint64(s[20:]))
	if nextOff < 0 || nextSize <= 0 || 32+nextOff+nextSize > len(s) {
		return nil
	}
	hdr := s[32+nextOff : 32+nextOff+nextSize]
	i := bytes.Index(hdr, []byte{0x23, 0x03, 0x01, 0x01, 0x05})
	if i < 0 {
		return nil
	}
	lied := append(append(append([]byte(nil), hdr[:i+4]...), 0xFF, 0xF0, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0), hdr[i+5:]...)
	out := append(bytes.Clone(d[:at+32+nextOff]), lied...)
	return fix7z(out, at, uint64(nextOff), lied)
}

func lie7zNextSize(d []byte, at int, add uint64) []byte {
	out := bytes.Clone(d)
	s := out[at:]
	size := binary.LittleEndian.Uint64(s[20:]) + add
	binary.LittleEndian.PutUint64(s[20:], size)
	binary.LittleEndian.PutUint32(s[8:], crc32.ChecksumIEEE(s[12:32]))
	return out
}

// fix7z rewrites the start header at at for a next header hdr at nextOff.
func fix7z(d []byte, at int, nextOff uint64, hdr []byte) []byte {
	s := d[at:]
	binary.LittleEndian.PutUint64(s[12:], nextOff)
	binary.LittleEndian.PutUint64(s[20:], uint64(len(hdr)))
	binary.LittleEndian.PutUint32(s[28:], crc32.ChecksumIEEE(hdr))
	binary.LittleEndian.PutUint32(s[8:], crc32.ChecksumIEEE(s[12:32]))
	return d
}

// oleStreams finds the directory entries of an OLE file's streams: 128-byte
// entries, sector-aligned in the file, of type 2 with a plausible name.
func oleStreams(d []byte) []int {
	var out []int
	for e := 512; e+128 <= len(d); e += 128 {
		n := int(binary.LittleEndian.Uint16(d[e+64:]))
		if d[e+66] != 2 || n < 4 || n > 64 || n%2 != 0 || d[e+n-1] != 0 || d[e+n-2] != 0 || d[e+67] > 1 {
			continue
		}
		if binary.LittleEndian.Uint32(d[e+120:]) == 0 || binary.LittleEndian.Uint32(d[e+124:]) != 0 {
			continue
		}
		out = append(out, e)
	}
	return out
}

// innoTable finds the 5.1.5+ loader offset table whose CRC holds.
func innoTable(d []byte) int {
	for off := 0; ; {
		i := bytes.Index(d[off:], innoSig)
		if i < 0 {
			return -1
		}
		i += off
		if i+44 <= len(d) && crc32.ChecksumIEEE(d[i:i+40]) == binary.LittleEndian.Uint32(d[i+40:]) {
			return i
		}
		off = i + 1
	}
}

func nsisHeader(d []byte) int {
	for off := 0; off+32 <= len(d); off += 512 {
		if bytes.Equal(d[off+4:off+4+len(nsisSig)], nsisSig) {
			return off
		}
	}
	return -1
}

var craftedOnce = sync.OnceValue(makeCrafted)

// crafted are the inputs made from nothing: bombs, traversal, names. They
// are made once per process (the bombs take seconds) and copied.
func crafted() []Input {
	out := slices.Clone(craftedOnce())
	for i := range out {
		out[i].Data = bytes.Clone(out[i].Data)
	}
	return out
}

func makeCrafted() []Input {
	var out []Input
	add := func(class, name, what string, data []byte) {
		out = append(out, Input{Name: name, Class: class, What: what, Data: data})
	}
	zeros := bytes.Repeat([]byte{0}, 1<<20)
	// A ZIP of 16 entries of 64 MiB of zeros each: 1 GiB out of ~1 MB,
	// a ratio of 1000 (the default cap is 200).
	add(ClassBomb, "bomb-wide.zip", "16 x 64 MiB of zeros", zipOf(func(w *zip.Writer) {
		for i := 0; i < 16; i++ {
			f, _ := w.Create(fmt.Sprintf("z%02d.bin", i))
			for j := 0; j < 64; j++ {
				f.Write(zeros)
			}
		}
	}))
	// Nested: 10 copies of 10 copies of 10 copies of 16 MiB of zeros.
	level := zipOf(func(w *zip.Writer) {
		f, _ := w.Create("zeros.bin")
		for j := 0; j < 16; j++ {
			f.Write(zeros)
		}
	})
	for depth := 0; depth < 3; depth++ {
		inner := level
		level = zipOf(func(w *zip.Writer) {
			for i := 0; i < 10; i++ {
				f, _ := w.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("%d.zip", i), Method: zip.Store})
				f.Write(inner)
			}
		})
	}
	add(ClassBomb, "bomb-nested.zip", "10^3 x 16 MiB nested", level)
	// A ZIP that contains itself at each level, deep: depth limit.
	deep := zipOf(func(w *zip.Writer) { f, _ := w.Create("leaf.txt"); f.Write([]byte("leaf")) })
	for i := 0; i < 40; i++ {
		inner := deep
		deep = zipOf(func(w *zip.Writer) {
			f, _ := w.CreateHeader(&zip.FileHeader{Name: "d.zip", Method: zip.Store})
			f.Write(inner)
		})
	}
	add(ClassBomb, "bomb-deep.zip", "40 levels of nesting", deep)
	// Raw deflate bomb as one entry declared tiny.
	add(ClassBomb, "bomb-sizelie.zip", "256 MiB entry declared 10 bytes", sizeLieZip())
	// Many entries.
	add(ClassBomb, "bomb-entries.zip", "50000 empty entries", zipOf(func(w *zip.Writer) {
		for i := 0; i < 50000; i++ {
			w.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("e%05d", i), Method: zip.Store})
		}
	}))

	for i, n := range []string{"../../" + Marker + "-escape-1.txt", "/tmp/" + Marker + "-escape-2.txt", `C:\Windows\` + Marker + "-3.dll",
		`\\?\C:\` + Marker + "-4.dll", "a/../../../" + Marker + "-5.txt", "CON", "aux.txt", `..\..\` + Marker + "-8.txt",
		"ok/../../" + Marker + "-9", "\x00" + Marker + "-nul"} {
		add(ClassTraversal, fmt.Sprintf("traversal-%d.zip", i), "entry "+fmt.Sprintf("%q", n), zipOf(func(w *zip.Writer) {
			f, _ := w.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
			f.Write([]byte("escaped? " + Marker))
		}))
	}
	for i, h := range Hostile {
		add(ClassNames, fmt.Sprintf("names-%d.zip", i), "entry name "+fmt.Sprintf("%q", h), zipOf(func(w *zip.Writer) {
			f, _ := w.CreateHeader(&zip.FileHeader{Name: h + ".exe", Method: zip.Store, Comment: h})
			f.Write([]byte("MZ" + h))
			w.SetComment(h)
		}))
		// The input file's own name is hostile too ('/' cannot be in a file name).
		add(ClassNames, fmt.Sprintf("names-file-%d-%s.txt", i, strings.ReplaceAll(h, "/", "_")), "file name "+fmt.Sprintf("%q", h), []byte("plain "+h+"\n"))
	}
	// MZ files cut before their PE header (a miss of an earlier campaign:
	// the 76-byte stub whose e_lfanew points past the end was succeeded).
	stub := make([]byte, 76)
	copy(stub, "MZ")
	binary.LittleEndian.PutUint32(stub[0x3c:], 0x80)
	add(ClassTrunc, "mz-stub-76.exe", "76-byte DOS stub, e_lfanew 0x80 past the end", stub)
	add(ClassTrunc, "mz-2.exe", "the 2 bytes MZ", []byte("MZ"))
	add(ClassNames, "names-invalid-utf8.zip", "invalid UTF-8 and 4096-byte names", zipOf(func(w *zip.Writer) {
		for _, n := range []string{"\xff\xfe" + Marker, strings.Repeat("x", 4096), Marker + "\r\nnext"} {
			f, _ := w.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
			f.Write([]byte(n))
		}
	}))
	return out
}

func zipOf(fill func(w *zip.Writer)) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	w.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) { return flate.NewWriter(out, flate.BestSpeed) })
	fill(w)
	w.Close()
	return b.Bytes()
}

// sizeLieZip is one deflated entry of 256 MiB of zeros whose local and
// central headers both declare 10 bytes.
func sizeLieZip() []byte {
	d := zipOf(func(w *zip.Writer) {
		f, _ := w.Create("small.txt")
		z := bytes.Repeat([]byte{0}, 1<<20)
		for i := 0; i < 256; i++ {
			f.Write(z)
		}
	})
	for _, sig := range [][]byte{[]byte("PK\x03\x04"), []byte("PK\x01\x02")} {
		i := bytes.Index(d, sig)
		if i < 0 {
			continue
		}
		off := 22 // local: uncompressed size at 22
		if sig[2] == 1 {
			off = 24
		}
		binary.LittleEndian.PutUint32(d[i+off:], 10)
	}
	return d
}
