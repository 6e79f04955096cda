package pe

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	peparser "github.com/saferwall/pe"
)

// summarize copies what we report out of saferwall's types into ours and
// runs our own decoders over the bytes saferwall located.
func summarize(ctx context.Context, f *peparser.File, blob []byte, opts Options) (*Summary, error) {
	fh := f.NtHeader.FileHeader
	s := &Summary{
		Machine:              MachineName(uint16(fh.Machine)),
		MachineID:            uint16(fh.Machine),
		Characteristics:      uint16(fh.Characteristics),
		CharacteristicsFlags: FileFlags(uint16(fh.Characteristics)),
		TimeDateStamp:        fh.TimeDateStamp,
		IsDLL:                f.IsDLL(),
		IsDotNet:             f.FileInfo.HasCLR,
		Anomalies:            append([]string(nil), f.Anomalies...),
	}
	if fh.TimeDateStamp != 0 {
		s.Timestamp = time.Unix(int64(fh.TimeDateStamp), 0).UTC().Format(time.RFC3339)
	}
	var dirs [16]peparser.DataDirectory
	switch oh := f.NtHeader.OptionalHeader.(type) {
	case peparser.ImageOptionalHeader32:
		s.Bits = 32
		s.EntryPoint = oh.AddressOfEntryPoint
		s.SubsystemID = uint16(oh.Subsystem)
		s.DllCharacteristics = uint16(oh.DllCharacteristics)
		s.ImageBase = uint64(oh.ImageBase)
		s.Checksum = oh.CheckSum
		s.LinkerVersion = fmt.Sprintf("%d.%d", oh.MajorLinkerVersion, oh.MinorLinkerVersion)
		dirs = oh.DataDirectory
	case peparser.ImageOptionalHeader64:
		s.Bits = 64
		s.EntryPoint = oh.AddressOfEntryPoint
		s.SubsystemID = uint16(oh.Subsystem)
		s.DllCharacteristics = uint16(oh.DllCharacteristics)
		s.ImageBase = oh.ImageBase
		s.Checksum = oh.CheckSum
		s.LinkerVersion = fmt.Sprintf("%d.%d", oh.MajorLinkerVersion, oh.MinorLinkerVersion)
		dirs = oh.DataDirectory
	}
	if f.NtHeader.OptionalHeader != nil {
		s.Subsystem = SubsystemName(s.SubsystemID)
		s.DllCharacteristicsFlags = DLLFlags(s.DllCharacteristics)
	}
	for i := range f.Sections {
		sec := &f.Sections[i]
		out := Section{
			Name:            sectionName(sec.Header.Name),
			VirtualAddress:  sec.Header.VirtualAddress,
			VirtualSize:     sec.Header.VirtualSize,
			RawOffset:       sec.Header.PointerToRawData,
			RawSize:         sec.Header.SizeOfRawData,
			Flags:           sec.Header.Characteristics,
			Characteristics: sectionFlags(sec.Header.Characteristics),
		}
		if sec.Entropy != nil && !math.IsNaN(*sec.Entropy) && *sec.Entropy > 0 {
			out.Entropy = math.Round(*sec.Entropy*10000) / 10000
		}
		s.Sections = append(s.Sections, out)
	}
	for _, imp := range f.Imports {
		out := Import{DLL: imp.Name, Functions: []string{}}
		for _, fn := range imp.Functions {
			if fn.ByOrdinal {
				// Well-known ordinals (ws2_32, oleaut32, ...) get their
				// names, as pefile and the loader's users know them.
				name := peparser.OrdLookup(imp.Name, uint64(fn.Ordinal), false)
				if name == "" {
					name = fmt.Sprintf("#%d", fn.Ordinal)
				}
				out.Functions = append(out.Functions, name)
			} else {
				out.Functions = append(out.Functions, fn.Name)
			}
		}
		s.Imports = append(s.Imports, out)
	}
	s.Imphash = imphash(f.Imports)
	if len(f.RichHeader.CompIDs) > 0 {
		rh := &RichHeader{XORKey: f.RichHeader.XORKey}
		for _, c := range f.RichHeader.CompIDs {
			rh.Entries = append(rh.Entries, RichEntry{ProductID: c.ProdID, Build: c.MinorCV, Count: c.Count, Product: peparser.ProdIDtoStr(c.ProdID)})
		}
		s.Rich = rh
	}
	if err := ctx.Err(); err != nil {
		return s, err
	}
	rvaToOff := func(rva uint32) (int64, bool) {
		off := f.GetOffsetFromRva(rva)
		if off == ^uint32(0) || int64(off) >= int64(len(blob)) {
			return 0, false
		}
		return int64(off), true
	}
	if d := dirs[peparser.ImageDirectoryEntryExport]; d.VirtualAddress != 0 {
		ex, err := parseExports(ctx, blob, d.VirtualAddress, d.Size, rvaToOff)
		if err != nil {
			s.Anomalies = append(s.Anomalies, err.Error())
		}
		s.Exports = ex
	}
	if f.HasResource {
		s.ResourceTimeDateStamp = f.Resources.Struct.TimeDateStamp
	}
	res, truncated := listResources(ctx, f, blob)
	s.Resources = res
	if truncated {
		s.Anomalies = append(s.Anomalies, fmt.Sprintf("resource tree: listing stopped at %d leaves", len(res)))
	}
	decodeResources(ctx, s, blob)
	if off := overlayStart(f, blob, dirs); off > 0 {
		s.Overlay = &Overlay{Offset: off, Size: int64(len(blob)) - off, Type: sniffOverlay(blob[off:])}
	}
	s.Truncated = truncation(f, blob, dirs)
	if d := dirs[peparser.ImageDirectoryEntryCertificate]; d.VirtualAddress != 0 && d.Size != 0 {
		sig, err := peSignature(blob, d.VirtualAddress, d.Size, opts.TrustRoots)
		if err != nil {
			s.Anomalies = append(s.Anomalies, err.Error())
		}
		s.Signature = sig
	}
	return s, ctx.Err()
}

