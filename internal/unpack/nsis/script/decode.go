// Package script decodes the compiled script of an NSIS installer from its
// bytes, never running it: the first header, the (possibly compressed)
// header block, the entries and the string table, rendered as a readable
// script and as tables of what the installer would write, run and link.
//
// Supported: NSIS 2/3 headers compressed with zlib (deflate), NSIS's bzip2
// (package nsis/bzip2) or LZMA, solid or not, or stored; Unicode (NSIS 3
// default) and ANSI string tables; 32-bit (x86) and 64-bit (amd64) block
// headers. Result.Layout tells a reader of the files where the data is.
package script

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ulikunitz/xz/lzma"

	"github.com/tomscan/tomscan/internal/unpack/nsis/bzip2"
)

// Limits on what the header may claim.
const (
	MaxHeader  = 64 << 20 // decompressed header bytes
	MaxEntries = 1 << 20  // entries
	maxString  = 64 << 10 // characters of one decoded string
	maxScript  = 8 << 20  // bytes of rendered script
	maxDecoded = 64 << 20 // bytes of decoded strings, all entries together
	maxRows    = 1 << 16  // rows of each table
	fhSize     = 28       // firstheader
	scanChunk  = 1 << 20  // firstheader scan, a multiple of 512
	maxScan    = 1 << 40  // bytes scanned for the firstheader
	compressed = 1 << 31  // non-solid block length flag
	lenMask    = compressed - 1
)

var signature = []byte("\xef\xbe\xad\xdeNullsoftInst")

// ErrNotNSIS says no NSIS first header was found.
var ErrNotNSIS = errors.New("nsis script: no NSIS first header")

// FirstHeader is NSIS's firstheader.
type FirstHeader struct {
	Offset    int64 // in the installer
	Flags     uint32
	HeaderLen uint32 // decompressed header length
	DataLen   uint32 // all data from the first header on
}

// Find locates the first header (512-byte aligned) in r.
func Find(ctx context.Context, r io.ReaderAt, size int64) (FirstHeader, error) {
	buf := make([]byte, scanChunk+fhSize)
	for base := int64(0); base < size && base < maxScan; base += scanChunk {
		if err := ctx.Err(); err != nil {
			return FirstHeader{}, err
		}
		n, err := r.ReadAt(buf, base)
		if err != nil && err != io.EOF {
			return FirstHeader{}, err
		}
		for off := 0; off+fhSize <= n && off < scanChunk; off += 512 {
			if bytes.Equal(buf[off+4:off+4+len(signature)], signature) {
				b := buf[off:]
				return FirstHeader{
					Offset:    base + int64(off),
					Flags:     binary.LittleEndian.Uint32(b),
					HeaderLen: binary.LittleEndian.Uint32(b[20:]),
					DataLen:   binary.LittleEndian.Uint32(b[24:]),
				}, nil
			}
		}
		if n < len(buf) {
			break
		}
	}
	return FirstHeader{}, ErrNotNSIS
}

// Method names the header's compression.
type Method string

// Compression methods.
const (
	Stored  Method = "stored"
	Deflate Method = "zlib"
	LZMA    Method = "lzma"
	BZip2   Method = "bzip2"
)

// Layout says where an installer's data is: what a reader of its files
// needs besides the files table.
type Layout struct {
	FirstHeader FirstHeader
	Method      Method
	Solid       bool
	// LZMAFilter is the filter flag byte that can precede the LZMA
	// properties (-1: none; 1: the x86 branch filter).
	LZMAFilter int
	// Start is the offset in the installer of the first data block
	// (non-solid: after the header block) or of the one compressed stream
	// (solid: it holds a 4-byte length and the header, then the data).
	Start int64
	// End is where the data ends: the first header's data length, capped
	// to the file (it includes the installer's CRC32, when there is one).
	End int64
}

