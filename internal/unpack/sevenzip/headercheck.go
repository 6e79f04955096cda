package sevenzip

// headercheck.go validates a 7z archive's header against the bytes that are
// there before github.com/bodgit/sevenzip sees it. The library allocates
// whatever the header declares: readCoder does make([]byte, size) for a
// coder's property size read as a 7z number (0xFF + a u64 just under 4 GiB
// passes its MaxUint32 check), readCRC make([]uint32, count) for a stream
// count, readFilesInfo make([]FileHeader, files) — each up to 4G elements,
// before any byte of them is read, and before the header's CRC is checked.
// A crafted 11 KB file is enough to take gigabytes. Here every size and
// count is checked against the header bytes that would have to hold it,
// and the container's own size; a disagreement is a `malformed` issue
// naming the field, a header cut off by the end of the file `truncated`.
// (In its own file, apart from the extractor, so that other changes to the
// extractor merge cleanly.)

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/ulikunitz/xz/lzma"

	"github.com/tomscan/tomscan/internal/unpack"
)

// 7z property ids (7zFormat.txt).
const (
	idEnd               = 0x00
	idHeader            = 0x01
	idArchiveProperties = 0x02
	idAdditionalStreams = 0x03
	idMainStreamsInfo   = 0x04
	idFilesInfo         = 0x05
	idPackInfo          = 0x06
	idUnpackInfo        = 0x07
	idSubStreamsInfo    = 0x08
	idSize              = 0x09
	idCRC               = 0x0A
	idFolder            = 0x0B
	idCodersUnpackSize  = 0x0C
	idNumUnpackStream   = 0x0D
	idEncodedHeader     = 0x17
)

// Bounds beyond which a header is refused even when its bytes are there.
const (
	signatureHeaderSize = 32
	// maxHeaderBytes bounds the (decoded) header read here; real headers
	// of installers are kilobytes, one of a million files some tens of MB.
	maxHeaderBytes = 64 << 20
	// maxItems bounds every per-file and per-stream count: the library
	// allocates one element (up to ~150 bytes for a file) per count.
	maxItems = 1 << 20
	// 7-Zip's own limits per folder (7zIn.cpp: k_Scan_NumCoders_MAX,
	// k_Scan_NumCodersStreams_in_Folder_MAX).
	maxCoders        = 64
	maxCoderStreams  = 64
	maxLZMADict      = 1536 << 20 // 7-Zip's largest LZMA/LZMA2 dictionary
	maxLZMA2DictProp = 37         // LZMA2 dictionary byte for 1.5 GiB
)

// headerError is a malformed or truncated header: Field names what lied.
type headerError struct {
	kind  error // unpack.ErrMalformed or unpack.ErrTruncated
	Field string
	Msg   string
}

func (e *headerError) Error() string { return fmt.Sprintf("7z: %s: %s", e.Field, e.Msg) }
func (e *headerError) Unwrap() error { return e.kind }

func malformed(field, format string, a ...any) error {
	return &headerError{kind: unpack.ErrMalformed, Field: field, Msg: fmt.Sprintf(format, a...)}
}

// errTooMany is a header that is consistent but larger than tomscan reads.
var errTooMany = errors.New("7z: header larger than tomscan reads")

// CheckHeader validates the archive in r (size bytes) as the library would
// read it: the signature header it would pick, the next header's place, and
// every size and count in the header (decoding an LZMA/LZMA2-compressed
// header itself, within maxHeaderBytes). It returns nil when the library
// may go ahead; an error wrapping unpack.ErrMalformed or ErrTruncated (a
// *headerError naming the field) or errTooMany when it must not. A header
// it cannot decode (an unusual coder, or encrypted with none of the
// passwords: CheckHeaderPasswords) is left to the library.
func CheckHeader(r io.ReaderAt, size int64) error { return CheckHeaderPasswords(r, size, nil) }

// CheckHeaderPasswords is CheckHeader that also decrypts an encrypted
// header with the first of passwords that opens it (headercrypt.go) and
// checks it like a plain one.
func CheckHeaderPasswords(r io.ReaderAt, size int64, passwords []string) error {
	_, err := inspectHeader(r, size, passwords)
	return err
}

// contentAES says what the header tells of the content's encryption.
type contentAES int

const (
	aesUnknown contentAES = iota // the header was not read (left to the library)
	aesNone                      // no folder of the archive's content has an AES coder
	aesUsed                      // some folder has one
)

