// Package cabfile reads Microsoft cabinet files (MS-CAB): the header,
// folders and files, and each folder's data decompressed as a stream
// (stored, MSZIP and LZX; Quantum is recognised and refused). It is a library
// for the cab and msi extractors: it never recurses and never writes files.
//
// Nothing read from the file is trusted: counts are bounded by the file size,
// names by CAB_NAMEMAX, blocks by the 32 KiB frame, and the total of
// decompressed bytes (including bytes skipped to reach a file) by the caller.
package cabfile

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tomscan/tomscan/internal/unpack/cab/lzx"
)

// Compression types (CFFOLDER.typeCompress & 0x0F).
const (
	CompressNone    = 0
	CompressMSZIP   = 1
	CompressQuantum = 2
	CompressLZX     = 3
)

// Header flags.
const (
	flagPrevCabinet    = 0x0001
	flagNextCabinet    = 0x0002
	flagReservePresent = 0x0004
)

// Special CFFILE.iFolder values for files that span cabinets.
const (
	folderContinuedFromPrev    = 0xFFFD
	folderContinuedToNext      = 0xFFFE
	folderContinuedPrevAndNext = 0xFFFF
)

const (
	maxName      = 256   // CAB_NAMEMAX
	maxBlockOut  = 32768 // uncompressed bytes of one CFDATA block
	maxBlockSlop = 6144  // compressed bytes may exceed uncompressed this much
	headerSize   = 36
)

var (
	// ErrNotCabinet means the bytes do not start with a cabinet header.
	ErrNotCabinet = errors.New("cab: not a cabinet")
	// ErrUnsupported marks a compression the reader recognises but cannot decode.
	ErrUnsupported = errors.New("cab: unsupported compression")
	// ErrCorrupt marks inconsistent cabinet structures or compressed data.
	ErrCorrupt = errors.New("cab: corrupt cabinet")
	// ErrWorkLimit means more bytes would have to be decompressed than allowed.
	ErrWorkLimit = errors.New("cab: decompression work limit reached")
)

// Cabinet is one parsed cabinet.
type Cabinet struct {
	r    io.ReaderAt
	size int64

	Size          uint32 // cbCabinet as declared
	SetID, Index  uint16
	HeaderReserve []byte // abReserve of CFHEADER (holds the Authenticode pointer when signed)
	PrevCabinet   string
	NextCabinet   string
	Folders       []Folder
	Files         []File

	dataReserve int
}

// Folder is one CFFOLDER: a run of CFDATA blocks compressed as one stream.
type Folder struct {
	DataOffset  uint32
	NumBlocks   uint16
	Compression uint16 // the full typeCompress (LZX window in bits 8..12)
}

// Method names the folder's compression for reports: "none", "mszip", "lzx:21".
func (f Folder) Method() string {
	switch f.Compression & 0x0F {
	case CompressNone:
		return "none"
	case CompressMSZIP:
		return "mszip"
	case CompressQuantum:
		return fmt.Sprintf("quantum:%d", (f.Compression>>8)&0x1F)
	case CompressLZX:
		return fmt.Sprintf("lzx:%d", (f.Compression>>8)&0x1F)
	}
	return fmt.Sprintf("unknown:%#x", f.Compression)
}

// File is one CFFILE.
type File struct {
	Name         string // decoded (decodeName), backslashes kept
	RawName      string // the bytes as stored
	Size         uint32
	FolderOffset uint32
	Folder       uint16
	Attributes   uint16
	Modified     time.Time // zero when the DOS date is invalid
}

// SpansCabinets tells whether the file's data starts or ends in another cabinet.
func (f File) SpansCabinets() bool { return f.Folder >= folderContinuedFromPrev }