// ReadHeader decompresses the header block that follows fh. It returns the
// header bytes, the method and whether the data is solid.
func ReadHeader(ctx context.Context, r io.ReaderAt, size int64, fh FirstHeader) ([]byte, Method, bool, error) {
	hdr, l, err := readHeader(ctx, r, size, fh)
	return hdr, l.Method, l.Solid, err
}

// readHeader is ReadHeader with the data's layout. Which compressor and
// whether solid is not written anywhere: it is told from the first bytes,
// and a guess that fails to decode gives way to the next one.
func readHeader(ctx context.Context, r io.ReaderAt, size int64, fh FirstHeader) ([]byte, Layout, error) {
	l := Layout{FirstHeader: fh, LZMAFilter: -1}
	if fh.HeaderLen < 4+8*8 || fh.HeaderLen > MaxHeader {
		return nil, l, fmt.Errorf("nsis script: header length %d out of range", fh.HeaderLen)
	}
	start := fh.Offset + fhSize
	if start >= size {
		return nil, l, fmt.Errorf("nsis script: no data after the first header")
	}
	end := size
	if d := fh.Offset + int64(fh.DataLen); fh.DataLen >= fhSize && d < end {
		end = d
	}
	l.End = end
	sec := io.NewSectionReader(r, start, end-start)
	var sig [16]byte
	n, _ := sec.ReadAt(sig[:], 0)
	if n < 8 {
		return nil, l, fmt.Errorf("nsis script: data too short")
	}
	want := int64(fh.HeaderLen)
	solid := func(m Method, skip int) ([]byte, Layout, error) {
		sl := l
		sl.Method, sl.Solid, sl.Start = m, true, start
		if m == LZMA && skip > 0 {
			sl.LZMAFilter = int(sig[0])
		}
		hdr, err := readSolid(ctx, sec, skip, m, want)
		return hdr, sl, err
	}
	// Solid: one stream from the start, headed by the header length.
	if skip, ok := isLZMA(sig[:n]); ok {
		return solid(LZMA, skip)
	}
	first := binary.LittleEndian.Uint32(sig[:])
	switch {
	case first == fh.HeaderLen:
		hdr := make([]byte, want)
		if _, err := sec.ReadAt(hdr, 4); err != nil {
			return nil, l, fmt.Errorf("nsis script: stored header: %w", err)
		}
		l.Method, l.Start = Stored, start+4+want
		return hdr, l, nil
	case first&compressed != 0:
		hdr, m, skip, err := readNonSolid(ctx, sec, sig[:n], first, end-start, want)
		if err == nil {
			l.Method, l.Start = m, start+4+int64(first&lenMask)
			if m == LZMA && skip > 0 {
				l.LZMAFilter = int(sig[4])
			}
			return hdr, l, nil
		}
		// A solid stream can start with bytes that look like a compressed
		// block length (7-Zip is misled the same way by deflate): try it.
		if shdr, sl, serr := solid(Deflate, 0); serr == nil {
			return shdr, sl, nil
		}
		if isBZip2(sig[:]) {
			if shdr, sl, serr := solid(BZip2, 0); serr == nil {
				return shdr, sl, nil
			}
		}
		l.Method = m
		return nil, l, err
	case isBZip2(sig[:]):
		return solid(BZip2, 0)
	default:
		return solid(Deflate, 0)
	}
}

func readNonSolid(ctx context.Context, sec *io.SectionReader, sig []byte, first uint32, avail, want int64) ([]byte, Method, int, error) {
	clen := int64(first & lenMask)
	if clen > avail-4 {
		return nil, "", 0, fmt.Errorf("nsis script: compressed header length %d beyond the file", clen)
	}
	body := io.NewSectionReader(sec, 4, clen)
	m := Deflate
	var skip int
	if s, ok := isLZMA(sig[4:]); ok {
		m, skip = LZMA, s
	} else if isBZip2(sig[4:]) {
		m = BZip2
	}
	dr, err := Decompressor(body, m, skip, want)
	if err != nil {
		return nil, m, skip, err
	}
	hdr, err := readN(ctx, dr, want)
	if err != nil {
		return nil, m, skip, fmt.Errorf("nsis script: %s header: %w", m, err)
	}
	return hdr, m, skip, nil
}