// inspectHeader is CheckHeaderPasswords, and it also says whether the
// content is encrypted, from the folders' coders: bodgit cannot say, as it
// reads encrypted content without a password as if the password were empty
// (see Extract).
func inspectHeader(r io.ReaderAt, size int64, passwords []string) (contentAES, error) {
	if size < signatureHeaderSize {
		head := make([]byte, min(size, int64(len(Magic))))
		if n, _ := r.ReadAt(head, 0); n == len(head) && bytes.HasPrefix(Magic, head[:min(len(head), len(Magic))]) {
			return aesUnknown, &headerError{kind: unpack.ErrTruncated, Field: "signature header",
				Msg: fmt.Sprintf("the archive has %d bytes, the signature header alone %d", size, signatureHeaderSize)}
		}
	}
	off, sh, ok, err := signatureHeader(r, size)
	if err != nil || !ok {
		return aesUnknown, err // no valid start header: the library fails without allocating
	}
	nextOff := off + signatureHeaderSize + int64(sh.nextOffset)
	if sh.nextOffset > uint64(size) || sh.nextSize > uint64(size) || nextOff+int64(sh.nextSize) > size {
		return aesUnknown, &headerError{kind: unpack.ErrTruncated, Field: "next header offset/size",
			Msg: fmt.Sprintf("header at %d (%d bytes) ends past the end of the %d-byte archive", nextOff, sh.nextSize, size)}
	}
	if sh.nextSize == 0 {
		return aesNone, nil // an empty archive
	}
	if sh.nextSize > maxHeaderBytes {
		return aesUnknown, fmt.Errorf("%w: header of %d bytes (tomscan reads up to %d)", errTooMany, sh.nextSize, maxHeaderBytes)
	}
	hdr := make([]byte, sh.nextSize) // within the file: checked above
	if _, err := r.ReadAt(hdr, nextOff); err != nil {
		return aesUnknown, fmt.Errorf("7z: read header: %w", err)
	}
	c := &cursor{b: hdr, archiveSize: size, base: off + signatureHeaderSize}
	id, err := c.byte("header id")
	if err != nil {
		return aesUnknown, err
	}
	switch id {
	case idHeader:
		err := c.header()
		return c.aes, err
	case idEncodedHeader:
		si, err := c.streamsInfo()
		if err != nil {
			return aesUnknown, err
		}
		decoded, err := c.decodeHeader(r, si, passwords)
		if err != nil || decoded == nil {
			return aesUnknown, err
		}
		d := &cursor{b: decoded, archiveSize: size, base: c.base}
		if id, err := d.byte("decoded header id"); err != nil || id != idHeader {
			return aesUnknown, err // the library refuses another id itself
		}
		err = d.header()
		return d.aes, err
	}
	return aesUnknown, nil // an unknown id: the library refuses it
}

type startHeader struct {
	nextOffset, nextSize uint64
}

// signatureHeader finds the signature header the library would use: the
// first "7z\xbc\xaf\x27\x1c" whose start-header CRC matches.
func signatureHeader(r io.ReaderAt, size int64) (int64, startHeader, bool, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk+signatureHeaderSize)
	for base := int64(0); base < size; base += chunk {
		n, err := r.ReadAt(buf, base)
		if err != nil && err != io.EOF {
			return 0, startHeader{}, false, fmt.Errorf("7z: read: %w", err)
		}
		for i := 0; i+signatureHeaderSize <= n && i < chunk; i++ {
			i0 := bytes.Index(buf[i:n], Magic)
			if i0 < 0 {
				break
			}
			i += i0
			if i+signatureHeaderSize > n || i >= chunk {
				break
			}
			b := buf[i : i+signatureHeaderSize]
			if crc32.ChecksumIEEE(b[12:32]) == binary.LittleEndian.Uint32(b[8:]) {
				return base + int64(i), startHeader{nextOffset: binary.LittleEndian.Uint64(b[12:]), nextSize: binary.LittleEndian.Uint64(b[20:])}, true, nil
			}
		}
		if n < len(buf) {
			break
		}
	}
	return 0, startHeader{}, false, nil
}

// cursor reads a header's bytes; every read is checked against what is left.
type cursor struct {
	b           []byte
	p           int
	archiveSize int64
	base        int64 // where packed streams start: after the signature header
	// aes: what the folders read so far say of encryption (aesNone once a
	// header has been read without an AES coder in it).
	aes contentAES
}

func (c *cursor) left() int { return len(c.b) - c.p }