// imphash follows pefile's get_imphash exactly (the de-facto definition):
// the DLL name lowered and stripped of .dll/.ocx/.sys (last dot only),
// ordinals named through the same ordinal tables, empty names skipped.
// saferwall's ImpHash differs for DLL names with more than one dot.
func imphash(imports []peparser.Import) string {
	if len(imports) == 0 {
		return ""
	}
	var parts []string
	for _, imp := range imports {
		lib := strings.ToLower(imp.Name)
		if i := strings.LastIndexByte(lib, '.'); i >= 0 {
			switch lib[i+1:] {
			case "dll", "ocx", "sys":
				lib = lib[:i]
			}
		}
		for _, fn := range imp.Functions {
			name := fn.Name
			if fn.ByOrdinal {
				name = peparser.OrdLookup(strings.ToLower(imp.Name), uint64(fn.Ordinal), true)
			}
			if name == "" {
				continue
			}
			parts = append(parts, lib+"."+strings.ToLower(name))
		}
	}
	sum := md5.Sum([]byte(strings.Join(parts, ",")))
	return hex.EncodeToString(sum[:])
}

// dirNames name the data directories in the order of the optional header.
var dirNames = [16]string{"export", "import", "resource", "exception", "certificate", "base relocation",
	"debug", "architecture", "global pointer", "TLS", "load config", "bound import", "IAT",
	"delay import", "CLR runtime header", "reserved"}

// truncation lists what the headers place past the end of the file: the
// headers themselves (SizeOfHeaders, the section table), section raw data,
// data directories (mapped through the sections) and the certificate table
// (a file offset). Nil when everything fits.
func truncation(f *peparser.File, blob []byte, dirs [16]peparser.DataDirectory) *Truncation {
	size := int64(len(blob))
	t := &Truncation{Actual: size}
	past := func(what string, off, n int64) {
		if n > 0 && off+n > size {
			t.Parts = append(t.Parts, fmt.Sprintf("%s %d+%d", what, off, n))
			t.Expected = max(t.Expected, off+n)
		}
	}
	e := int64(binary.LittleEndian.Uint32(blob[0x3c:]))
	fh := f.NtHeader.FileHeader
	secTable := e + 4 + 20 + int64(fh.SizeOfOptionalHeader)
	past("section table", secTable, 40*int64(fh.NumberOfSections))
	// SizeOfHeaders past the end is left alone: the loader tolerates it and
	// tiny packed PEs (clamav's clam.exe, UPX) declare 1024 or 4096 anyway.
	if fh.PointerToSymbolTable != 0 && fh.NumberOfSymbols != 0 {
		// The COFF symbol table and the string table after it (MinGW
		// builds keep them): the first 4 bytes of the string table give
		// its size.
		st := int64(fh.PointerToSymbolTable)
		n := 18*int64(fh.NumberOfSymbols) + 4
		if st+n <= size {
			n += max(int64(binary.LittleEndian.Uint32(blob[st+n-4:]))-4, 0)
		}
		if n < 1<<30 {
			past("COFF symbol and string table", st, n)
		}
	}
	for i := range f.Sections {
		h := f.Sections[i].Header
		past("section "+sectionName(h.Name)+" raw data", int64(h.PointerToRawData), int64(h.SizeOfRawData))
	}
	for i, d := range dirs {
		if d.VirtualAddress == 0 || d.Size == 0 {
			continue
		}
		if i == int(peparser.ImageDirectoryEntryCertificate) {
			// A table of gigabytes is header fields reused by a packer
			// (Upack), not a certificate table: an anomaly, from peSignature.
			if d.Size < 1<<26 {
				past("certificate table", int64(d.VirtualAddress), int64(d.Size))
			}
			continue
		}
		off := f.GetOffsetFromRva(d.VirtualAddress)
		if off == ^uint32(0) {
			continue
		}
		past(dirNames[i]+" directory", int64(off), int64(d.Size))
	}
	if len(t.Parts) == 0 {
		return nil
	}
	return t
}

