package nsis

import (
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/tomscan/tomscan/internal/unpack"
)

// Fallback names for what the raw reader finds: it reads the data, not the
// script that names it, so children are named by their place in the data.
const (
	HeaderName     = "[nsis-header]"
	dataNamePrefix = "[nsis-data]/"
)

// firstHeaderSize is NSIS's firstheader: flags, siginfo, "NullsoftInst",
// length_of_header, length_of_all_following_data.
const firstHeaderSize = 28

// errNotSolidZlib says the raw reader does not apply to this installer.
var errNotSolidZlib = errors.New("not a solid zlib installer")

// readSolidZlib is the fallback for the one variant 7-Zip misreads (it takes
// the first bytes of a solid deflate stream for a non-solid block length):
// one raw deflate stream holding [u32 size][header] then [u32 size][data]
// per file. Children are named by their offset in the data block (the
// offset the script's File commands refer to), since the names live in the
// compiled script, which only 7z decodes.
func readSolidZlib(ctx context.Context, in unpack.Input, sink unpack.Sink, off int64) (int, error) {
	var fh [firstHeaderSize]byte
	if _, err := in.Blob.ReaderAt().ReadAt(fh[:], off); err != nil {
		return 0, fmt.Errorf("nsis: first header: %w", err)
	}
	headerLen := int64(binary.LittleEndian.Uint32(fh[20:]))
	total := int64(binary.LittleEndian.Uint32(fh[24:]))
	size := in.Blob.Size()
	if total < firstHeaderSize || off+total > size || headerLen <= 0 {
		return 0, fmt.Errorf("nsis: first header lengths %d/%d do not fit the file: %w", headerLen, total, errNotSolidZlib)
	}
	fr := flate.NewReader(io.NewSectionReader(in.Blob.ReaderAt(), off+firstHeaderSize, total-firstHeaderSize))
	defer fr.Close()
	// Skipped bytes are inflated too: cap all of it at the build's byte
	// limit and stop at its deadline.
	zr := &boundedReader{ctx: ctx, r: fr, left: in.Limits.MaxTotalBytes}
	var n [4]byte
	if _, err := io.ReadFull(zr, n[:]); err != nil || int64(binary.LittleEndian.Uint32(n[:])) != headerLen {
		return 0, errNotSolidZlib
	}
	emitted := 0
	emit := func(name string, length int64, meta map[string]string) error {
		body := io.LimitReader(zr, length)
		err := sink.Emit(ctx, unpack.Entry{Name: name, Size: length, Meta: meta, Body: body})
		emitted++
		if err != nil {
			return err
		}
		// Whatever the engine did not read (a limit hit) is skipped so the
		// next block starts where it should.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return fmt.Errorf("nsis: skip rest of %s: %w", name, err)
		}
		return nil
	}
	if err := emit(HeaderName, headerLen, map[string]string{"method": "zlib", "solid": "+"}); err != nil {
		return emitted, err
	}
	var pos int64 // offset in the data block, as the script's File commands give it
	for {
		if err := ctx.Err(); err != nil {
			return emitted, err
		}
		if _, err := io.ReadFull(zr, n[:]); err != nil {
			if err == io.EOF {
				return emitted, nil
			}
			return emitted, fmt.Errorf("nsis: data block at %d: %w", pos, err)
		}
		length := int64(binary.LittleEndian.Uint32(n[:]) & 0x7fffffff)
		if err := emit(dataNamePrefix+strconv.FormatInt(pos, 10), length, map[string]string{"method": "zlib", "solid": "+"}); err != nil {
			return emitted, err
		}
		pos += 4 + length
	}
}

// boundedReader stops after left bytes or when ctx ends.
type boundedReader struct {
	ctx  context.Context
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	if b.left <= 0 {
		return 0, fmt.Errorf("nsis: more than max total bytes inflated")
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}
