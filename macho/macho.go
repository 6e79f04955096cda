// Package macho is tomscan's model of a Mach-O file (thin or universal/FAT,
// 32 or 64 bit, either byte order), built over the standard library's
// debug/macho. As pe/ does for saferwall/pe, no debug/macho type leaks out:
// callers see Summary and friends only.
//
// The standard parser refuses a whole file for one bad load command, so the
// universal header and the load-command list are walked here first, every
// declared size checked against the bytes we have; what is wrong becomes an
// Issue and what can be read is kept. debug/macho then supplies segments,
// sections and linked dylibs for every slice it accepts. It runs under
// recover(). Code signatures (SuperBlob, CodeDirectory, entitlements, CMS)
// and LC_ENCRYPTION_INFO(_64) are decoded here: debug/macho has neither.
package macho

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strings"

	stdmacho "debug/macho"

	"github.com/tomscan/tomscan/internal/filetype"
)

// ErrNotMachO is returned for input that is neither a thin nor a universal Mach-O.
var ErrNotMachO = errors.New("macho: not a Mach-O file")

// ErrTooLarge is returned for input over Options.MaxBytes.
var ErrTooLarge = errors.New("macho: input exceeds the size limit")

// Issue kinds, as artifact.Issue kinds (the pipeline copies them onto the node).
const (
	IssueParse     = "parse-error"
	IssueEncrypted = "encrypted"
	IssueLimit     = "limit"
)

// Limits on counts read from the file: a count beyond them is an issue, not
// an allocation.
const (
	maxFatArchs     = 64
	maxLoadCommands = 4096
	maxBlobs        = 64
	maxSections     = 1024
)

// Options tune Analyze.
type Options struct {
	MaxBytes int64 // larger inputs are refused; 0: no cap
}

// Summary is what tomscan reports about one Mach-O file.
type Summary struct {
	Fat    bool    `json:"fat"`
	Slices []Slice `json:"slices"`
	Issues []Issue `json:"issues,omitempty"`
}

// Issue is a problem with the file, on the node that holds it.
type Issue struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Slice is one architecture: the whole file when thin, one fat_arch entry when universal.
type Slice struct {
	Offset       int64          `json:"offset"` // of the slice in the file
	Size         int64          `json:"size"`
	CPU          string         `json:"cpu"` // arm64, x86_64, arm, i386, ppc, ... or 0x<hex>
	CPUSubtype   uint32         `json:"cpu_subtype"`
	Bits         int            `json:"bits"`
	BigEndian    bool           `json:"big_endian,omitempty"`
	FileType     string         `json:"file_type"` // execute, dylib, bundle, object, ...
	Flags        uint32         `json:"flags"`
	NCmds        uint32         `json:"ncmds"`
	SizeOfCmds   uint32         `json:"sizeofcmds"`
	UUID         string         `json:"uuid,omitempty"`
	Platform     string         `json:"platform,omitempty"` // LC_BUILD_VERSION / LC_VERSION_MIN_*: ios, macos, ...
	MinOS        string         `json:"min_os,omitempty"`
	SDK          string         `json:"sdk,omitempty"`
	LoadCommands []LoadCommand  `json:"load_commands"`
	Segments     []Segment      `json:"segments,omitempty"`
	Dylibs       []Dylib        `json:"dylibs,omitempty"`
	RPaths       []string       `json:"rpaths,omitempty"`
	Encryption   *Encryption    `json:"encryption,omitempty"`
	Signature    *CodeSignature `json:"code_signature,omitempty"`
}

// LoadCommand is one load command as the header lists it.
type LoadCommand struct {
	Index  int    `json:"index"`
	Cmd    uint32 `json:"cmd"`
	Name   string `json:"name"` // LC_SEGMENT_64, ... as llvm-objdump names it; 0x<hex> when unknown
	Size   uint32 `json:"cmdsize"`
	Offset int64  `json:"offset"` // in the file
}

// Segment is one LC_SEGMENT(_64) with its sections.
type Segment struct {
	Name     string    `json:"name"`
	VMAddr   uint64    `json:"vmaddr"`
	VMSize   uint64    `json:"vmsize"`
	FileOff  uint64    `json:"fileoff"`
	FileSize uint64    `json:"filesize"`
	MaxProt  string    `json:"maxprot"`
	InitProt string    `json:"initprot"`
	Sections []Section `json:"sections,omitempty"`
}