func (c *cursor) byte(field string) (byte, error) {
	if c.p >= len(c.b) {
		return 0, malformed(field, "header ends at byte %d", c.p)
	}
	c.p++
	return c.b[c.p-1], nil
}

// number reads a 7z variable-length number.
func (c *cursor) number(field string) (uint64, error) {
	first, err := c.byte(field)
	if err != nil {
		return 0, err
	}
	var v uint64
	mask := byte(0x80)
	for i := 0; i < 8; i++ {
		if first&mask == 0 {
			hi := uint64(first) & (uint64(mask) - 1)
			return v | hi<<(8*i), nil
		}
		b, err := c.byte(field)
		if err != nil {
			return 0, err
		}
		v |= uint64(b) << (8 * i)
		mask >>= 1
	}
	return v, nil
}

// count reads a number that the library allocates per element: it must fit
// what is left of the header at perItem bits each (0: no bytes needed, only
// maxItems applies) and maxItems.
func (c *cursor) count(field string, perItemBits int) (uint64, error) {
	n, err := c.number(field)
	if err != nil {
		return 0, err
	}
	if err := c.fits(field, n, perItemBits); err != nil {
		return 0, err
	}
	return n, nil
}

func (c *cursor) fits(field string, n uint64, perItemBits int) error {
	if perItemBits > 0 && n > uint64(c.left())*8/uint64(perItemBits) {
		return malformed(field, "%d items need at least %d bits each; %d header bytes are left", n, perItemBits, c.left())
	}
	if n > maxItems {
		return fmt.Errorf("%w: %s %d (tomscan reads up to %d)", errTooMany, field, n, maxItems)
	}
	return nil
}

func (c *cursor) skip(field string, n uint64) error {
	if n > uint64(c.left()) {
		return malformed(field, "%d bytes declared, %d header bytes left", n, c.left())
	}
	c.p += int(n)
	return nil
}

// bits reads a bit vector of n items ("all defined" byte first when
// optional) and returns how many are set.
func (c *cursor) bits(field string, n uint64, optional bool) (uint64, error) {
	if optional {
		all, err := c.byte(field)
		if err != nil {
			return 0, err
		}
		if all != 0 {
			return n, nil
		}
	}
	nb := (n + 7) / 8
	if nb > uint64(c.left()) {
		return 0, malformed(field, "bit vector of %d items, %d header bytes left", n, c.left())
	}
	set := uint64(0)
	for i := uint64(0); i < n; i++ {
		if c.b[c.p+int(i/8)]&(0x80>>(i%8)) != 0 {
			set++
		}
	}
	c.p += int(nb)
	return set, nil
}

// digests reads n optional CRCs.
func (c *cursor) digests(field string, n uint64) error {
	if err := c.fits(field, n, 1); err != nil {
		return err
	}
	set, err := c.bits(field, n, true)
	if err != nil {
		return err
	}
	return c.skip(field, set*4)
}

type folderInfo struct {
	coders   []coderInfo
	outs     uint64
	unpack   []uint64 // per coder output
	packed   uint64   // packed streams
	unpackSz uint64   // the folder's final output
}

type coderInfo struct {
	id    []byte
	props []byte
	outs  uint64
}

type streamsInfo struct {
	packPos   uint64
	packSizes []uint64
	folders   []*folderInfo
	folderCRC uint32 // the CRC of a lone folder's output, when hasCRC
	hasCRC    bool
}

func (c *cursor) streamsInfo() (*streamsInfo, error) {
	si := &streamsInfo{}
	id, err := c.byte("streams info")
	if err != nil {
		return nil, err
	}
	if id == idPackInfo {
		if err := c.packInfo(si); err != nil {
			return nil, err
		}
		if id, err = c.byte("streams info"); err != nil {
			return nil, err
		}
	}
	if id == idUnpackInfo {
		if err := c.unpackInfo(si); err != nil {
			return nil, err
		}
		if id, err = c.byte("streams info"); err != nil {
			return nil, err
		}
	}
	if id == idSubStreamsInfo {
		if err := c.subStreamsInfo(si); err != nil {
			return nil, err
		}
		if id, err = c.byte("streams info"); err != nil {
			return nil, err
		}
	}
	if id != idEnd {
		return nil, malformed("streams info", "unexpected id %#x", id)
	}
	return si, nil
}