func readSolid(ctx context.Context, sec *io.SectionReader, skip int, m Method, want int64) ([]byte, error) {
	dr, err := Decompressor(io.NewSectionReader(sec, 0, sec.Size()), m, skip, want+4)
	if err != nil {
		return nil, err
	}
	lenb, err := readN(ctx, dr, 4)
	if err != nil {
		return nil, fmt.Errorf("nsis script: solid %s: %w", m, err)
	}
	if got := int64(binary.LittleEndian.Uint32(lenb)); got != want {
		return nil, fmt.Errorf("nsis script: solid %s stream starts with length %d, first header says %d", m, got, want)
	}
	hdr, err := readN(ctx, dr, want)
	if err != nil {
		return nil, fmt.Errorf("nsis script: solid %s: %w", m, err)
	}
	return hdr, nil
}

// Decompressor reads method m (not Stored) from sec, after skip bytes (an
// LZMA filter flag). window bounds the bytes the caller will read, so an
// LZMA dictionary need not be larger: a forged dictionary size must not
// allocate a gigabyte. NSIS's zlib is raw deflate and its bzip2 is NSIS's
// own variant (package nsis/bzip2).
func Decompressor(sec *io.SectionReader, m Method, skip int, window int64) (io.Reader, error) {
	switch m {
	case Deflate:
		return flate.NewReader(sec), nil
	case BZip2:
		return bzip2.NewReader(sec, bzip2.NSIS), nil
	case LZMA:
	default:
		return nil, fmt.Errorf("nsis script: no decompressor for %q", m)
	}
	r := io.NewSectionReader(sec, 0, sec.Size())
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, r, int64(skip)); err != nil {
			return nil, err
		}
	}
	var props [5]byte
	if _, err := io.ReadFull(r, props[:]); err != nil {
		return nil, fmt.Errorf("nsis script: lzma properties: %w", err)
	}
	dict := max(int64(binary.LittleEndian.Uint32(props[1:])), lzma.MinDictCap)
	dict = min(dict, window+4096, 1<<32-1)
	data := io.NewSectionReader(sec, int64(skip)+5, sec.Size()-int64(skip)-5)
	z := &lzmaReader{data: data, props: props, dict: dict}
	if err := z.open(min(dict, max(minFirstDict, firstDictPerByte*data.Size()))); err != nil {
		return nil, fmt.Errorf("nsis script: lzma: %w", err)
	}
	return z, nil
}

// The first dictionary of an LZMA stream: firstDictPerByte times its
// compressed size, at least minFirstDict, never more than the stream's.
// NSIS writes 8 MiB (or more) into every stream's properties, and the
// decoder allocates and zeroes that much at once, for an installer of a few
// hundred kilobytes as for one of a hundred megabytes, and for each file of
// a non-solid installer: that was a tenth of a scan's CPU on small NSIS
// installers. Few streams decompress to more than 16 times their size;
// those are decoded again with their own dictionary (lzmaReader).
const (
	minFirstDict     = 256 << 10
	firstDictPerByte = 16
)

// lzmaReader decodes a classic LZMA stream whose dictionary is dict bytes
// with a smaller dictionary first, until it would need a larger one.
//
// A decoder whose dictionary holds C bytes decodes the stream's first C
// bytes exactly as one with the stream's dictionary does: until then every
// byte decoded is still in its dictionary, so every match distance and
// every literal's context byte reads the same history, and any error it
// meets there the other meets too. Past C they may differ (a match further
// back than C, and the decoder decodes ahead of its reader). So at most C
// bytes are taken from it; then, or at any error it reports, the stream is
// decoded again from its start with dict bytes, the bytes already returned
// are skipped, and that decoder goes on (its errors are the stream's).
type lzmaReader struct {
	data  *io.SectionReader // the compressed bytes after the properties
	props [5]byte
	dict  int64     // the stream's dictionary (as the caller bounds it)
	cap   int64     // r's dictionary: dict, or less until grown
	r     io.Reader // decodes from the stream's start
	out   int64     // bytes returned
	grow  bool      // the small decoder failed: go on with dict bytes
	err   error     // the second decoder could not reach out: every Read fails so
}