// Open parses the cabinet's structures from r (size bytes).
func Open(r io.ReaderAt, size int64) (*Cabinet, error) {
	var h [headerSize]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("%w: read header: %v", ErrNotCabinet, err)
	}
	if string(h[0:4]) != "MSCF" {
		return nil, ErrNotCabinet
	}
	c := &Cabinet{r: r, size: size}
	le := binary.LittleEndian
	c.Size = le.Uint32(h[8:])
	coffFiles := le.Uint32(h[16:])
	// Only version 1.3 exists; other versions are read anyway, as cabextract does.
	nFolders := int(le.Uint16(h[26:]))
	nFiles := int(le.Uint16(h[28:]))
	flags := le.Uint16(h[30:])
	c.SetID = le.Uint16(h[32:])
	c.Index = le.Uint16(h[34:])
	if nFolders == 0 || nFiles == 0 {
		return nil, fmt.Errorf("%w: %d folders, %d files", ErrCorrupt, nFolders, nFiles)
	}
	off := int64(headerSize)
	folderReserve := 0
	if flags&flagReservePresent != 0 {
		var rs [4]byte
		if _, err := r.ReadAt(rs[:], off); err != nil {
			return nil, fmt.Errorf("%w: read reserve sizes: %v", ErrCorrupt, err)
		}
		hr := int(le.Uint16(rs[0:]))
		folderReserve = int(rs[2])
		c.dataReserve = int(rs[3])
		off += 4
		if hr > 0 {
			// cbCFHeader is at most 60,000 by the spec: a u16 bounds it anyway.
			c.HeaderReserve = make([]byte, hr)
			if _, err := r.ReadAt(c.HeaderReserve, off); err != nil {
				return nil, fmt.Errorf("%w: read header reserve: %v", ErrCorrupt, err)
			}
			off += int64(hr)
		}
	}
	var err error
	if flags&flagPrevCabinet != 0 {
		if c.PrevCabinet, off, err = readCString(r, off); err != nil {
			return nil, fmt.Errorf("%w: previous cabinet name: %v", ErrCorrupt, err)
		}
		if _, off, err = readCString(r, off); err != nil {
			return nil, fmt.Errorf("%w: previous disk name: %v", ErrCorrupt, err)
		}
	}
	if flags&flagNextCabinet != 0 {
		if c.NextCabinet, off, err = readCString(r, off); err != nil {
			return nil, fmt.Errorf("%w: next cabinet name: %v", ErrCorrupt, err)
		}
		if _, off, err = readCString(r, off); err != nil {
			return nil, fmt.Errorf("%w: next disk name: %v", ErrCorrupt, err)
		}
	}
	// Counts are u16, but still cannot exceed what the file could hold.
	if int64(nFolders)*int64(8+folderReserve) > size-off {
		return nil, fmt.Errorf("%w: %d folders do not fit in %d bytes", ErrCorrupt, nFolders, size)
	}
	fb := make([]byte, 8+folderReserve)
	for i := 0; i < nFolders; i++ {
		if _, err := r.ReadAt(fb, off); err != nil {
			return nil, fmt.Errorf("%w: read folder %d: %v", ErrCorrupt, i, err)
		}
		c.Folders = append(c.Folders, Folder{DataOffset: le.Uint32(fb[0:]), NumBlocks: le.Uint16(fb[4:]), Compression: le.Uint16(fb[6:])})
		off += int64(len(fb))
	}
	if int64(coffFiles) >= size || int64(nFiles)*17 > size-int64(coffFiles) {
		return nil, fmt.Errorf("%w: %d files at offset %d do not fit in %d bytes", ErrCorrupt, nFiles, coffFiles, size)
	}
	off = int64(coffFiles)
	var fh [16]byte
	for i := 0; i < nFiles; i++ {
		if _, err := r.ReadAt(fh[:], off); err != nil {
			return c, fmt.Errorf("%w: read file %d: %v", ErrCorrupt, i, err)
		}
		var raw string
		if raw, off, err = readCString(r, off+16); err != nil {
			return c, fmt.Errorf("%w: file %d name: %v", ErrCorrupt, i, err)
		}
		f := File{
			Size:         le.Uint32(fh[0:]),
			FolderOffset: le.Uint32(fh[4:]),
			Folder:       le.Uint16(fh[8:]),
			Attributes:   le.Uint16(fh[14:]),
			Modified:     dosTime(le.Uint16(fh[10:]), le.Uint16(fh[12:])),
		}
		f.Name, f.RawName = decodeName(raw, f.Attributes&0x80 != 0), raw
		c.Files = append(c.Files, f)
	}
	return c, nil
}