// Section is one section with its measured entropy.
type Section struct {
	Name    string  `json:"name"`
	Segment string  `json:"segment"`
	Addr    uint64  `json:"addr"`
	Size    uint64  `json:"size"`
	Offset  uint32  `json:"offset"` // in the slice; 0 for zero-fill sections
	Flags   uint32  `json:"flags"`
	Entropy float64 `json:"entropy"` // bits per byte of the bytes in the file; 0 when none
}

// Dylib is one linked library or framework.
type Dylib struct {
	Name           string `json:"name"`
	Kind           string `json:"kind"` // load, weak, reexport, lazy, upward, id
	CurrentVersion string `json:"current_version,omitempty"`
	CompatVersion  string `json:"compat_version,omitempty"`
}

// Encryption is LC_ENCRYPTION_INFO(_64). CryptID 1 is an App Store
// (FairPlay) encrypted range: its bytes are not the program's.
type Encryption struct {
	Command   string `json:"command"`
	CryptOff  uint32 `json:"cryptoff"`  // in the slice
	CryptSize uint32 `json:"cryptsize"` // bytes
	CryptID   uint32 `json:"cryptid"`
}

// Range returns the encrypted bytes' offsets in the file, clamped to the slice.
func (s *Slice) EncryptedRange() (start, end int64, ok bool) {
	if s.Encryption == nil || s.Encryption.CryptID == 0 || s.Encryption.CryptSize == 0 {
		return 0, 0, false
	}
	start = s.Offset + int64(s.Encryption.CryptOff)
	end = start + int64(s.Encryption.CryptSize)
	if limit := s.Offset + s.Size; end > limit {
		end = limit
	}
	if start >= end {
		return 0, 0, false
	}
	return start, end, true
}

// Analyze parses a Mach-O file. A returned error means nothing could be
// read (not Mach-O, too large, cancelled); problems within a file that was
// partly read are Issues on the Summary, which is returned alongside.
func Analyze(ctx context.Context, b []byte, opts Options) (sum *Summary, err error) {
	if opts.MaxBytes > 0 && int64(len(b)) > opts.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(b), opts.MaxBytes)
	}
	if !IsMachO(b) {
		return nil, ErrNotMachO
	}
	sum = &Summary{Slices: []Slice{}}
	defer func() {
		if r := recover(); r != nil {
			st := debug.Stack()
			if len(st) > 600 {
				st = st[:600]
			}
			sum.issue(IssueParse, fmt.Sprintf("panic while parsing: %v: %s", r, st))
			err = nil
		}
	}()
	if isFat(b) {
		sum.Fat = true
		for _, r := range sum.fatSlices(b) {
			if err := ctx.Err(); err != nil {
				return sum, fmt.Errorf("macho: %w", err)
			}
			sum.addSlice(ctx, b, r)
		}
		return sum, nil
	}
	sum.addSlice(ctx, b, sliceRange{off: 0, size: int64(len(b))})
	return sum, ctx.Err()
}

func (s *Summary) issue(kind, msg string) {
	s.Issues = append(s.Issues, Issue{Kind: kind, Message: msg})
}

// IsMachO is the cheap sniff, filetype's (one definition for every package).
func IsMachO(b []byte) bool { return filetype.IsMachO(b) }

// isFat: a universal header; IsMachO has judged its plausibility.
func isFat(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	m := binary.BigEndian.Uint32(b)
	return m == stdmacho.MagicFat || m == magicFat64
}

const magicFat64 = 0xcafebabf

type sliceRange struct {
	off, size int64
	cpu       uint32
}