func (c *cursor) packInfo(si *streamsInfo) error {
	var err error
	if si.packPos, err = c.number("pack position"); err != nil {
		return err
	}
	n, err := c.count("number of pack streams", 8)
	if err != nil {
		return err
	}
	id, err := c.byte("pack info")
	if err != nil {
		return err
	}
	if id == idSize {
		total := si.packPos
		for i := uint64(0); i < n; i++ {
			s, err := c.number("pack size")
			if err != nil {
				return err
			}
			si.packSizes = append(si.packSizes, s)
			total += s
			if s > uint64(c.archiveSize) || total > uint64(c.archiveSize) || c.base+int64(total) > c.archiveSize {
				return malformed("pack sizes", "packed streams end at %d+%d, past the %d-byte archive", c.base, total, c.archiveSize)
			}
		}
		if id, err = c.byte("pack info"); err != nil {
			return err
		}
	}
	if id == idCRC {
		if err := c.digests("pack stream CRCs", n); err != nil {
			return err
		}
		if id, err = c.byte("pack info"); err != nil {
			return err
		}
	}
	if id != idEnd {
		return malformed("pack info", "unexpected id %#x", id)
	}
	return nil
}

func (c *cursor) unpackInfo(si *streamsInfo) error {
	id, err := c.byte("unpack info")
	if err != nil {
		return err
	}
	if id != idFolder {
		return malformed("unpack info", "id %#x where the folder list belongs", id)
	}
	n, err := c.count("number of folders", 16) // a folder takes two bytes at least
	if err != nil {
		return err
	}
	if _, err := c.byte("folders external"); err != nil {
		return err
	}
	for i := uint64(0); i < n; i++ {
		f, err := c.folder()
		if err != nil {
			return err
		}
		si.folders = append(si.folders, f)
	}
	if id, err = c.byte("unpack info"); err != nil {
		return err
	}
	if id != idCodersUnpackSize {
		return malformed("unpack info", "id %#x where the coders' unpack sizes belong", id)
	}
	for _, f := range si.folders {
		for i := uint64(0); i < f.outs; i++ {
			s, err := c.number("coder unpack size")
			if err != nil {
				return err
			}
			f.unpack = append(f.unpack, s)
		}
		if len(f.unpack) > 0 {
			f.unpackSz = f.unpack[len(f.unpack)-1] // the main coder's output, for single-chain folders
		}
		if err := f.checkDictionaries(); err != nil {
			return err
		}
	}
	if id, err = c.byte("unpack info"); err != nil {
		return err
	}
	if id == idCRC {
		at := c.p
		if err := c.digests("folder CRCs", n); err != nil {
			return err
		}
		// One folder (an encoded header's): keep its CRC to prove a
		// decryption (headercrypt.go).
		if n == 1 {
			b := c.b[at:c.p]
			switch {
			case len(b) == 5 && b[0] != 0:
				si.folderCRC, si.hasCRC = binary.LittleEndian.Uint32(b[1:]), true
			case len(b) == 6 && b[0] == 0 && b[1]&0x80 != 0:
				si.folderCRC, si.hasCRC = binary.LittleEndian.Uint32(b[2:]), true
			}
		}
		if id, err = c.byte("unpack info"); err != nil {
			return err
		}
	}
	if id != idEnd {
		return malformed("unpack info", "unexpected id %#x", id)
	}
	return nil
}

var (
	coderLZMA  = []byte{0x03, 0x01, 0x01}
	coderLZMA2 = []byte{0x21}
	coderCopy  = []byte{0x00}
)