// overlayStart is where appended data begins: past the optional header, every
// section's raw data and every data directory but the certificate table
// (which lives in the overlay by design), counting only extents inside the
// file. It mirrors pefile's get_overlay_data_start_offset so the two agree;
// 0 means no overlay.
func overlayStart(f *peparser.File, blob []byte, dirs [16]peparser.DataDirectory) int64 {
	size := int64(len(blob))
	var best int64
	consider := func(off, n int64) {
		if end := off + n; end <= size && end > best {
			best = end
		}
	}
	e := int64(binary.LittleEndian.Uint32(blob[0x3c:]))
	consider(e+4+20, int64(f.NtHeader.FileHeader.SizeOfOptionalHeader))
	for i := range f.Sections {
		h := f.Sections[i].Header
		if h.SizeOfRawData > 0 && int64(h.PointerToRawData)+int64(h.SizeOfRawData) > size {
			// The file ends before this section does: what follows the
			// last whole section is cut-off section data, not appended data.
			return 0
		}
		consider(int64(h.PointerToRawData), int64(h.SizeOfRawData))
	}
	for i, d := range dirs {
		if i == int(peparser.ImageDirectoryEntryCertificate) {
			continue
		}
		off := f.GetOffsetFromRva(d.VirtualAddress)
		if off == ^uint32(0) {
			continue
		}
		consider(int64(off), int64(d.Size))
	}
	if best < size {
		return best
	}
	return 0
}

// sniffOverlay names the container an overlay starts with, by magic.
func sniffOverlay(b []byte) string {
	has := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case len(b) >= 8 && binary.LittleEndian.Uint32(b[0:]) == uint32(len(b)) && binary.LittleEndian.Uint16(b[6:]) == 2:
		return "authenticode" // WIN_CERTIFICATE with PKCS#7 SignedData
	case has(0, "7z\xbc\xaf\x27\x1c"):
		return "7z"
	case has(0, "PK\x03\x04"):
		return "zip"
	case has(0, "MSCF"):
		return "cab"
	case has(4, "\xef\xbe\xad\xdeNullsoftInst"), has(4, "\xef\xbe\xad\xdeNullSoftInst"):
		return "nsis"
	case has(0, "Rar!\x1a\x07"):
		return "rar"
	case has(0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
		return "ole"
	case has(0, "\x1f\x8b"):
		return "gzip"
	case has(0, "BZh"):
		return "bzip2"
	case has(0, "\xfd7zXZ\x00"):
		return "xz"
	case has(0, "MZ"):
		return "pe"
	case has(0, "zlb\x1a"), has(0, "idska32\x1a"), has(0, "rDlPtS"):
		return "innosetup"
	case has(0, "<?xml"):
		return "xml"
	}
	if allZero(b) {
		return "padding"
	}
	return ""
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// sectionFlagNames are the IMAGE_SCN_* bits we name, in bit order, so the
// list is deterministic (saferwall's PrettySectionFlags walks a map).
var sectionFlagNames = []struct {
	bit  uint32
	name string
}{
	{0x00000020, "CNT_CODE"}, {0x00000040, "CNT_INITIALIZED_DATA"}, {0x00000080, "CNT_UNINITIALIZED_DATA"},
	{0x00000200, "LNK_INFO"}, {0x00000800, "LNK_REMOVE"}, {0x00001000, "LNK_COMDAT"}, {0x00008000, "GPREL"},
	{0x01000000, "LNK_NRELOC_OVFL"}, {0x02000000, "MEM_DISCARDABLE"}, {0x04000000, "MEM_NOT_CACHED"},
	{0x08000000, "MEM_NOT_PAGED"}, {0x10000000, "MEM_SHARED"}, {0x20000000, "MEM_EXECUTE"},
	{0x40000000, "MEM_READ"}, {0x80000000, "MEM_WRITE"},
}

func sectionFlags(c uint32) []string {
	var out []string
	for _, f := range sectionFlagNames {
		if c&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

// sectionName is the 8-byte name with trailing NULs dropped; bytes that are
// not UTF-8 become U+FFFD one by one. Packers put junk here (MEW, Upack);
// the result matches pefile's Name.rstrip(b"\0").decode("utf-8", "replace").
func sectionName(raw [8]byte) string {
	b := raw[:]
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		sb.WriteRune(r) // RuneError for an invalid byte, n == 1
		b = b[n:]
	}
	return sb.String()
}
