package zip

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
)

// The standard library trusts the central directory's compressed size: a
// deflated entry whose size says 1000 bytes more than its data inflates
// fine (the stream ends before), so the lie passes unseen. Its checks of
// the uncompressed size and the CRC only run on what is read, and an entry
// over the entry limit is never read. checkBounds compares, for every entry,
// what the central directory declares with the bytes around the entry:
//   - its data must end inside the file (else truncated),
//   - and before the next entry's local header, or the central directory
//     for the last one (else malformed: the size lies or entries overlap);
//   - its local header's CRC and sizes, when it carries them (no data
//     descriptor), or else its data descriptor's, must equal the central
//     directory's (else malformed, naming the field).
//
// Each finding is an issue on the archive's node; the entries are still
// read (what can be read is kept).

// local is what checkBounds learns of one entry.
type local struct {
	f      *zip.File
	header int64 // where its local header starts
	data   int64 // where its data starts
}

func checkBounds(ctx context.Context, ra io.ReaderAt, size int64, files []*zip.File, sink unpack.Sink) {
	var ls []local
	for _, f := range files {
		if ctx.Err() != nil {
			return
		}
		data, err := f.DataOffset()
		if err != nil {
			continue // f.Open says why, on the entry
		}
		ls = append(ls, local{f: f, header: findHeader(ra, data), data: data})
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].header < ls[j].header })
	cd := centralStart(ra, size)
	lies := 0
	issue := func(kind, msg string) {
		// One archive that lies in every entry is one finding, not thousands.
		if lies++; lies <= 10 {
			sink.Issue(kind, msg)
		} else if lies == 11 {
			sink.Issue(kind, "zip: more entries' headers disagree with the file: only the first 10 are listed")
		}
	}
	for i, l := range ls {
		csize := int64(l.f.CompressedSize64)
		if l.f.CompressedSize64 > 1<<62 {
			csize = 1 << 62
		}
		end := l.data + csize
		bound, what := cd, "the central directory"
		for j := i + 1; j < len(ls); j++ {
			if ls[j].header > l.header { // entries that share a header are checked by their reads
				bound, what = ls[j].header, fmt.Sprintf("the local header of entry %q", ls[j].f.Name)
				break
			}
		}
		switch {
		case bound >= 0 && end > bound:
			issue(artifact.KindMalformed, fmt.Sprintf("zip: entry %q declares %d compressed bytes from %d, to %d, past %s at %d: its compressed size lies or entries overlap",
				l.f.Name, l.f.CompressedSize64, l.data, end, what, bound))
			continue
		case end > size:
			issue(artifact.KindTruncated, fmt.Sprintf("zip: entry %q declares %d compressed bytes from %d, to %d; the file has %d bytes (%d missing)",
				l.f.Name, l.f.CompressedSize64, l.data, end, size, end-size))
			continue
		}
		if msg := compareLocal(ra, size, l, end); msg != "" {
			issue(artifact.KindMalformed, msg)
		}
	}
}

var (
	sigLocal      = []byte("PK\x03\x04")
	sigDescriptor = []byte("PK\x07\x08")
)

// findHeader finds the local header whose name and extra fields end where
// the entry's data starts; -1 when none does in the 64 KiB before it.
func findHeader(ra io.ReaderAt, data int64) int64 {
	for _, span := range []int64{1 << 10, 64<<10 + 30 + 64<<10} {
		from := max(data-span, 0)
		buf := make([]byte, data-from)
		if n, _ := ra.ReadAt(buf, from); n < len(buf) {
			return -1
		}
		for p := len(buf) - 30; p >= 0; p-- {
			if !bytes.Equal(buf[p:p+4], sigLocal) {
				continue
			}
			n, m := int(binary.LittleEndian.Uint16(buf[p+26:])), int(binary.LittleEndian.Uint16(buf[p+28:]))
			if p+30+n+m == len(buf) {
				return from + int64(p)
			}
		}
		if from == 0 {
			break
		}
	}
	return -1
}