// fatSlices validates the universal header: each slice must lie within the
// file and overlap no other; bad ones are issues and are skipped.
func (s *Summary) fatSlices(b []byte) []sliceRange {
	is64 := binary.BigEndian.Uint32(b) == magicFat64
	n := binary.BigEndian.Uint32(b[4:])
	if n > maxFatArchs {
		s.issue(IssueLimit, fmt.Sprintf("fat header declares %d architectures, reading %d", n, maxFatArchs))
		n = maxFatArchs
	}
	entry := 20
	if is64 {
		entry = 32
	}
	var out []sliceRange
	for i := 0; i < int(n); i++ {
		p := 8 + i*entry
		if p+entry > len(b) {
			s.issue(IssueParse, fmt.Sprintf("fat header: arch %d of %d lies past the end of the file", i, n))
			break
		}
		e := b[p : p+entry]
		r := sliceRange{cpu: binary.BigEndian.Uint32(e)}
		if is64 {
			r.off = int64(binary.BigEndian.Uint64(e[8:]))
			r.size = int64(binary.BigEndian.Uint64(e[16:]))
		} else {
			r.off = int64(binary.BigEndian.Uint32(e[8:]))
			r.size = int64(binary.BigEndian.Uint32(e[12:]))
		}
		switch {
		case r.off < 0 || r.size <= 0 || r.off > int64(len(b)) || r.size > int64(len(b))-r.off:
			s.issue(IssueParse, fmt.Sprintf("fat arch %d (%s): slice at %d size %d lies past the end of the file (%d bytes)", i, cpuName(r.cpu), r.off, r.size, len(b)))
			continue
		case r.off < int64(8+int(n)*entry):
			s.issue(IssueParse, fmt.Sprintf("fat arch %d (%s): slice at %d overlaps the fat header", i, cpuName(r.cpu), r.off))
			continue
		}
		overlap := false
		for j, o := range out {
			if r.off < o.off+o.size && o.off < r.off+r.size {
				s.issue(IssueParse, fmt.Sprintf("fat arch %d (%s): slice at %d size %d overlaps slice %d (%s) at %d size %d", i, cpuName(r.cpu), r.off, r.size, j, cpuName(o.cpu), o.off, o.size))
				overlap = true
				break
			}
		}
		if !overlap {
			out = append(out, r)
		}
	}
	return out // in the header's order, as lipo and llvm-objdump list them
}

// addSlice reads one thin image at r.
func (s *Summary) addSlice(ctx context.Context, file []byte, r sliceRange) {
	b := file[r.off : r.off+r.size]
	sl := Slice{Offset: r.off, Size: r.size, LoadCommands: []LoadCommand{}}
	var bo binary.ByteOrder
	switch {
	case len(b) >= 4 && binary.LittleEndian.Uint32(b) == stdmacho.Magic32:
		bo, sl.Bits = binary.LittleEndian, 32
	case len(b) >= 4 && binary.LittleEndian.Uint32(b) == stdmacho.Magic64:
		bo, sl.Bits = binary.LittleEndian, 64
	case len(b) >= 4 && binary.BigEndian.Uint32(b) == stdmacho.Magic32:
		bo, sl.Bits, sl.BigEndian = binary.BigEndian, 32, true
	case len(b) >= 4 && binary.BigEndian.Uint32(b) == stdmacho.Magic64:
		bo, sl.Bits, sl.BigEndian = binary.BigEndian, 64, true
	default:
		s.issue(IssueParse, fmt.Sprintf("slice at %d (%s): no Mach-O magic", r.off, cpuName(r.cpu)))
		return
	}
	hdr := 28
	if sl.Bits == 64 {
		hdr = 32
	}
	if len(b) < hdr {
		s.issue(IssueParse, fmt.Sprintf("slice at %d: header truncated (%d bytes)", r.off, len(b)))
		return
	}
	cpu := bo.Uint32(b[4:])
	sl.CPU = cpuName(cpu)
	sl.CPUSubtype = bo.Uint32(b[8:]) &^ 0xff000000
	sl.FileType = fileTypeName(bo.Uint32(b[12:]))
	sl.NCmds = bo.Uint32(b[16:])
	sl.SizeOfCmds = bo.Uint32(b[20:])
	sl.Flags = bo.Uint32(b[24:])
	where := fmt.Sprintf("slice %s at %d", sl.CPU, r.off)

	// The load-command walk: every cmdsize is checked against the declared
	// area and the bytes present; the first bad one ends the walk.
	if int64(sl.SizeOfCmds) > int64(len(b)-hdr) {
		s.issue(IssueParse, fmt.Sprintf("%s: sizeofcmds %d runs past the end of the slice (%d bytes after the header)", where, sl.SizeOfCmds, len(b)-hdr))
	}
	n := sl.NCmds
	if n > maxLoadCommands {
		s.issue(IssueLimit, fmt.Sprintf("%s: %d load commands declared, reading %d", where, n, maxLoadCommands))
		n = maxLoadCommands
	}
	end := hdr + int(sl.SizeOfCmds)
	if end > len(b) {
		end = len(b)
	}
	walkOK := true
	p := hdr
	for i := 0; i < int(n); i++ {
		if p+8 > end {
			s.issue(IssueParse, fmt.Sprintf("%s: load command %d of %d starts past the end of the load commands", where, i, sl.NCmds))
			walkOK = false
			break
		}
		cmd, size := bo.Uint32(b[p:]), bo.Uint32(b[p+4:])
		if size < 8 || int64(p)+int64(size) > int64(end) {
			s.issue(IssueParse, fmt.Sprintf("%s: load command %d (%s) size %d runs past the end of the load commands (%d bytes left)", where, i, cmdName(cmd), size, end-p))
			walkOK = false
			break
		}
		sl.LoadCommands = append(sl.LoadCommands, LoadCommand{Index: i, Cmd: cmd, Name: cmdName(cmd), Size: size, Offset: r.off + int64(p)})
		s.rawCommand(&sl, b, bo, b[p:p+int(size)], where)
		p += int(size)
	}

	if walkOK {
		s.fromStd(ctx, &sl, b, where)
	}
	if sl.Encryption != nil && sl.Encryption.CryptID != 0 {
		s.issue(IssueEncrypted, fmt.Sprintf("%s: %s cryptid %d: bytes %d..%d of the slice are encrypted; strings there are not claimed", where, sl.Encryption.Command, sl.Encryption.CryptID, sl.Encryption.CryptOff, uint64(sl.Encryption.CryptOff)+uint64(sl.Encryption.CryptSize)))
		if uint64(sl.Encryption.CryptOff)+uint64(sl.Encryption.CryptSize) > uint64(len(b)) {
			s.issue(IssueParse, fmt.Sprintf("%s: encrypted range %d+%d runs past the end of the slice (%d bytes)", where, sl.Encryption.CryptOff, sl.Encryption.CryptSize, len(b)))
		}
	}
	s.Slices = append(s.Slices, sl)
}