// decodeName turns a stored name into UTF-8. Names flagged _A_NAME_IS_UTF are
// UTF-8; others are taken as ISO-8859-1, as cabextract does.
func decodeName(raw string, utf bool) string {
	if utf && utf8.ValidString(raw) {
		return raw
	}
	if !utf && isASCII(raw) {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		b.WriteRune(rune(raw[i]))
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func readCString(r io.ReaderAt, off int64) (string, int64, error) {
	buf := make([]byte, maxName+1)
	n, err := r.ReadAt(buf, off)
	if n == 0 && err != nil {
		return "", off, err
	}
	i := bytes.IndexByte(buf[:n], 0)
	if i < 0 {
		return "", off, fmt.Errorf("string at %d has no terminator within %d bytes", off, maxName)
	}
	return string(buf[:i]), off + int64(i) + 1, nil
}

func dosTime(date, tm uint16) time.Time {
	day, month, year := int(date&0x1F), int(date>>5&0x0F), int(date>>9)+1980
	if day == 0 || month == 0 || month > 12 {
		return time.Time{}
	}
	return time.Date(year, time.Month(month), day, int(tm>>11), int(tm>>5&0x3F), int(tm&0x1F)*2, 0, time.UTC)
}

// Signature locates the Authenticode PKCS#7 blob of a signed cabinet: signtool
// puts a 20-byte reserve in CFHEADER whose second and third dwords are the
// blob's offset and size (the blob follows cbCabinet). ok is false when the
// cabinet is not signed that way.
func (c *Cabinet) Signature() (offset, size int64, ok bool) {
	rs := c.HeaderReserve
	if len(rs) != 20 || binary.LittleEndian.Uint32(rs[0:]) != 0x00100000 {
		return 0, 0, false
	}
	offset = int64(binary.LittleEndian.Uint32(rs[4:]))
	size = int64(binary.LittleEndian.Uint32(rs[8:]))
	if size == 0 || offset+size > c.size {
		return offset, size, false
	}
	return offset, size, true
}

// Issue is something wrong that did not stop reading (a checksum mismatch).
type Issue func(msg string)

// Walk streams every file whose data is in this cabinet, folder by folder in
// data order, calling fn with a reader of exactly f.Size bytes (it fails with
// io.ErrUnexpectedEOF or the decoder's error when the data is short or bad).
// fn may read the body only partly. maxWork bounds the bytes decompressed in
// all (a file that starts before the previous one's end restarts its folder,
// so hostile cabinets could otherwise make us decompress a folder many times).
// Files that span cabinets are passed to skip instead.
func (c *Cabinet) Walk(ctx context.Context, maxWork int64, issue Issue, skip func(f *File, why string), fn func(f *File, body io.Reader) error) error {
	if issue == nil {
		issue = func(string) {}
	}
	byFolder := map[int][]int{}
	for i, f := range c.Files {
		switch {
		case f.SpansCabinets():
			skip(&c.Files[i], spanReason(f.Folder))
			continue
		case int(f.Folder) >= len(c.Folders):
			skip(&c.Files[i], fmt.Sprintf("folder index %d out of %d folders", f.Folder, len(c.Folders)))
			continue
		}
		byFolder[int(f.Folder)] = append(byFolder[int(f.Folder)], i)
	}
	work := &workCounter{max: maxWork}
	for fi := range c.Folders {
		idx := byFolder[fi]
		if len(idx) == 0 {
			continue
		}
		sort.SliceStable(idx, func(a, b int) bool { return c.Files[idx[a]].FolderOffset < c.Files[idx[b]].FolderOffset })
		if err := c.walkFolder(ctx, fi, idx, work, issue, fn); err != nil {
			return err
		}
	}
	return nil
}

func spanReason(folder uint16) string {
	switch folder {
	case folderContinuedFromPrev:
		return "data continued from the previous cabinet: not in this one"
	case folderContinuedToNext:
		return "data continued in the next cabinet: not in this one"
	}
	return "data spans the previous and next cabinets: not in this one"
}

type workCounter struct{ max, done int64 }

func (c *Cabinet) walkFolder(ctx context.Context, fi int, idx []int, work *workCounter, issue Issue, fn func(f *File, body io.Reader) error) error {
	var fr *FolderReader
	var pos int64
	var frErr error
	open := func() {
		fr, frErr = c.OpenFolder(fi, issue)
		if fr != nil {
			fr.work = work
		}
		pos = 0
	}
	open()
	for _, i := range idx {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := &c.Files[i]
		if int64(f.FolderOffset) < pos && frErr == nil {
			open() // overlapping or repeated data: start the folder again
		}
		var body io.Reader
		switch {
		case frErr != nil:
			body = &errReader{err: frErr}
		default:
			if skipN := int64(f.FolderOffset) - pos; skipN > 0 {
				n, err := io.CopyN(io.Discard, fr, skipN)
				pos += n
				if err != nil {
					if errors.Is(err, io.EOF) {
						err = fmt.Errorf("%w: folder %d ends at %d, before file %q at %d", ErrCorrupt, fi, pos, f.Name, f.FolderOffset)
					}
					if errors.Is(err, ErrWorkLimit) {
						return err
					}
					frErr = err
					body = &errReader{err: err}
				}
			}
			if body == nil {
				body = &countingReader{r: &exactReader{r: fr, left: int64(f.Size)}, n: &pos}
			}
		}
		if err := fn(f, body); err != nil {
			return err
		}
		if errors.Is(fr.lastErr(), ErrWorkLimit) {
			return fr.lastErr()
		}
	}
	return nil
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// exactReader yields exactly left bytes or an error saying why not.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = fmt.Errorf("%w: folder data ends %d bytes before the file's end", ErrCorrupt, e.left)
	}
	return n, err
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// FolderReader is the uncompressed byte stream of one folder.
type FolderReader struct {
	c      *Cabinet
	folder Folder
	index  int
	issue  Issue
	work   *workCounter

	off       int64  // next CFDATA header
	block     int    // blocks decoded
	read      int    // blocks read from the file
	buf       []byte // decoded, not yet read
	hist      []byte // MSZIP: the last 32 KiB of output
	lzx       *lzx.Decoder
	lzxIn     *blockFeed
	err       error
	badChecks int
}

// OpenFolder returns a reader of folder i's uncompressed data.
func (c *Cabinet) OpenFolder(i int, issue Issue) (*FolderReader, error) {
	if i < 0 || i >= len(c.Folders) {
		return nil, fmt.Errorf("%w: folder %d of %d", ErrCorrupt, i, len(c.Folders))
	}
	if issue == nil {
		issue = func(string) {}
	}
	f := c.Folders[i]
	fr := &FolderReader{c: c, folder: f, index: i, issue: issue, off: int64(f.DataOffset)}
	switch f.Compression & 0x0F {
	case CompressNone, CompressMSZIP:
	case CompressLZX:
		bits := int(f.Compression>>8) & 0x1F
		fr.lzxIn = &blockFeed{fr: fr}
		d, err := lzx.NewDecoder(fr.lzxIn, bits)
		if err != nil {
			return nil, fmt.Errorf("%w: folder %d: %v", ErrCorrupt, i, err)
		}
		fr.lzx = d
	case CompressQuantum:
		return nil, fmt.Errorf("%w: Quantum compression not supported", ErrUnsupported)
	default:
		return nil, fmt.Errorf("%w: compression type %#x", ErrUnsupported, f.Compression)
	}
	return fr, nil
}

func (fr *FolderReader) lastErr() error {
	if fr == nil {
		return nil
	}
	return fr.err
}

// Read implements io.Reader.
func (fr *FolderReader) Read(p []byte) (int, error) {
	for len(fr.buf) == 0 {
		if fr.err != nil {
			return 0, fr.err
		}
		if fr.block >= int(fr.folder.NumBlocks) {
			fr.err = io.EOF
			return 0, io.EOF
		}
		out, err := fr.nextBlock()
		if err != nil {
			fr.err = fmt.Errorf("folder %d block %d: %w", fr.index, fr.block, err)
			return 0, fr.err
		}
		fr.block++
		if fr.work != nil {
			fr.work.done += int64(len(out))
			if fr.work.done > fr.work.max {
				fr.err = fmt.Errorf("%w (%d bytes)", ErrWorkLimit, fr.work.max)
				return 0, fr.err
			}
		}
		fr.buf = out
	}
	n := copy(p, fr.buf)
	fr.buf = fr.buf[n:]
	return n, nil
}

// nextBlock returns the next block's uncompressed bytes.
func (fr *FolderReader) nextBlock() ([]byte, error) {
	if fr.lzx != nil {
		// The LZX bitstream runs on across CFDATA blocks: the decoder pulls
		// payloads through blockFeed as it needs them, so the frame sizes
		// come from the headers read so far.
		if len(fr.lzxIn.sizes) == 0 {
			if err := fr.lzxIn.pull(); err != nil {
				return nil, err
			}
		}
		n := fr.lzxIn.sizes[0]
		fr.lzxIn.sizes = fr.lzxIn.sizes[1:]
		out, err := fr.lzx.Frame(n)
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), out...), nil
	}
	data, cbUncomp, err := fr.readData()
	if err != nil {
		return nil, err
	}
	if fr.folder.Compression&0x0F == CompressMSZIP {
		return fr.inflate(data, cbUncomp)
	}
	if len(data) != cbUncomp {
		return nil, fmt.Errorf("%w: stored block of %d bytes says %d uncompressed", ErrCorrupt, len(data), cbUncomp)
	}
	return append([]byte(nil), data...), nil
}

