// Package filetype names a blob's format from its leading bytes. It reads no
// more than it is given and never trusts the file name.
package filetype

import "bytes"

// Type names, as they appear in reports.
const (
	PE      = "pe"
	ZIP     = "zip"
	CAB     = "cab"
	OLE     = "ole" // compound file: MSI, MSP, old Office
	SevenZ  = "7z"
	Gzip    = "gzip"
	Bzip2   = "bzip2"
	XZ      = "xz"
	RAR     = "rar"
	Zstd    = "zstd"
	Tar     = "tar"
	ELF     = "elf"
	MachO   = "macho" // thin or universal (FAT) Mach-O
	IPA     = "ipa"   // a ZIP holding Payload/<name>.app/: set by the pipeline's ios stage, not by Sniff
	MSCF    = CAB
	ISCab   = "installshield-cab"
	MZ      = "mz" // DOS executable, or a PE whose header lies past the head or the end
	Text    = "text"
	Empty   = "empty"
	Unknown = "data"
)

// HeadSize is how many leading bytes Sniff wants to see: enough for an ISO
// 9660 or UDF volume descriptor at 32769.
const HeadSize = 36 << 10

// Sniff names the format of a blob from its head.
func Sniff(head []byte) string {
	switch {
	case len(head) == 0:
		return Empty
	case IsPE(head):
		return PE
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return ZIP
	case bytes.HasPrefix(head, []byte("MSCF\x00\x00\x00\x00")):
		return CAB
	case bytes.HasPrefix(head, []byte("ISc(")):
		return ISCab
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return OLE
	case bytes.HasPrefix(head, []byte{'7', 'z', 0xBC, 0xAF, 0x27, 0x1C}):
		return SevenZ
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip
	case bytes.HasPrefix(head, []byte("BZh")) && len(head) > 3 && head[3] >= '1' && head[3] <= '9':
		return Bzip2
	case bytes.HasPrefix(head, []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}):
		return XZ
	case bytes.HasPrefix(head, []byte("Rar!\x1a\x07")):
		return RAR
	case bytes.HasPrefix(head, []byte{0x28, 0xB5, 0x2F, 0xFD}):
		return Zstd
	case IsTar(head):
		return Tar
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return ELF
	case IsMachO(head):
		return MachO
	case otherArchive(head) != "":
		return otherArchive(head)
	case bytes.HasPrefix(head, []byte("MZ")):
		return MZ
	case isText(head):
		return Text
	}
	return Unknown
}

// IsPE is the cheap PE sniff: an MZ header whose e_lfanew points, within b,
// at "PE\0\0". The one definition every package uses.
func IsPE(b []byte) bool {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return false
	}
	off := int(uint32(b[0x3c]) | uint32(b[0x3d])<<8 | uint32(b[0x3e])<<16 | uint32(b[0x3f])<<24)
	if off < 0 || off > len(b)-4 {
		return false
	}
	return bytes.Equal(b[off:off+4], []byte("PE\x00\x00"))
}

// isText: no NUL and mostly printable, in the first KiB.
func isText(b []byte) bool {
	if len(b) > 1024 {
		b = b[:1024]
	}
	if len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF) {
		return true // UTF-16 with BOM
	}
	bad := 0
	for _, c := range b {
		if c == 0 {
			return false
		}
		if c < 0x09 || (c > 0x0d && c < 0x20) {
			bad++
		}
	}
	return bad*20 < len(b)
}

// IsMachO is the cheap Mach-O sniff: a thin Mach-O magic in either byte
// order (32 or 64 bit), or a universal header whose arch count and first CPU
// type are plausible. Java class files share 0xCAFEBABE: their version field
// reads as 45 or more, so more than 40 archs is not a universal binary.
func IsMachO(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	le := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	switch le {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
		return true
	case 0xbebafeca, 0xbfbafeca: // 0xCAFEBABE / 0xCAFEBABF, big-endian
		if len(b) < 12 {
			return false
		}
		n := uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
		cpu := uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])
		if n == 0 || n > 40 {
			return false
		}
		switch cpu &^ 0xff000000 {
		case 6, 7, 10, 11, 12, 13, 14, 15, 18: // mc680x0, x86, mc98000, hppa, arm, mc88000, sparc, i860, ppc
			return true
		}
	}
	return false
}
