// Package setupdata reads Inno Setup's own setup data (setup-0): the loader's
// offset table, the version marker, the two compressed header blocks and
// the entries they hold (files, directories, icons, registry values, run
// entries). It follows the layout documented by innoextract's source and
// supports data versions 5.1.0 to 6.0.x, ANSI and Unicode, the versions
// innoextract 1.9 reads from that era on. Installers are hostile input:
// every length and count is bounded by the bytes that are actually there
// and by Limits, and every CRC is checked.
package setupdata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/tomscan/tomscan/internal/artifact"
)

// ErrNotInno means no valid loader offset table was found.
var ErrNotInno = errors.New("inno: no setup loader offset table")

// ErrUnsupported marks a data version this package does not decode.
var ErrUnsupported = errors.New("inno: unsupported setup data version")

// Offsets is the loader's offset table: where setup-0 and setup-1 start.
type Offsets struct {
	Header int64 // setup-0: version marker and header blocks
	Data   int64 // setup-1: file chunks
	Total  int64 // the installer's size as the loader knows it (TotalSize)
}

var (
	magicResource = []byte("rDlPtS\xcd\xe6\xd7\x7b\x0b\x2a") // 5.1.5+, RCDATA 11111
	magicPointer  = []byte("rDlPtS07\x87eVx")                // 4.1.6 to 5.1.4, pointed to from 0x30
)

// maxLoaderScan bounds the search for a 5.1.5+ table: it lives in the
// loader's resources, well inside the first megabytes.
const maxLoaderScan = 16 << 20

// Locate finds the offset table: first through the pointer at 0x30 that
// loaders before 5.1.5 keep, then as the 5.1.5+ table that sits in the
// loader's RCDATA 11111 (found by its magic and CRC rather than by walking
// the resource tree: the CRC makes a false match harmless).
func Locate(r io.ReaderAt, size int64) (Offsets, error) {
	var dos [0x3c]byte
	if _, err := r.ReadAt(dos[:], 0); err == nil && binary.LittleEndian.Uint32(dos[0x30:]) == 0x6f6e6e49 {
		at := binary.LittleEndian.Uint32(dos[0x34:])
		if at == ^binary.LittleEndian.Uint32(dos[0x38:]) {
			if o, err := readTable(r, size, int64(at)); err == nil {
				return o, nil
			}
		}
	}
	n := min(size, maxLoaderScan)
	head, inMemory := artifact.InMemoryBytes(r) // every PE comes here: no copy when it is in memory
	if !inMemory || int64(len(head)) < n {
		head = make([]byte, n)
		if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
			return Offsets{}, fmt.Errorf("inno: read loader: %w", err)
		}
	}
	head = head[:n]
	for off := 0; ; {
		i := bytes.Index(head[off:], magicResource)
		if i < 0 {
			break
		}
		if o, err := readTable(r, size, int64(off+i)); err == nil {
			return o, nil
		}
		off += i + 1
	}
	return Offsets{}, ErrNotInno
}

// readTable decodes one table (src/loader/offsets.cpp, versions 4.1.6+).
func readTable(r io.ReaderAt, size, at int64) (Offsets, error) {
	var b [12 + 9*4]byte
	n, err := r.ReadAt(b[:], at)
	if n < 12 {
		return Offsets{}, fmt.Errorf("inno: offset table: %w", err)
	}
	var fields []uint32
	var body int
	switch {
	case bytes.Equal(b[:12], magicResource):
		body = 12 + 8*4 // revision, total, exe offset, exe size, exe CRC, header, data, CRC
	case bytes.Equal(b[:12], magicPointer):
		body = 12 + 7*4 // total, exe offset, exe size, exe CRC, header, data, CRC
	default:
		return Offsets{}, ErrNotInno
	}
	if n < body {
		return Offsets{}, fmt.Errorf("inno: offset table truncated")
	}
	for i := 12; i < body; i += 4 {
		fields = append(fields, binary.LittleEndian.Uint32(b[i:]))
	}
	if crc32.ChecksumIEEE(b[:body-4]) != fields[len(fields)-1] {
		return Offsets{}, fmt.Errorf("inno: offset table CRC mismatch")
	}
	if bytes.Equal(b[:12], magicResource) {
		if fields[0] != 1 {
			return Offsets{}, fmt.Errorf("inno: offset table revision %d", fields[0])
		}
		fields = fields[1:]
	}
	o := Offsets{Header: int64(fields[4]), Data: int64(fields[5]), Total: int64(fields[0])}
	if o.Header <= 0 || o.Header >= size || o.Data < 0 || o.Data > size {
		return Offsets{}, fmt.Errorf("inno: offsets %d/%d outside the file (%d bytes)", o.Header, o.Data, size)
	}
	return o, nil
}