// rawCommand decodes the commands debug/macho does not: encryption, code
// signature, UUID, build version, rpath is also taken here so that it is
// reported even when debug/macho refuses the slice.
func (s *Summary) rawCommand(sl *Slice, slice []byte, bo binary.ByteOrder, c []byte, where string) {
	cmd := bo.Uint32(c)
	switch cmd {
	case lcEncryptionInfo, lcEncryptionInfo64:
		if len(c) < 20 {
			s.issue(IssueParse, fmt.Sprintf("%s: %s too short (%d bytes)", where, cmdName(cmd), len(c)))
			return
		}
		sl.Encryption = &Encryption{Command: cmdName(cmd), CryptOff: bo.Uint32(c[8:]), CryptSize: bo.Uint32(c[12:]), CryptID: bo.Uint32(c[16:])}
	case lcCodeSignature:
		if len(c) < 16 {
			s.issue(IssueParse, fmt.Sprintf("%s: LC_CODE_SIGNATURE too short", where))
			return
		}
		off, size := bo.Uint32(c[8:]), bo.Uint32(c[12:])
		if uint64(off)+uint64(size) > uint64(len(slice)) {
			s.issue(IssueParse, fmt.Sprintf("%s: code signature at %d size %d runs past the end of the slice (%d bytes)", where, off, size, len(slice)))
			return
		}
		cs, issues := parseSignature(slice[off : off+size])
		cs.Offset, cs.Size = off, size
		sl.Signature = cs
		for _, m := range issues {
			s.issue(IssueParse, where+": code signature: "+m)
		}
	case lcUUID:
		if len(c) >= 24 {
			u := c[8:24]
			sl.UUID = fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
		}
	case lcBuildVersion:
		if len(c) >= 24 {
			sl.Platform = platformName(bo.Uint32(c[8:]))
			sl.MinOS = nibbleVersion(bo.Uint32(c[12:]))
			sl.SDK = nibbleVersion(bo.Uint32(c[16:]))
		}
	case lcVersionMinMacOSX, lcVersionMinIPhoneOS, lcVersionMinTVOS, lcVersionMinWatchOS:
		if len(c) >= 16 && sl.Platform == "" {
			sl.Platform = map[uint32]string{lcVersionMinMacOSX: "macos", lcVersionMinIPhoneOS: "ios", lcVersionMinTVOS: "tvos", lcVersionMinWatchOS: "watchos"}[cmd]
			sl.MinOS = nibbleVersion(bo.Uint32(c[8:]))
			sl.SDK = nibbleVersion(bo.Uint32(c[12:]))
		}
	case lcRpath:
		if str, ok := lcString(c, bo, 8); ok {
			sl.RPaths = append(sl.RPaths, str)
		}
	case lcLoadDylib, lcLoadWeakDylib, lcReexportDylib, lcLazyLoadDylib, lcLoadUpwardDylib, lcIDDylib:
		if len(c) < 24 {
			s.issue(IssueParse, fmt.Sprintf("%s: %s too short (%d bytes)", where, cmdName(cmd), len(c)))
			return
		}
		name, ok := lcString(c, bo, 8)
		if !ok {
			s.issue(IssueParse, fmt.Sprintf("%s: %s name offset out of the command", where, cmdName(cmd)))
			return
		}
		sl.Dylibs = append(sl.Dylibs, Dylib{Name: name, Kind: dylibKinds[cmd], CurrentVersion: dylibVersion(bo.Uint32(c[16:])), CompatVersion: dylibVersion(bo.Uint32(c[20:]))})
	}
}

