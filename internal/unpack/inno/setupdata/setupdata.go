package setupdata

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// Limits bound what one installer may make the reader hold.
type Limits struct {
	MaxBlockBytes int64 // decompressed size of one header block
	MaxEntries    int   // entries of all kinds together
}

// DefaultLimits fit every real installer of the era with a wide margin.
var DefaultLimits = Limits{MaxBlockBytes: 64 << 20, MaxEntries: 1 << 20}

// Setup is the decoded setup data.
type Setup struct {
	Offsets  Offsets
	Version  Version
	Codepage int // of ANSI strings; 1200 (UTF-16LE) for Unicode builds
	Header   Header
	Dirs     []Dir
	Files    []File
	Icons    []Icon
	Registry []Registry
	Run      []Run
	Data     []DataEntry
}

// Header holds the [Setup] values a report shows.
type Header struct {
	AppName, AppVersionedName, AppID, AppPublisher, AppVersion string
	DefaultDirName, DefaultGroupName                           string
	Compression                                                string // of file chunks: stored, zlib, bzip2, lzma1, lzma2
	Languages                                                  []string
	encryption                                                 bool
}

// Dir is a [Dirs] entry.
type Dir struct {
	Name  string
	Flags []string
}

// File is a [Files] entry.
type File struct {
	Source, Destination string
	Location            uint32 // index into Data; past the end for external files
	Flags               []string
	Type                string // "user" or "uninstaller"
}

// Icon is an [Icons] entry.
type Icon struct {
	Name, Filename, Parameters, WorkingDir, IconFile, Comment string
	Flags                                                     []string
}

// Registry is a [Registry] entry.
type Registry struct {
	Root, Subkey, ValueName, Type, Data string
	Flags                               []string
}

// Run is a [Run] entry.
type Run struct {
	Filename, Parameters, WorkingDir, StatusMsg, Description, Wait string
	ShowCommand                                                    int32
	Flags                                                          []string
}

// DataEntry is a file location in setup-1.
type DataEntry struct {
	ChunkOffset uint32
	ChunkSize   uint64
	Offset      uint64 // in the decompressed chunk
	Size        uint64
	Checksum    string // "sha1:<hex>", "md5:<hex>" or "crc32:<hex>"
	Flags       []string
}

