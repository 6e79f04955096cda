package sevenzip

// An encrypted header (7z a -mhe=on) is a folder of two coders: 7-Zip's
// AES-256 (06 F1 07 01) over the packed stream, then LZMA or LZMA2 giving
// the header (with -mhc=off, AES alone). The library decrypts and parses it with the password, and
// allocates what it declares like any other header: so with the password
// list we decrypt it here first and check the plain header the same way
// (CheckHeaderPasswords). A password that does not give a header (the
// LZMA stream fails, its first byte is not kHeader, or it does not have
// the folder's CRC-32 when the archive stores one, as 7-Zip does) is not
// the right one; when none is, the library is left to say the archive is
// encrypted.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf16"
)

var coderAES = []byte{0x06, 0xF1, 0x07, 0x01}

// maxCyclesPower is 7-Zip's (and the library's) cap on the key derivation
// exponent: 2^24 SHA-256 rounds.
const maxCyclesPower = 24

// aesParams are the AES coder's properties: key derivation rounds, salt, IV.
type aesParams struct {
	cycles uint
	salt   []byte
	iv     [16]byte
}

func parseAESProps(p []byte) (aesParams, error) {
	var a aesParams
	if len(p) < 1 {
		return a, malformed("AES coder properties", "empty")
	}
	a.cycles = uint(p[0] & 0x3F)
	if p[0]&0xC0 == 0 {
		if len(p) != 1 {
			return a, malformed("AES coder properties", "%d bytes without salt or IV", len(p))
		}
		return a, nil
	}
	if len(p) < 2 {
		return a, malformed("AES coder properties", "%d bytes", len(p))
	}
	saltSize := int(p[0]>>7&1) + int(p[1]>>4)
	ivSize := int(p[0]>>6&1) + int(p[1]&0x0F)
	if len(p) != 2+saltSize+ivSize {
		return a, malformed("AES coder properties", "%d bytes for a %d-byte salt and a %d-byte IV", len(p), saltSize, ivSize)
	}
	a.salt = p[2 : 2+saltSize]
	copy(a.iv[:], p[2+saltSize:])
	return a, nil
}

// key is 7-Zip's key derivation: SHA-256 over 2^cycles rounds of salt,
// the UTF-16LE password and a 64-bit round counter (cycles 0x3F: salt and
// password as the key itself).
func (a aesParams) key(password string) []byte {
	pw := utf16.Encode([]rune(password))
	b := append([]byte(nil), a.salt...)
	for _, u := range pw {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	key := make([]byte, 32)
	if a.cycles == 0x3F {
		copy(key, b)
		return key
	}
	h := sha256.New()
	var ctr [8]byte
	for i := uint64(0); i < 1<<a.cycles; i++ {
		binary.LittleEndian.PutUint64(ctr[:], i)
		h.Write(b)
		h.Write(ctr[:])
	}
	return h.Sum(key[:0])
}

// decryptHeader tries each password on an encrypted header's folder and
// returns the plain header the first right one gives, or nil when none
// does (or the folder is not 7-Zip's AES + LZMA/LZMA2 layout).
func (c *cursor) decryptHeader(r io.ReaderAt, si *streamsInfo, passwords []string) ([]byte, error) {
	f := si.folders[0]
	var lz *coderInfo // nil: AES alone (7z a -mhe=on -mhc=off)
	var out, mid uint64
	switch {
	case len(f.coders) == 1 && len(f.unpack) == 1 && f.packed == 1 && bytes.Equal(f.coders[0].id, coderAES):
		out, mid = f.unpack[0], f.unpack[0]
	case len(f.coders) == 2 && len(f.unpack) == 2 && f.packed == 1:
		// 7-Zip lists AES first, its output bound to the LZMA coder's input;
		// each coder's unpack size is its output's.
		ai, li := 0, 1
		if !bytes.Equal(f.coders[ai].id, coderAES) {
			ai, li = 1, 0
		}
		lz = &f.coders[li]
		if !bytes.Equal(f.coders[ai].id, coderAES) || !bytes.Equal(lz.id, coderLZMA) && !bytes.Equal(lz.id, coderLZMA2) {
			return nil, nil
		}
		out, mid = f.unpack[li], f.unpack[ai]
	default:
		return nil, nil
	}
	aesCoder := f.coders[0]
	if !bytes.Equal(aesCoder.id, coderAES) {
		aesCoder = f.coders[1]
	}
	if out > maxHeaderBytes || mid > maxHeaderBytes {
		return nil, fmt.Errorf("%w: encrypted header unpacks to %d bytes (tomscan reads up to %d)", errTooMany, max(out, mid), maxHeaderBytes)
	}
	a, err := parseAESProps(aesCoder.props)
	if err != nil {
		return nil, err
	}
	if a.cycles > maxCyclesPower && a.cycles != 0x3F {
		return nil, malformed("AES coder properties", "key derivation of 2^%d rounds (7-Zip allows up to 2^%d)", a.cycles, maxCyclesPower)
	}
	size := si.packSizes[0] // within the file: checked in packInfo
	if size%aes.BlockSize != 0 || size > maxHeaderBytes {
		return nil, malformed("encrypted header", "%d packed bytes, not whole AES blocks", size)
	}
	packed := make([]byte, size)
	if _, err := r.ReadAt(packed, c.base+int64(si.packPos)); err != nil {
		return nil, fmt.Errorf("7z: read encrypted header: %w", err)
	}
	plain := make([]byte, size)
	for _, pw := range passwords {
		block, err := aes.NewCipher(a.key(pw))
		if err != nil {
			return nil, fmt.Errorf("7z: %w", err)
		}
		cipher.NewCBCDecrypter(block, a.iv[:]).CryptBlocks(plain, packed)
		var dec io.Reader = bytes.NewReader(plain[:min(uint64(len(plain)), mid)])
		if lz != nil {
			if dec, err = lzmaDecoder(*lz, dec, out); err != nil {
				continue
			}
		}
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(dec, int64(out)))
		if err != nil || uint64(n) != out || out == 0 || buf.Bytes()[0] != idHeader {
			continue // not this password
		}
		if si.hasCRC && crc32.ChecksumIEEE(buf.Bytes()) != si.folderCRC {
			continue
		}
		return buf.Bytes(), nil
	}
	return nil, nil
}
