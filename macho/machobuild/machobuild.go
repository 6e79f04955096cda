// Package machobuild writes the Mach-O shapes the corpus and the tests need
// and no toolchain here produces: a universal (FAT) binary joined from thin
// ones, as lipo does, and an LC_ENCRYPTION_INFO_64 load command, as the App
// Store's FairPlay wrapper leaves it, added into a thin binary's header
// padding. It only rewrites bytes; it never runs what it writes.
package machobuild

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// CPU types (mach/machine.h).
const (
	CPUX86_64 = 7 | 0x01000000
	CPUARM64  = 12 | 0x01000000
)

// JoinFat returns a universal binary holding the thin slices in order, each
// aligned to 2^align bytes (lipo uses 2^14 for arm64 and 2^12 for x86_64;
// one alignment for all keeps this simple).
func JoinFat(align uint32, slices ...[]byte) ([]byte, error) {
	if len(slices) == 0 {
		return nil, errors.New("machobuild: no slices")
	}
	a := int64(1) << align
	hdr := 8 + 20*len(slices)
	off := (int64(hdr) + a - 1) / a * a
	out := make([]byte, hdr)
	binary.BigEndian.PutUint32(out, 0xcafebabe)
	binary.BigEndian.PutUint32(out[4:], uint32(len(slices)))
	for i, s := range slices {
		if len(s) < 28 || binary.LittleEndian.Uint32(s) != 0xfeedfacf && binary.LittleEndian.Uint32(s) != 0xfeedface {
			return nil, fmt.Errorf("machobuild: slice %d is not a little-endian thin Mach-O", i)
		}
		e := out[8+20*i:]
		binary.BigEndian.PutUint32(e, binary.LittleEndian.Uint32(s[4:]))
		binary.BigEndian.PutUint32(e[4:], binary.LittleEndian.Uint32(s[8:]))
		binary.BigEndian.PutUint32(e[8:], uint32(off))
		binary.BigEndian.PutUint32(e[12:], uint32(len(s)))
		binary.BigEndian.PutUint32(e[16:], align)
		if pad := off - int64(len(out)); pad > 0 {
			out = append(out, make([]byte, pad)...)
		}
		out = append(out, s...)
		off = (int64(len(out)) + a - 1) / a * a
	}
	return out, nil
}

// AddEncryptionInfo appends an LC_ENCRYPTION_INFO_64 {cryptoff, cryptsize,
// cryptid} to a 64-bit little-endian thin Mach-O, in the zero padding
// between the load commands and the first section, and returns the new
// bytes. A code signature over the header no longer matches afterwards;
// FairPlay-wrapped binaries are re-signed by Apple anyway.
func AddEncryptionInfo(b []byte, cryptoff, cryptsize, cryptid uint32) ([]byte, error) {
	const size = 24
	if len(b) < 32 || binary.LittleEndian.Uint32(b) != 0xfeedfacf {
		return nil, errors.New("machobuild: not a 64-bit little-endian Mach-O")
	}
	ncmds := binary.LittleEndian.Uint32(b[16:])
	sizeofcmds := binary.LittleEndian.Uint32(b[20:])
	end := 32 + int(sizeofcmds)
	if end+size > len(b) {
		return nil, errors.New("machobuild: no room after the load commands")
	}
	for _, c := range b[end : end+size] {
		if c != 0 {
			return nil, errors.New("machobuild: no zero padding after the load commands")
		}
	}
	if uint64(cryptoff)+uint64(cryptsize) > uint64(len(b)) {
		return nil, fmt.Errorf("machobuild: range %d+%d past the end (%d bytes)", cryptoff, cryptsize, len(b))
	}
	out := append([]byte(nil), b...)
	lc := out[end : end+size]
	binary.LittleEndian.PutUint32(lc, 0x2c)
	binary.LittleEndian.PutUint32(lc[4:], size)
	binary.LittleEndian.PutUint32(lc[8:], cryptoff)
	binary.LittleEndian.PutUint32(lc[12:], cryptsize)
	binary.LittleEndian.PutUint32(lc[16:], cryptid)
	binary.LittleEndian.PutUint32(out[16:], ncmds+1)
	binary.LittleEndian.PutUint32(out[20:], sizeofcmds+size)
	return out, nil
}

// TextRange returns the file offset and size of the __TEXT,__text section
// of a 64-bit little-endian thin Mach-O: what FairPlay encrypts.
func TextRange(b []byte) (off, size uint32, err error) {
	if len(b) < 32 || binary.LittleEndian.Uint32(b) != 0xfeedfacf {
		return 0, 0, errors.New("machobuild: not a 64-bit little-endian Mach-O")
	}
	ncmds := binary.LittleEndian.Uint32(b[16:])
	p := 32
	for i := 0; i < int(ncmds) && p+8 <= len(b); i++ {
		cmd, cs := binary.LittleEndian.Uint32(b[p:]), int(binary.LittleEndian.Uint32(b[p+4:]))
		if cs < 8 || p+cs > len(b) {
			break
		}
		if cmd == 0x19 && cs >= 72 {
			nsect := int(binary.LittleEndian.Uint32(b[p+64:]))
			for j := 0; j < nsect && p+72+80*(j+1) <= p+cs; j++ {
				s := b[p+72+80*j:]
				if cstr(s[:16]) == "__text" && cstr(s[16:32]) == "__TEXT" {
					return binary.LittleEndian.Uint32(s[48:]), uint32(binary.LittleEndian.Uint64(s[40:])), nil
				}
			}
		}
		p += cs
	}
	return 0, 0, errors.New("machobuild: no __TEXT,__text section")
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
