package filetype

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// Archive and installer formats tomscan recognises by magic. Some have an
// extractor, the others are named so that a node of such a format is never
// mistaken for plain data: the engine gives it an unsupported-format issue.
const (
	ISO9660   = "iso9660"
	UDF       = "udf"
	WIM       = "wim"
	Xar       = "xar"
	Cpio      = "cpio"
	Ar        = "ar"  // Unix ar archive (static libraries)
	Deb       = "deb" // Debian package: an ar archive whose first member is debian-binary
	RPM       = "rpm"
	ARJ       = "arj"
	LZH       = "lzh"
	StuffIt   = "stuffit"
	SquashFS  = "squashfs"
	MSLZ      = "mslz" // SZDD: MS-DOS/Windows COMPRESS.EXE, common in old setups
	KWAJ      = "kwaj"
	CHM       = "chm"
	ZCompress = "z" // Unix compress (.Z)
)

// formatNames are the human names issues quote, for every container or
// installer type Sniff can return.
var formatNames = map[string]string{
	ZIP:       "ZIP archive",
	CAB:       "Microsoft Cabinet",
	OLE:       "OLE compound file (MSI)",
	SevenZ:    "7z archive",
	Gzip:      "gzip stream",
	Bzip2:     "bzip2 stream",
	XZ:        "xz stream",
	Zstd:      "zstd stream",
	Tar:       "tar archive",
	RAR:       "RAR archive",
	ISCab:     "InstallShield cabinet",
	ISO9660:   "ISO 9660 image",
	UDF:       "UDF image",
	WIM:       "Windows Imaging (WIM) archive",
	Xar:       "xar archive",
	Cpio:      "cpio archive",
	Ar:        "ar archive",
	Deb:       "Debian package (ar)",
	RPM:       "RPM package",
	ARJ:       "ARJ archive",
	LZH:       "LZH/LHA archive",
	StuffIt:   "StuffIt archive",
	SquashFS:  "SquashFS image",
	MSLZ:      "MS-DOS COMPRESS (SZDD) file",
	KWAJ:      "MS-DOS COMPRESS (KWAJ) file",
	CHM:       "Compiled HTML Help (ITSF)",
	ZCompress: "Unix compress (.Z) stream",
}

// IsContainer tells whether t is an archive, compressed stream, disk image
// or installer container: a node of such a type holds content that must be
// either listed as children or explained by an issue.
func IsContainer(t string) bool { _, ok := formatNames[t]; return ok }

// Describe names a container type for people ("RAR archive"); it returns t
// itself for other types.
func Describe(t string) string {
	if n, ok := formatNames[t]; ok {
		return n
	}
	return t
}

// otherArchive recognises the formats after the common ones in Sniff.
func otherArchive(h []byte) string {
	switch {
	case bytes.HasPrefix(h, []byte("MSWIM\x00\x00\x00")):
		return WIM
	case bytes.HasPrefix(h, []byte("xar!")) && len(h) >= 8 && binary.BigEndian.Uint16(h[4:]) >= 28:
		return Xar
	case bytes.HasPrefix(h, []byte("!<arch>\n")):
		if bytes.HasPrefix(h[8:], []byte("debian-binary")) {
			return Deb
		}
		return Ar
	case bytes.HasPrefix(h, []byte{0xED, 0xAB, 0xEE, 0xDB}):
		return RPM
	case bytes.HasPrefix(h, []byte("070707")), bytes.HasPrefix(h, []byte("070701")), bytes.HasPrefix(h, []byte("070702")):
		return Cpio
	case isBinaryCpio(h):
		return Cpio
	case isARJ(h):
		return ARJ
	case len(h) >= 7 && h[2] == '-' && h[3] == 'l' && (h[4] == 'h' || h[4] == 'z') && h[6] == '-':
		return LZH
	case bytes.HasPrefix(h, []byte("SIT!")), bytes.HasPrefix(h, []byte("StuffIt (c)1997")):
		return StuffIt
	case bytes.HasPrefix(h, []byte("hsqs")), bytes.HasPrefix(h, []byte("sqsh")):
		return SquashFS
	case bytes.HasPrefix(h, []byte("SZDD\x88\xf0\x27\x33")):
		return MSLZ
	case bytes.HasPrefix(h, []byte("KWAJ\x88\xf0\x27\xd1")):
		return KWAJ
	case bytes.HasPrefix(h, []byte("ITSF\x03\x00\x00\x00")):
		return CHM
	case bytes.HasPrefix(h, []byte{0x1f, 0x9d}):
		return ZCompress
	}
	return diskImage(h)
}

// diskImage looks for ISO 9660 / UDF volume structure descriptors, which
// start at sector 16 (byte 32768) of 2048-byte sectors.
func diskImage(h []byte) string {
	const first = 32768
	iso, udf := false, false
	for off := first; off+6 <= len(h); off += 2048 {
		id := h[off+1 : off+6]
		switch string(id) {
		case "CD001":
			iso = true
		case "NSR02", "NSR03":
			udf = true
		case "BEA01", "TEA01", "BOOT2", "CDW02":
		default:
			off = len(h) // descriptors are contiguous: stop at the first other sector
		}
	}
	switch {
	case udf:
		return UDF
	case iso:
		return ISO9660
	}
	return ""
}

// isBinaryCpio checks an old binary cpio header: magic 070707 octal in
// either byte order, a name size that fits, and the name's NUL.
func isBinaryCpio(h []byte) bool {
	if len(h) < 26 {
		return false
	}
	var order binary.ByteOrder
	switch {
	case h[0] == 0xC7 && h[1] == 0x71:
		order = binary.LittleEndian
	case h[0] == 0x71 && h[1] == 0xC7:
		order = binary.BigEndian
	default:
		return false
	}
	namesize := int(order.Uint16(h[20:]))
	return namesize > 0 && namesize <= 4096 && 26+namesize <= len(h) && h[26+namesize-1] == 0
}

// isARJ checks an ARJ main header: magic 0x60 0xEA, a basic header of at most
// 2600 bytes, and its CRC-32 (two magic bytes are too weak alone).
func isARJ(h []byte) bool {
	if len(h) < 4 || h[0] != 0x60 || h[1] != 0xEA {
		return false
	}
	n := int(binary.LittleEndian.Uint16(h[2:]))
	if n == 0 || n > 2600 || 4+n+4 > len(h) {
		return false
	}
	return crc32.ChecksumIEEE(h[4:4+n]) == binary.LittleEndian.Uint32(h[4+n:])
}

// IsTar tells whether h starts with a tar header whose checksum is right:
// POSIX ustar, GNU, or old V7 (no magic, so the checksum is the only test).
func IsTar(h []byte) bool {
	if len(h) < 512 {
		return false
	}
	hdr := h[:512]
	want, ok := parseOctal(hdr[148:156])
	if !ok {
		return false
	}
	var unsigned, signed int64
	for i, c := range hdr {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	if want != unsigned && want != signed {
		return false
	}
	if bytes.HasPrefix(hdr[257:], []byte("ustar")) {
		return true
	}
	// V7: a name and a plausible type flag.
	return hdr[0] != 0 && (hdr[156] == 0 || (hdr[156] >= '0' && hdr[156] <= '7'))
}

// parseOctal reads a tar numeric field: optional spaces, octal digits, then
// NUL or space. An all-blank field is not a checksum.
func parseOctal(b []byte) (int64, bool) {
	var v int64
	digits := 0
	i := 0
	for i < len(b) && b[i] == ' ' {
		i++
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c == 0 || c == ' ' {
			break
		}
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int64(c-'0')
		digits++
	}
	return v, digits > 0
}