// lcString reads an lc_str: a 32-bit offset from the command's start to a
// NUL-terminated string inside the command.
func lcString(c []byte, bo binary.ByteOrder, at int) (string, bool) {
	if at+4 > len(c) {
		return "", false
	}
	off := bo.Uint32(c[at:])
	if off < 8 || off >= uint32(len(c)) {
		return "", false
	}
	s := c[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s), true
}

// fromStd takes segments and sections from debug/macho, measuring entropy.
func (s *Summary) fromStd(ctx context.Context, sl *Slice, b []byte, where string) {
	var f *stdmacho.File
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("debug/macho panicked: %v", r)
			}
		}()
		f, err = stdmacho.NewFile(bytes.NewReader(b))
		return err
	}()
	if err != nil {
		s.issue(IssueParse, fmt.Sprintf("%s: debug/macho: %v", where, err))
		return
	}
	if len(f.Loads) != len(sl.LoadCommands) {
		s.issue(IssueParse, fmt.Sprintf("%s: debug/macho read %d load commands, the walk %d", where, len(f.Loads), len(sl.LoadCommands)))
	}
	nsect := 0
	for _, l := range f.Loads {
		seg, ok := l.(*stdmacho.Segment)
		if !ok {
			continue
		}
		out := Segment{Name: seg.Name, VMAddr: seg.Addr, VMSize: seg.Memsz, FileOff: seg.Offset, FileSize: seg.Filesz, MaxProt: prot(seg.Maxprot), InitProt: prot(seg.Prot)}
		for _, sec := range f.Sections {
			if sec.Seg != seg.Name || nsect >= maxSections {
				continue
			}
			if ctx.Err() != nil {
				return
			}
			nsect++
			x := Section{Name: sec.Name, Segment: sec.Seg, Addr: sec.Addr, Size: sec.Size, Offset: sec.Offset, Flags: sec.Flags}
			if data, ok := sectionBytes(b, sec.Offset, sec.Size, sec.Flags); ok {
				x.Entropy = entropy(data)
			}
			out.Sections = append(out.Sections, x)
		}
		sl.Segments = append(sl.Segments, out)
	}
	if nsect >= maxSections {
		s.issue(IssueLimit, fmt.Sprintf("%s: more than %d sections, the rest not listed", where, maxSections))
	}
}

// Section types that occupy no file bytes.
const (
	sectionTypeMask   = 0xff
	sZeroFill         = 0x1
	sGBZeroFill       = 0xc
	sThreadLocalZero  = 0x12
	attrPureInstr     = 0x80000000
	sCStringLiterals  = 0x2
	sLiteralPointers  = 0x5
	maxEntropyScanned = 64 << 20
)

func sectionBytes(b []byte, off uint32, size uint64, flags uint32) ([]byte, bool) {
	switch flags & sectionTypeMask {
	case sZeroFill, sGBZeroFill, sThreadLocalZero:
		return nil, false
	}
	if off == 0 || size == 0 || uint64(off) > uint64(len(b)) || size > uint64(len(b))-uint64(off) {
		return nil, false
	}
	return b[off : uint64(off)+size], true
}

func entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	if len(b) > maxEntropyScanned {
		b = b[:maxEntropyScanned]
	}
	var hist [256]int
	for _, c := range b {
		hist[c]++
	}
	e := 0.0
	n := float64(len(b))
	for _, c := range hist {
		if c > 0 {
			p := float64(c) / n
			e -= p * math.Log2(p)
		}
	}
	return math.Round(e*1000) / 1000
}

func prot(p uint32) string {
	var sb strings.Builder
	for i, c := range "rwx" {
		if p&(1<<i) != 0 {
			sb.WriteRune(c)
		} else {
			sb.WriteByte('-')
		}
	}
	return sb.String()
}

func nibbleVersion(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v>>16, (v>>8)&0xff, v&0xff)
}

func dylibVersion(v uint32) string { return nibbleVersion(v) }

// LoadCommandsNames lists the slice's load-command names in order.
func (s *Slice) LoadCommandsNames() []string {
	out := make([]string, len(s.LoadCommands))
	for i, c := range s.LoadCommands {
		out[i] = c.Name
	}
	return out
}