func (c *cursor) folder() (*folderInfo, error) {
	n, err := c.number("number of coders")
	if err != nil {
		return nil, err
	}
	if n == 0 || n > maxCoders {
		return nil, malformed("number of coders", "%d coders in a folder (7-Zip allows 1 to %d)", n, maxCoders)
	}
	f := &folderInfo{}
	var ins uint64
	for i := uint64(0); i < n; i++ {
		flag, err := c.byte("coder flags")
		if err != nil {
			return nil, err
		}
		idLen := uint64(flag & 0x0f)
		if idLen > uint64(c.left()) {
			return nil, malformed("coder id size", "%d bytes declared, %d left", idLen, c.left())
		}
		co := coderInfo{id: c.b[c.p : c.p+int(idLen)], outs: 1}
		c.p += int(idLen)
		in := uint64(1)
		if flag&0x10 != 0 {
			if in, err = c.number("coder input streams"); err != nil {
				return nil, err
			}
			if co.outs, err = c.number("coder output streams"); err != nil {
				return nil, err
			}
			if in == 0 || co.outs == 0 || in > maxCoderStreams || co.outs > maxCoderStreams {
				return nil, malformed("coder streams", "%d in, %d out (7-Zip allows 1 to %d)", in, co.outs, maxCoderStreams)
			}
		}
		if flag&0x20 != 0 {
			ps, err := c.number("coder properties size")
			if err != nil {
				return nil, err
			}
			if ps > uint64(c.left()) {
				return nil, malformed("coder properties size", "coder %d of a folder declares %d bytes of properties; %d header bytes are left", i, ps, c.left())
			}
			co.props = c.b[c.p : c.p+int(ps)]
			c.p += int(ps)
		}
		ins += in
		f.outs += co.outs
		f.coders = append(f.coders, co)
		if bytes.Equal(co.id, coderAES) {
			c.aes = aesUsed
		}
	}
	if ins > maxCoderStreams || f.outs > maxCoderStreams || ins < f.outs {
		return nil, malformed("coder streams", "%d inputs, %d outputs in one folder", ins, f.outs)
	}
	for i := uint64(0); i+1 < f.outs; i++ { // bind pairs
		if _, err := c.number("bind pair"); err != nil {
			return nil, err
		}
		if _, err := c.number("bind pair"); err != nil {
			return nil, err
		}
	}
	f.packed = ins - (f.outs - 1)
	if f.packed > 1 {
		for i := uint64(0); i < f.packed; i++ {
			if _, err := c.number("packed stream index"); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// checkDictionaries refuses an LZMA or LZMA2 dictionary larger than 7-Zip
// ever writes when the data is that large too: the decoder would allocate
// min(dictionary, unpack size) bytes.
func (f *folderInfo) checkDictionaries() error {
	for i, co := range f.coders {
		if i >= len(f.unpack) {
			break
		}
		out := f.unpack[i]
		switch {
		case bytes.Equal(co.id, coderLZMA) && len(co.props) >= 5:
			if d := uint64(binary.LittleEndian.Uint32(co.props[1:])); d > maxLZMADict && out > maxLZMADict {
				return malformed("LZMA dictionary size", "%d bytes (7-Zip writes at most %d) for %d bytes of output", d, uint64(maxLZMADict), out)
			}
		case bytes.Equal(co.id, coderLZMA2) && len(co.props) >= 1:
			if co.props[0] > maxLZMA2DictProp && out > maxLZMADict {
				return malformed("LZMA2 dictionary size", "property byte %d (7-Zip writes at most %d) for %d bytes of output", co.props[0], maxLZMA2DictProp, out)
			}
		}
	}
	return nil
}

func (c *cursor) subStreamsInfo(si *streamsInfo) error {
	id, err := c.byte("substreams info")
	if err != nil {
		return err
	}
	streams := make([]uint64, len(si.folders))
	for i := range streams {
		streams[i] = 1
	}
	if id == idNumUnpackStream {
		for i := range streams {
			if streams[i], err = c.number("number of unpack streams"); err != nil {
				return err
			}
			if streams[i] > maxItems {
				return fmt.Errorf("%w: %d streams in folder %d (tomscan reads up to %d)", errTooMany, streams[i], i, maxItems)
			}
		}
		if id, err = c.byte("substreams info"); err != nil {
			return err
		}
	}
	var files, sized uint64
	for _, s := range streams {
		files += s
		if s > 0 {
			sized += s - 1
		}
	}
	if files > maxItems {
		return fmt.Errorf("%w: %d substreams (tomscan reads up to %d)", errTooMany, files, maxItems)
	}
	if id == idSize {
		if sized > uint64(c.left()) {
			return malformed("number of unpack streams", "%d stream sizes declared, %d header bytes left", sized, c.left())
		}
		for i := uint64(0); i < sized; i++ {
			if _, err := c.number("substream size"); err != nil {
				return err
			}
		}
		if id, err = c.byte("substreams info"); err != nil {
			return err
		}
	} else if files > uint64(c.left())*8 {
		// the library's CRC vector for them needs a bit each at least
		return malformed("number of unpack streams", "%d streams, %d header bytes left", files, c.left())
	}
	if id == idCRC {
		if err := c.digests("substream CRCs", files); err != nil {
			return err
		}
		if id, err = c.byte("substreams info"); err != nil {
			return err
		}
	}
	if id != idEnd {
		return malformed("substreams info", "unexpected id %#x", id)
	}
	return nil
}

func (c *cursor) header() error {
	id, err := c.byte("header")
	if err != nil {
		return err
	}
	if id == idArchiveProperties || id == idAdditionalStreams {
		return nil // the library refuses both before allocating anything
	}
	if id == idMainStreamsInfo {
		if _, err := c.streamsInfo(); err != nil {
			return err
		}
		if id, err = c.byte("header"); err != nil {
			return err
		}
	}
	if id == idFilesInfo {
		// A file takes at least one bit (the empty-stream vector) and in
		// practice two bytes of name.
		files, err := c.count("number of files", 1)
		if err != nil {
			return err
		}
		_ = files
		for {
			prop, err := c.byte("file property id")
			if err != nil {
				return err
			}
			if prop == idEnd {
				break
			}
			n, err := c.number("file property size")
			if err != nil {
				return err
			}
			if err := c.skip(fmt.Sprintf("file property %#x size", prop), n); err != nil {
				return err
			}
		}
		if id, err = c.byte("header"); err != nil {
			return err
		}
	}
	if id != idEnd {
		return malformed("header", "unexpected id %#x", id)
	}
	if c.aes == aesUnknown {
		c.aes = aesNone // read whole, and no folder had an AES coder
	}
	return nil
}

// decodeHeader decompresses an encoded header when its one folder is a
// single LZMA, LZMA2 or copy coder (what 7-Zip writes unencrypted), within
// maxHeaderBytes. It returns nil, nil for a header it leaves to the library.
// lzmaDecoder reads an LZMA or LZMA2 coder's output of out bytes from in.
func lzmaDecoder(co coderInfo, in io.Reader, out uint64) (io.Reader, error) {
	// A dictionary never needs to be larger than the output.
	dict := func(d uint64) int {
		return int(max(min(d, out), lzma.MinDictCap))
	}
	if bytes.Equal(co.id, coderLZMA) {
		if len(co.props) != 5 {
			return nil, malformed("coder properties size", "LZMA properties of %d bytes, want 5", len(co.props))
		}
		d := dict(uint64(binary.LittleEndian.Uint32(co.props[1:])))
		var h [13]byte
		h[0] = co.props[0]
		binary.LittleEndian.PutUint32(h[1:], uint32(d))
		binary.LittleEndian.PutUint64(h[5:], out)
		lr, err := lzma.ReaderConfig{DictCap: d}.NewReader(io.MultiReader(bytes.NewReader(h[:]), in))
		if err != nil {
			return nil, malformed("encoded header", "LZMA: %v", err)
		}
		return lr, nil
	}
	if len(co.props) != 1 || co.props[0] > 40 {
		return nil, malformed("coder properties", "LZMA2 properties %x", co.props)
	}
	p := co.props[0]
	d := uint64(2|p&1) << (p/2 + 11)
	if p == 40 {
		d = 0xFFFFFFFF
	}
	lr, err := lzma.Reader2Config{DictCap: dict(d)}.NewReader2(in)
	if err != nil {
		return nil, malformed("encoded header", "LZMA2: %v", err)
	}
	return lr, nil
}

func (c *cursor) decodeHeader(r io.ReaderAt, si *streamsInfo, passwords []string) ([]byte, error) {
	if len(si.folders) != 1 || len(si.packSizes) < 1 {
		return nil, nil // the library wants exactly one folder
	}
	f := si.folders[0]
	if len(passwords) > 0 && slices.ContainsFunc(f.coders, func(co coderInfo) bool { return bytes.Equal(co.id, coderAES) }) {
		return c.decryptHeader(r, si, passwords)
	}
	if len(f.coders) != 1 || f.outs != 1 || f.packed != 1 || len(f.unpack) != 1 {
		return nil, nil
	}
	out := f.unpack[0]
	if out > maxHeaderBytes {
		return nil, fmt.Errorf("%w: encoded header unpacks to %d bytes (tomscan reads up to %d)", errTooMany, out, maxHeaderBytes)
	}
	start := c.base + int64(si.packPos)
	packed := io.NewSectionReader(r, start, int64(si.packSizes[0])) // within the file: checked in packInfo
	co := f.coders[0]
	var dec io.Reader
	switch {
	case bytes.Equal(co.id, coderCopy):
		dec = packed
	case bytes.Equal(co.id, coderLZMA), bytes.Equal(co.id, coderLZMA2):
		var err error
		if dec, err = lzmaDecoder(co, packed, out); err != nil {
			return nil, err
		}
	default:
		return nil, nil // encrypted or another coder: left to the library
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(dec, int64(out)))
	if err != nil || uint64(n) != out {
		return nil, malformed("encoded header", "decoded %d of the %d bytes its folder declares: %v", n, out, err)
	}
	return buf.Bytes(), nil
}
