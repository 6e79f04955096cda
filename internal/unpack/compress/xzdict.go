package compress

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// xz's LZMA2 filter declares a dictionary size that the decoder
// (github.com/ulikunitz/xz) allocates and clears in full for every block:
// `xz -9` declares 64 MiB, so a 50 KiB .tar.xz cost 64 MiB of memory
// clearing. A block never refers further back than what it has produced,
// so a dictionary as large as the block's uncompressed size decodes it the
// same. The stream's index gives that size; FitDict reads it and hands the
// decoder the stream with each block's dictionary byte lowered to it (and
// the block header's CRC32 recomputed). Anything unexpected (more than one
// stream, padding, a filter chain other than LZMA2 alone, a bad CRC, a
// header that disagrees with the index) leaves the stream as it is, for the
// decoder to judge as before.

const (
	xzHeaderLen    = 12
	xzMaxIndex     = 1 << 20 // larger indexes are left to the decoder
	xzMaxBlocks    = 4096
	xzLZMA2ID      = 0x21
	xzMinDictShift = 12 // dictionary byte 0 is 4 KiB, the decoder's minimum
)

// xzCheckSizes is the size of each check type's field (xz format 2.1.1.2).
var xzCheckSizes = [16]int64{0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64}

// FitDict returns a reader of the xz stream in ra (size bytes) whose
// LZMA2 dictionary sizes are at most what each block needs, or a plain
// reader of ra when the stream is not the simple case it handles.
func FitDict(ra io.ReaderAt, size int64) io.Reader {
	plain := io.NewSectionReader(ra, 0, size)
	patches := dictPatches(ra, size)
	if len(patches) == 0 {
		return plain
	}
	var parts []io.Reader
	var at int64
	for _, p := range patches {
		parts = append(parts, io.NewSectionReader(ra, at, p.offset-at), bytes.NewReader(p.header))
		at = p.offset + int64(len(p.header))
	}
	parts = append(parts, io.NewSectionReader(ra, at, size-at))
	return io.MultiReader(parts...)
}

// headerPatch replaces the block header at offset.
type headerPatch struct {
	offset int64
	header []byte
}

// dictPatches returns the rewritten block headers, in stream order.
func dictPatches(ra io.ReaderAt, size int64) []headerPatch {
	if size < 2*xzHeaderLen {
		return nil
	}
	var head, foot [xzHeaderLen]byte
	if _, err := ra.ReadAt(head[:], 0); err != nil {
		return nil
	}
	if _, err := ra.ReadAt(foot[:], size-xzHeaderLen); err != nil {
		return nil
	}
	if !bytes.Equal(head[:6], xzMagic) || !bytes.Equal(foot[10:], []byte("YZ")) ||
		head[6] != 0 || head[7] > 0x0f || head[6] != foot[8] || head[7] != foot[9] ||
		crc32.ChecksumIEEE(head[6:8]) != binary.LittleEndian.Uint32(head[8:]) ||
		crc32.ChecksumIEEE(foot[4:10]) != binary.LittleEndian.Uint32(foot[:4]) {
		return nil
	}
	checkSize := xzCheckSizes[head[7]]
	indexLen := (int64(binary.LittleEndian.Uint32(foot[4:8])) + 1) * 4
	indexAt := size - xzHeaderLen - indexLen
	if indexLen > xzMaxIndex || indexAt < xzHeaderLen {
		return nil
	}
	index := make([]byte, indexLen)
	if _, err := ra.ReadAt(index, indexAt); err != nil {
		return nil
	}
	records, ok := parseXZIndex(index)
	if !ok {
		return nil
	}
	// The blocks must fill the space between header and index exactly:
	// one stream, no stream padding.
	var patches []headerPatch
	at := int64(xzHeaderLen)
	for _, r := range records {
		if r.unpadded > indexAt-at {
			return nil
		}
		if p, ok := patchBlock(ra, at, r, checkSize); ok {
			patches = append(patches, p)
		}
		at += (r.unpadded + 3) &^ 3
	}
	if at != indexAt {
		return nil
	}
	return patches
}