// readData reads the next CFDATA block's payload, checking its checksum.
func (fr *FolderReader) readData() ([]byte, int, error) {
	c := fr.c
	if fr.read >= int(fr.folder.NumBlocks) {
		return nil, 0, io.EOF
	}
	hdr := make([]byte, 8+c.dataReserve)
	if _, err := c.r.ReadAt(hdr, fr.off); err != nil {
		return nil, 0, fmt.Errorf("%w: read CFDATA header at %d: %v", ErrCorrupt, fr.off, err)
	}
	le := binary.LittleEndian
	sum := le.Uint32(hdr[0:])
	cbData := int(le.Uint16(hdr[4:]))
	cbUncomp := int(le.Uint16(hdr[6:]))
	if cbUncomp == 0 {
		return nil, 0, fmt.Errorf("%w: block continues in the next cabinet", ErrUnsupported)
	}
	if cbUncomp > maxBlockOut || cbData > maxBlockOut+maxBlockSlop {
		return nil, 0, fmt.Errorf("%w: block sizes %d/%d over the 32 KiB frame", ErrCorrupt, cbData, cbUncomp)
	}
	data := make([]byte, cbData)
	if _, err := c.r.ReadAt(data, fr.off+int64(len(hdr))); err != nil {
		return nil, 0, fmt.Errorf("%w: read CFDATA at %d (%d bytes): %v", ErrCorrupt, fr.off, cbData, err)
	}
	fr.off += int64(len(hdr)) + int64(cbData)
	fr.read++
	if sum != 0 {
		got := Checksum(data, 0)
		got = Checksum(hdr[4:], got)
		if got != sum && fr.badChecks == 0 {
			fr.issue(fmt.Sprintf("cab: folder %d block %d: checksum %#08x, header says %#08x (later mismatches in this folder not reported)", fr.index, fr.read-1, got, sum))
		}
		if got != sum {
			fr.badChecks++
		}
	}
	return data, cbUncomp, nil
}