// open starts a decoder with a dictionary of size bytes at the stream's
// start.
func (z *lzmaReader) open(size int64) error {
	// A classic .lzma header: the 5 property bytes, then an unknown size.
	var h [13]byte
	h[0] = z.props[0]
	binary.LittleEndian.PutUint32(h[1:5], uint32(size))
	for i := 5; i < len(h); i++ {
		h[i] = 0xff
	}
	lr, err := lzma.NewReader(io.MultiReader(bytes.NewReader(h[:]), io.NewSectionReader(z.data, 0, z.data.Size())))
	if err != nil {
		return err
	}
	z.r, z.cap = lr, size
	return nil
}

func (z *lzmaReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if z.cap < z.dict {
		if z.grow || z.out >= z.cap {
			if err := z.open(z.dict); err != nil {
				z.err = fmt.Errorf("lzma: %w", err)
				return 0, z.err
			}
			if _, err := io.CopyN(io.Discard, z.r, z.out); err != nil {
				// Its decoder stops short of what was returned (an error
				// it met decoding ahead): a later Read must not hand out
				// bytes from where it stopped as if they came next.
				z.err = err
				return 0, err
			}
		} else if rest := z.cap - z.out; int64(len(p)) > rest {
			p = p[:rest]
		}
	}
	small := z.cap < z.dict
	n, err := z.r.Read(p)
	z.out += int64(n)
	if small && err != nil && err != io.EOF {
		// The stream's own dictionary decides whether this is an error.
		z.grow = true
		if n > 0 {
			return n, nil
		}
		return z.Read(p)
	}
	return n, err
}

// readN reads exactly n bytes, in chunks, checking ctx.
func readN(ctx context.Context, r io.Reader, n int64) ([]byte, error) {
	out := make([]byte, 0, min(n, 1<<20))
	buf := make([]byte, 64<<10)
	for int64(len(out)) < n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := min(int64(len(buf)), n-int64(len(out)))
		m, err := io.ReadFull(r, buf[:k])
		out = append(out, buf[:m]...)
		if err != nil {
			return nil, fmt.Errorf("decompress: %d of %d bytes: %w", len(out), n, err)
		}
	}
	return out, nil
}

// BlockMethod tells the compressor of a non-solid data block from its
// first bytes, and how many bytes (an LZMA filter flag) precede the LZMA
// properties. A non-solid installer's header block can be stored while its
// file blocks are compressed, so each block is sniffed on its own.
func BlockMethod(head []byte) (Method, int) {
	if skip, ok := isLZMA(head); ok {
		return LZMA, skip
	}
	if isBZip2(head) {
		return BZip2, 0
	}
	return Deflate, 0
}

// isLZMA recognises NSIS's LZMA start: property byte 0x5D and a plausible
// dictionary size, optionally after a one-byte filter flag.
func isLZMA(p []byte) (int, bool) {
	ok := func(p []byte) bool {
		if len(p) < 5 || p[0] != 0x5D {
			return false
		}
		d := binary.LittleEndian.Uint32(p[1:])
		return d >= 1<<12 && d <= 1<<30 && (d&(d-1) == 0 || (d/3)&(d/3-1) == 0 && d%3 == 0)
	}
	if ok(p) {
		return 0, true
	}
	if len(p) > 0 && p[0] <= 1 && ok(p[1:]) {
		return 1, true
	}
	return 0, false
}

// isBZip2 recognises NSIS's bzip2 start: the block marker 0x31, then the
// high byte of a 24-bit origin pointer below 900,000.
func isBZip2(p []byte) bool { return len(p) >= 2 && p[0] == 0x31 && p[1] < 14 }