// xzRecord is one index record.
type xzRecord struct{ unpadded, uncompressed int64 }

// parseXZIndex reads an index (xz format 4): indicator, record count,
// records, padding, CRC32.
func parseXZIndex(b []byte) ([]xzRecord, bool) {
	if len(b) < 8 || b[0] != 0 || crc32.ChecksumIEEE(b[:len(b)-4]) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, false
	}
	body := b[1 : len(b)-4]
	n, k := xzVarint(body)
	if k == 0 || n == 0 || n > xzMaxBlocks {
		return nil, false
	}
	body = body[k:]
	records := make([]xzRecord, 0, n)
	for i := uint64(0); i < n; i++ {
		u, k1 := xzVarint(body)
		if k1 == 0 {
			return nil, false
		}
		c, k2 := xzVarint(body[k1:])
		if k2 == 0 || u == 0 || u > 1<<62 || c > 1<<62 {
			return nil, false
		}
		body = body[k1+k2:]
		records = append(records, xzRecord{int64(u), int64(c)})
	}
	// What is left is the padding to a multiple of four: up to 3 zeros.
	if len(body) > 3 {
		return nil, false
	}
	for _, c := range body {
		if c != 0 {
			return nil, false
		}
	}
	return records, true
}

// xzVarint decodes xz's multibyte integer (at most 9 bytes); k is 0 when b
// holds none.
func xzVarint(b []byte) (v uint64, k int) {
	for i := 0; i < len(b) && i < 9; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if i > 0 && b[i] == 0 {
				return 0, 0 // not the shortest form
			}
			return v, i + 1
		}
	}
	return 0, 0
}

// patchBlock returns the block header at `at` with its LZMA2 dictionary
// byte lowered to fit r.uncompressed, when the header is one it handles and
// the byte can be lowered.
func patchBlock(ra io.ReaderAt, at int64, r xzRecord, checkSize int64) (headerPatch, bool) {
	var first [1]byte
	if _, err := ra.ReadAt(first[:], at); err != nil || first[0] == 0 {
		return headerPatch{}, false
	}
	hlen := (int64(first[0]) + 1) * 4
	if hlen+checkSize >= r.unpadded {
		return headerPatch{}, false
	}
	h := make([]byte, hlen)
	if _, err := ra.ReadAt(h, at); err != nil {
		return headerPatch{}, false
	}
	if crc32.ChecksumIEEE(h[:hlen-4]) != binary.LittleEndian.Uint32(h[hlen-4:]) {
		return headerPatch{}, false
	}
	flags := h[1]
	if flags&0x3f != 0 { // one filter, no reserved bit
		return headerPatch{}, false
	}
	p := h[2 : hlen-4]
	if flags&0x40 != 0 {
		v, k := xzVarint(p)
		if k == 0 || int64(v) != r.unpadded-hlen-checkSize {
			return headerPatch{}, false
		}
		p = p[k:]
	}
	if flags&0x80 != 0 {
		v, k := xzVarint(p)
		if k == 0 || int64(v) != r.uncompressed {
			return headerPatch{}, false
		}
		p = p[k:]
	}
	if len(p) < 3 || p[0] != xzLZMA2ID || p[1] != 1 || p[2] > 40 {
		return headerPatch{}, false
	}
	fit := dictByte(r.uncompressed)
	if fit >= p[2] {
		return headerPatch{}, false
	}
	p[2] = fit
	binary.LittleEndian.PutUint32(h[hlen-4:], crc32.ChecksumIEEE(h[:hlen-4]))
	return headerPatch{offset: at, header: h}, true
}

// dictByte is the smallest LZMA2 dictionary byte whose size is at least n
// (xz format 5.3.1: byte b is (2 | b&1) << (b/2 + 11), 40 is 4 GiB - 1).
func dictByte(n int64) byte {
	for b := byte(0); b < 40; b++ {
		if int64(2|b&1)<<(b/2+11) >= n {
			return b
		}
	}
	return 40
}
