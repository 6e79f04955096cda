package setupdata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// blockChunk is the span of compressed data each CRC32 covers.
const blockChunk = 4096

// readBlock reads one header block at off (src/stream/block.cpp, 4.0.9+):
// CRC32 of the next 5 bytes, the stored size (data and chunk CRCs), a
// compressed flag, then 4096-byte chunks each after its CRC32. It returns
// the decompressed block and the offset just past it. maxOut bounds both
// the stored and the decompressed size.
func readBlock(r io.ReaderAt, size, off int64, maxOut int64) ([]byte, int64, error) {
	var head [9]byte
	if _, err := r.ReadAt(head[:], off); err != nil {
		return nil, 0, fmt.Errorf("block header at %d: %w", off, err)
	}
	if crc32.ChecksumIEEE(head[4:9]) != binary.LittleEndian.Uint32(head[:4]) {
		return nil, 0, fmt.Errorf("block header at %d: CRC32 mismatch", off)
	}
	stored := int64(binary.LittleEndian.Uint32(head[4:]))
	compressed := head[8] != 0
	start := off + 9
	if stored > size-start {
		return nil, 0, fmt.Errorf("block at %d: stored size %d past the end of the file", off, stored)
	}
	if stored > maxOut+maxOut/blockChunk*4+4 {
		return nil, 0, fmt.Errorf("block at %d: stored size %d over the limit of %d bytes", off, stored, maxOut)
	}
	raw := make([]byte, stored)
	if stored > 0 {
		if _, err := r.ReadAt(raw, start); err != nil {
			return nil, 0, fmt.Errorf("block at %d: %w", off, err)
		}
	}
	data := make([]byte, 0, stored)
	for p := 0; p < len(raw); {
		if len(raw)-p < 5 {
			return nil, 0, fmt.Errorf("block at %d: trailing %d bytes", off, len(raw)-p)
		}
		n := min(blockChunk, len(raw)-p-4)
		chunk := raw[p+4 : p+4+n]
		if crc32.ChecksumIEEE(chunk) != binary.LittleEndian.Uint32(raw[p:]) {
			return nil, 0, fmt.Errorf("block at %d: chunk at %d: CRC32 mismatch", off, p)
		}
		data = append(data, chunk...)
		p += 4 + n
	}
	end := start + stored
	if !compressed {
		return data, end, nil
	}
	out, err := decodeLZMA1(data, maxOut)
	if err != nil {
		return nil, 0, fmt.Errorf("block at %d: %w", off, err)
	}
	return out, end, nil
}

// decodeLZMA1 decodes Inno's LZMA1 stream: 5 property bytes, then raw LZMA
// data ended by the end-of-payload marker. The dictionary is capped by the
// output limit: no valid distance can reach further than the output, so a
// hostile header cannot make the decoder allocate more.
func decodeLZMA1(data []byte, maxOut int64) ([]byte, error) {
	if len(data) < 5 {
		return nil, fmt.Errorf("lzma: %d bytes, no properties", len(data))
	}
	if data[0] >= 9*5*5 {
		return nil, fmt.Errorf("lzma: bad properties byte %d", data[0])
	}
	dict := int64(binary.LittleEndian.Uint32(data[1:5]))
	if dict > 1<<28 {
		return nil, fmt.Errorf("lzma: dictionary size %d too large", dict)
	}
	dict = max(min(dict, maxOut), 1<<12)
	hdr := make([]byte, 13)
	hdr[0] = data[0]
	binary.LittleEndian.PutUint32(hdr[1:], uint32(dict))
	binary.LittleEndian.PutUint64(hdr[5:], ^uint64(0)) // size unknown: the end marker ends it
	zr, err := lzma.ReaderConfig{DictCap: int(dict)}.NewReader(io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(data[5:])))
	if err != nil {
		return nil, fmt.Errorf("lzma: %w", err)
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(zr, maxOut+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("lzma: truncated stream")
		}
		return nil, fmt.Errorf("lzma: %w", err)
	}
	if n > maxOut {
		return nil, fmt.Errorf("lzma: block decompresses to more than %d bytes", maxOut)
	}
	return out.Bytes(), nil
}