// centralStart is where the central directory starts, from the end of
// central directory record (and its ZIP64 record when the sizes overflow):
// the record's position minus the directory's size, which holds for a ZIP
// appended to a stub as for a plain one. -1 when it cannot be told.
func centralStart(ra io.ReaderAt, size int64) int64 {
	n := min(size, 22+65535)
	buf := make([]byte, n)
	if k, _ := ra.ReadAt(buf, size-n); int64(k) < n {
		return -1
	}
	// The last record whose comment ends the file; a comment may itself
	// hold the signature.
	p := -1
	for q := len(buf) - 22; q >= 0; q-- {
		if bytes.Equal(buf[q:q+4], []byte("PK\x05\x06")) && q+22+int(binary.LittleEndian.Uint16(buf[q+20:])) == len(buf) {
			p = q
			break
		}
	}
	if p < 0 {
		return -1
	}
	eocd := size - n + int64(p)
	dirSize := int64(binary.LittleEndian.Uint32(buf[p+12:]))
	dirOff := binary.LittleEndian.Uint32(buf[p+16:])
	if dirSize != 0xFFFFFFFF && dirOff != 0xFFFFFFFF {
		return eocd - dirSize
	}
	// ZIP64: the locator (20 bytes) right before, the record (56) before it.
	rec := make([]byte, 56)
	if eocd < 76 {
		return -1
	}
	if _, err := ra.ReadAt(rec, eocd-76); err != nil || !bytes.Equal(rec[:4], []byte("PK\x06\x06")) {
		return -1
	}
	size64 := binary.LittleEndian.Uint64(rec[40:])
	if size64 > uint64(eocd) {
		return -1
	}
	return eocd - 76 - int64(size64)
}

// compareLocal compares the central directory's CRC and sizes with the
// local header's or, for an entry written with a data descriptor, the
// descriptor's after the data; "" when they agree or cannot be told.
func compareLocal(ra io.ReaderAt, size int64, l local, end int64) string {
	if l.header < 0 {
		return ""
	}
	var h [30]byte
	if _, err := ra.ReadAt(h[:], l.header); err != nil {
		return ""
	}
	flags := binary.LittleEndian.Uint16(h[6:])
	crc, csize, usize := binary.LittleEndian.Uint32(h[14:]), binary.LittleEndian.Uint32(h[18:]), binary.LittleEndian.Uint32(h[22:])
	where := "local header"
	if flags&0x8 != 0 {
		// A data descriptor: [signature] crc, compressed, uncompressed (32-bit
		// fields unless the entry is ZIP64, whose sizes are not compared).
		var d [16]byte
		n, _ := ra.ReadAt(d[:], end)
		if n < 12 {
			return ""
		}
		b := d[:n]
		if bytes.HasPrefix(b, sigDescriptor) {
			if n < 16 {
				return ""
			}
			b = b[4:]
		}
		crc, csize, usize = binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])
		where = fmt.Sprintf("data descriptor (read at %d, where its compressed size %d says the data ends)", end, l.f.CompressedSize64)
	}
	f := l.f
	if f.CRC32 != crc {
		return fmt.Sprintf("zip: entry %q: the central directory's CRC-32 %08x is not its %s's %08x", f.Name, f.CRC32, where, crc)
	}
	if f.CompressedSize64 >= 0xFFFFFFFF || f.UncompressedSize64 >= 0xFFFFFFFF || csize == 0xFFFFFFFF || usize == 0xFFFFFFFF {
		return "" // ZIP64 sizes live in extra fields
	}
	if uint64(csize) != f.CompressedSize64 {
		return fmt.Sprintf("zip: entry %q: the central directory's compressed size %d is not its %s's %d", f.Name, f.CompressedSize64, where, csize)
	}
	if uint64(usize) != f.UncompressedSize64 {
		return fmt.Sprintf("zip: entry %q: the central directory's uncompressed size %d is not its %s's %d", f.Name, f.UncompressedSize64, where, usize)
	}
	return ""
}