// inflate decodes one MSZIP block: "CK" and a deflate stream whose window is
// the folder's previous 32 KiB of output.
func (fr *FolderReader) inflate(data []byte, cbUncomp int) ([]byte, error) {
	if len(data) < 2 || data[0] != 'C' || data[1] != 'K' {
		return nil, fmt.Errorf("%w: MSZIP block without CK signature", ErrCorrupt)
	}
	zr := flate.NewReaderDict(bytes.NewReader(data[2:]), fr.hist)
	out := make([]byte, cbUncomp)
	n, err := io.ReadFull(zr, out)
	zr.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: MSZIP block inflated to %d of %d bytes: %v", ErrCorrupt, n, cbUncomp, err)
	}
	fr.hist = append(fr.hist, out...)
	if len(fr.hist) > 32768 {
		fr.hist = append(fr.hist[:0], fr.hist[len(fr.hist)-32768:]...)
	}
	return out, nil
}

// blockFeed is the LZX decoder's input: the folder's CFDATA payloads as one
// stream, read block by block as the decoder asks for bytes.
type blockFeed struct {
	fr    *FolderReader
	data  []byte
	sizes []int // cbUncomp of blocks pulled but not yet decoded
}

func (b *blockFeed) pull() error {
	data, n, err := b.fr.readData()
	if err != nil {
		return err
	}
	b.data = append(b.data, data...)
	b.sizes = append(b.sizes, n)
	return nil
}

func (b *blockFeed) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		if err := b.pull(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

// Checksum is the CFDATA checksum (MS-CAB 2.5): XOR of little-endian dwords,
// the trailing 1..3 bytes taken most significant first, as cabextract does.
func Checksum(data []byte, seed uint32) uint32 {
	sum := seed
	n := len(data) / 4
	for i := 0; i < n; i++ {
		sum ^= binary.LittleEndian.Uint32(data[i*4:])
	}
	var ul uint32
	rest := data[n*4:]
	switch len(rest) {
	case 3:
		ul = uint32(rest[0])<<16 | uint32(rest[1])<<8 | uint32(rest[2])
	case 2:
		ul = uint32(rest[0])<<8 | uint32(rest[1])
	case 1:
		ul = uint32(rest[0])
	}
	return sum ^ ul
}