// Parse reads the setup data of the installer in r.
func Parse(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Setup, error) {
	if lim.MaxBlockBytes <= 0 {
		lim.MaxBlockBytes = DefaultLimits.MaxBlockBytes
	}
	if lim.MaxEntries <= 0 {
		lim.MaxEntries = DefaultLimits.MaxEntries
	}
	off, err := Locate(r, size)
	if err != nil {
		return nil, err
	}
	marker := make([]byte, 64)
	if _, err := r.ReadAt(marker, off.Header); err != nil {
		return nil, fmt.Errorf("inno: version marker at %d: %w", off.Header, err)
	}
	v, err := parseMarker(marker)
	if err != nil {
		return nil, err
	}
	s := &Setup{Offsets: off, Version: v}
	if !v.Supported() {
		return s, fmt.Errorf("inno: setup data version %s (this reader covers 5.1.0 to 6.0.x): %w", v, ErrUnsupported)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	block1, next, err := readBlock(r, size, off.Header+64, lim.MaxBlockBytes)
	if err != nil {
		return s, fmt.Errorf("inno: first header block: %w", err)
	}
	d := &decoder{b: block1, v: v, budget: lim.MaxEntries}
	counts := s.readHeader(d)
	if d.err == nil {
		s.readEntries(d, counts)
	}
	if d.err == nil && d.p != len(d.b) {
		d.fail(fmt.Errorf("%d unknown bytes at the end of the first header block", len(d.b)-d.p))
	}
	if d.err != nil {
		return s, fmt.Errorf("inno %s: %w", v, d.err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	block2, _, err := readBlock(r, size, next, lim.MaxBlockBytes)
	if err != nil {
		return s, fmt.Errorf("inno: second header block: %w", err)
	}
	d2 := &decoder{b: block2, v: v, cp: d.cp, budget: d.budget}
	for i := uint32(0); i < counts.data && d2.err == nil && d2.take(); i++ {
		s.Data = append(s.Data, d2.dataEntry())
	}
	if d2.err == nil && d2.p != len(d2.b) {
		d2.fail(fmt.Errorf("%d unknown bytes at the end of the second header block", len(d2.b)-d2.p))
	}
	if d2.err != nil {
		return s, fmt.Errorf("inno %s: file locations: %w", v, d2.err)
	}
	return s, nil
}

// decoder reads fields from a block; the first error sticks and every
// later read returns zero values.
type decoder struct {
	b      []byte
	p      int
	v      Version
	cp     int // code page of ANSI strings
	err    error
	budget int // entries left before the limit
}

var errShort = errors.New("unexpected end of header block")

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d: %w", d.p, err)
	}
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.p {
		d.fail(errShort)
		return nil
	}
	out := d.b[d.p : d.p+n]
	d.p += n
	return out
}

func (d *decoder) u8() uint8 {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}
func (d *decoder) u16() uint16 {
	if b := d.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}
func (d *decoder) u32() uint32 {
	if b := d.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}
func (d *decoder) u64() uint64 {
	if b := d.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}
func (d *decoder) skip(n int) { d.bytes(n) }

// bin is a length-prefixed byte string, bounded by the block.
func (d *decoder) bin() []byte {
	n := int32(d.u32())
	if d.err != nil {
		return nil
	}
	if n < 0 {
		d.fail(fmt.Errorf("negative string length %d", n))
		return nil
	}
	return d.bytes(int(n))
}

// str is a string in the installer's encoding: UTF-16LE for Unicode
// builds, else the code page chosen from the languages.
func (d *decoder) str() string { return decodeText(d.bin(), d.v.Unicode, d.cp) }

// take charges one entry against the limit.
func (d *decoder) take() bool {
	if d.budget <= 0 {
		d.fail(fmt.Errorf("more entries than the limit allows"))
		return false
	}
	d.budget--
	return true
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	s := string(utf16.Decode(u))
	if len(b)%2 == 1 {
		s += "\uFFFD"
	}
	return s
}

var codepages = map[int]encoding.Encoding{
	874: charmap.Windows874, 932: japanese.ShiftJIS, 936: simplifiedchinese.GBK, 949: korean.EUCKR,
	950: traditionalchinese.Big5, 1250: charmap.Windows1250, 1251: charmap.Windows1251, 1252: charmap.Windows1252,
	1253: charmap.Windows1253, 1254: charmap.Windows1254, 1255: charmap.Windows1255, 1256: charmap.Windows1256,
	1257: charmap.Windows1257, 1258: charmap.Windows1258,
}

func decodeText(b []byte, unicode bool, cp int) string {
	if len(b) == 0 {
		return ""
	}
	if unicode || cp == 1200 {
		return decodeUTF16(b)
	}
	enc, ok := codepages[cp]
	if !ok {
		enc = charmap.Windows1252
	}
	s, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(s), "\uFFFD")
}

// flag is one bit of a stored flag set, present in the versions in says.
type flag struct {
	name string
	in   func(Version) bool
}

func all(Version) bool { return true }
func since(a, b, c int) func(Version) bool {
	return func(v Version) bool { return v.atLeast(a, b, c) }
}
func until(a, b, c int) func(Version) bool {
	return func(v Version) bool { return v.below(a, b, c) }
}

// flags reads a packed flag set: one bit per flag the version has, in
// bytes, a 3-byte set padded to 4 (innoextract: util/storedenum.hpp).
func (d *decoder) flags(list []flag) []string {
	var names []string
	for _, f := range list {
		if f.in(d.v) {
			names = append(names, f.name)
		}
	}
	n := (len(names) + 7) / 8
	packed := d.bytes(n)
	if n == 3 {
		d.skip(1)
	}
	if d.err != nil {
		return nil
	}
	var set []string
	for i, name := range names {
		if packed[i/8]&(1<<(i%8)) != 0 {
			set = append(set, name)
		}
	}
	for i := len(names); i < n*8; i++ {
		if packed[i/8]&(1<<(i%8)) != 0 {
			set = append(set, fmt.Sprintf("unknown-bit-%d", i))
		}
	}
	return set
}

// enum reads a one-byte enumeration; values past the list are kept as numbers.
func (d *decoder) enum(names ...string) string {
	x := d.u8()
	if int(x) < len(names) {
		return names[x]
	}
	return fmt.Sprintf("unknown-%d", x)
}

func (d *decoder) winver() { d.skip(20) } // MinVersion and OnlyBelowVersion

func (d *decoder) conditions() { // Components, Tasks, Languages, Check, AfterInstall, BeforeInstall
	for i := 0; i < 6; i++ {
		d.bin()
	}
}
