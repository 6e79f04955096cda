package gen

// An Inno Setup writer. ISCC (the compiler) is a 32-bit Windows program and
// cannot run here, so the corpus writes installers itself, in the layout
// innoextract's source documents (src/loader/offsets.cpp, src/setup/*.cpp,
// src/stream/block.cpp and chunk.cpp): a loader PE whose offset table says
// where setup-0 (the version marker and two compressed header blocks) and
// setup-1 (the file chunks) start. Every field is written in the order and
// under the version conditions that reader uses; the corpus tests prove the
// output against the real innoextract.

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strings"
	"unicode/utf16"

	"github.com/ulikunitz/xz/lzma"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// innoVer is an Inno Setup data version (the "(5.5.0) (u)" marker).
type innoVer struct {
	a, b, c int
	unicode bool
}

func (v innoVer) n() int                   { return v.a*10000 + v.b*100 + v.c }
func (v innoVer) atLeast(a, b, c int) bool { return v.n() >= a*10000+b*100+c }
func (v innoVer) below(a, b, c int) bool   { return !v.atLeast(a, b, c) }

// marker is the 64-byte string that starts setup-0.
func (v innoVer) marker() []byte {
	s := fmt.Sprintf("Inno Setup Setup Data (%d.%d.%d)", v.a, v.b, v.c)
	if v.unicode {
		s += " (u)"
	}
	m := make([]byte, 64)
	copy(m, s)
	return m
}

// String is the version as innoextract prints it.
func (v innoVer) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.a, v.b, v.c)
	if v.unicode {
		s += " (unicode)"
	}
	return s
}

// innoVersions are the data versions the writer produces, by spec name.
// They are the markers ISCC of these releases wrote (innoextract's
// src/setup/version.cpp lists them as known versions).
var innoVersions = map[string]innoVer{
	"5.1.2":  {5, 1, 2, false},
	"5.2.3":  {5, 2, 3, false},
	"5.3.9u": {5, 3, 9, true},
	"5.5.0u": {5, 5, 0, true},
}

// InnoSetup is one installer's script, as the compiler would have stored it.
type InnoSetup struct {
	Version string // a key of innoVersions
	// Codepage encodes ANSI strings (1252 or 936); Unicode builds use UTF-16LE.
	Codepage         int
	LanguageName     string // "English"
	LanguageID       uint32 // 0x409
	AppName          string
	AppVersion       string
	AppPublisher     string
	AppID            string
	DefaultDirName   string // "{pf}\Skype\Phone"
	DefaultGroupName string
	// Compression of the file chunks: "lzma" or "zlib" (header blocks are
	// always LZMA1 from 4.1.6 on, as ISCC wrote them).
	Compression string
	Dirs        []InnoDir
	Files       []InnoFile
	Icons       []InnoIcon
	Registry    []InnoRegistry
	Run         []InnoRun

	// corrupt, when set (tests only), edits the uncompressed first header
	// block before it is compressed, with the offsets of chosen fields.
	corrupt func(block []byte, at innoFieldOffsets)
}

// innoFieldOffsets are where some one-byte enum fields sit in the first
// header block, so that a test can damage exactly one of them.
type innoFieldOffsets struct {
	RegistryType []int // registry value type
	RunWait      []int // run entry wait condition
	IconClose    []int // icon close-on-exit setting
}

// InnoDir is a [Dirs] entry.
type InnoDir struct {
	Name  string
	Flags []string
}

// InnoFile is a [Files] entry stored in the installer.
type InnoFile struct {
	Dest  string // full destination: "{app}\Skype.exe"
	Data  []byte
	Flags []string
}

// InnoIcon is an [Icons] entry (a shortcut).
type InnoIcon struct {
	Name, Filename, Parameters, WorkingDir, IconFile, Comment string
	Flags                                                     []string
}

// InnoRegistry is a [Registry] entry.
type InnoRegistry struct {
	Root, Subkey, ValueName, ValueType, ValueData string
	Flags                                         []string
}

// InnoRun is a [Run] entry.
type InnoRun struct {
	Filename, Parameters, WorkingDir, StatusMsg, Description string
	Wait                                                     string // waituntilterminated | nowait | waituntilidle
	ShowCmd                                                  int32  // 1 normal, 0 hidden (runhidden)
	Flags                                                    []string
}

// appVerName is AppVerName, the title innoextract prints ("Skype 5.5.0.124").
func (s *InnoSetup) appVerName() string { return s.AppName + " " + s.AppVersion }

// Flag names are Inno Setup script names, in the bit order of each version.
type innoFlag struct {
	name string
	in   func(v innoVer) bool
}

func always(innoVer) bool { return true }
func since(a, b, c int) func(innoVer) bool {
	return func(v innoVer) bool { return v.atLeast(a, b, c) }
}
func before(a, b, c int) func(innoVer) bool {
	return func(v innoVer) bool { return v.below(a, b, c) }
}

var innoHeaderFlags = []innoFlag{
	{"disablestartupprompt", always}, {"uninstallable", before(5, 3, 10)}, {"createappdir", always},
	{"disabledirpage", before(5, 3, 3)}, {"disableprogramgrouppage", before(5, 3, 3)},
	{"allownoicons", always}, {"alwaysrestart", always}, {"alwaysusepersonalgroup", always},
	{"windowvisible", always}, {"windowshowcaption", always}, {"windowresizable", always},
	{"windowstartmaximized", always}, {"enabledirdoesntexistwarning", always}, {"password", always},
	{"allowrootdirectory", always}, {"disablefinishedpage", always}, {"changesassociations", before(5, 6, 1)},
	{"createuninstallregkey", before(5, 3, 8)}, {"usepreviousappdir", always}, {"backcolorhorizontal", always},
	{"usepreviousgroup", always}, {"updateuninstalllogappname", always}, {"useprevioussetuptype", always},
	{"disablereadymemo", always}, {"alwaysshowcomponentslist", always}, {"flatcomponentslist", always},
	{"showcomponentsizes", always}, {"useprevioustasks", always}, {"disablereadypage", always},
	{"alwaysshowdironreadypage", always}, {"alwaysshowgrouponreadypage", always}, {"allowuncpath", always},
	{"userinfopage", always}, {"useprevioususerinfo", always}, {"uninstallrestartcomputer", always},
	{"restartifneededbyrun", always}, {"showtaskstreelines", always}, {"allowcancelduringinstall", always},
	{"wizardimagestretch", always}, {"appenddefaultdirname", always}, {"appenddefaultgroupname", always},
	{"encryptionused", always}, {"changesenvironment", before(5, 6, 1)},
	{"showundisplayablelanguages", func(v innoVer) bool { return v.atLeast(5, 1, 7) && !v.unicode }},
	{"setuplogging", since(5, 1, 13)}, {"signeduninstaller", since(5, 2, 1)},
	{"usepreviouslanguage", since(5, 3, 8)}, {"disablewelcomepage", since(5, 3, 9)},
	{"closeapplications", since(5, 5, 0)}, {"restartapplications", since(5, 5, 0)},
	{"allownetworkdrive", since(5, 5, 0)},
}

var innoFileFlags = []innoFlag{
	{"confirmoverwrite", always}, {"uninsneveruninstall", always}, {"restartreplace", always},
	{"deleteafterinstall", always}, {"regserver", always}, {"regtypelib", always}, {"sharedfile", always},
	{"comparetimestamp", always}, {"fontisnttruetype", always}, {"skipifsourcedoesntexist", always},
	{"overwritereadonly", always}, {"replacesameversion", always}, {"customdestname", always},
	{"onlyifdestfileexists", always}, {"noregerror", always}, {"uninsrestartdelete", always},
	{"onlyifdoesntexist", always}, {"ignoreversion", always}, {"promptifolder", always}, {"dontcopy", always},
	{"uninsremovereadonly", always}, {"recursesubdirsexternal", always},
	{"replacesameversionifcontentsdiffer", always}, {"dontverifychecksum", always},
	{"uninsnosharedfileprompt", always}, {"createallsubdirs", always}, {"32bit", since(5, 1, 2)},
	{"64bit", since(5, 1, 2)}, {"externalsizepreset", since(5, 2, 0)}, {"setntfscompression", since(5, 2, 0)},
	{"unsetntfscompression", since(5, 2, 0)}, {"gacinstall", since(5, 2, 5)},
}

var innoDirFlags = []innoFlag{
	{"uninsneveruninstall", always}, {"deleteafterinstall", always}, {"uninsalwaysuninstall", always},
	{"setntfscompression", since(5, 2, 0)}, {"unsetntfscompression", since(5, 2, 0)},
}

var innoIconFlags = []innoFlag{
	{"uninsneveruninstall", always}, {"createonlyiffileexists", always}, {"useapppaths", always},
	{"foldershortcut", always}, {"excludefromshowinnewinstall", since(5, 4, 2)},
	{"preventpinning", since(5, 5, 0)},
}

var innoRegistryFlags = []innoFlag{
	{"createvalueifdoesntexist", always}, {"uninsdeletevalue", always}, {"uninsclearvalue", always},
	{"uninsdeletekey", always}, {"uninsdeletekeyifempty", always}, {"preservestringtype", always},
	{"deletekey", always}, {"deletevalue", always}, {"noerror", always}, {"dontcreatekey", always},
	{"32bit", always}, {"64bit", always},
}

var innoRunFlags = []innoFlag{
	{"shellexec", always}, {"skipifdoesntexist", always}, {"postinstall", always}, {"unchecked", always},
	{"skipifsilent", always}, {"skipifnotsilent", always}, {"hidewizard", always},
	{"32bit", since(5, 1, 10)}, {"64bit", since(5, 1, 10)}, {"runasoriginaluser", since(5, 2, 0)},
}

var innoDataFlags = []innoFlag{
	{"versioninfovalid", always}, {"versioninfonotvalid", always}, {"timestampinutc", always},
	{"isuninstallerexe", always}, {"callinstructionoptimized", always}, {"touch", always},
	{"chunkencrypted", always}, {"chunkcompressed", always}, {"solidbreak", since(5, 1, 13)},
}

var innoRoots = map[string]uint32{"HKCR": 0x80000000, "HKCU": 0x80000001, "HKLM": 0x80000002, "HKU": 0x80000003, "HKCC": 0x80000005}

var innoRegTypes = []string{"none", "string", "expandsz", "dword", "binary", "multisz", "qword"}

var innoWaits = []string{"waituntilterminated", "nowait", "waituntilidle"}

// innoEnc appends little-endian fields and strings to a block.
type innoEnc struct {
	buf  bytes.Buffer
	v    innoVer
	cp   int
	errs []error
}

func (e *innoEnc) u8(x uint8)   { e.buf.WriteByte(x) }
func (e *innoEnc) u16(x uint16) { _ = binary.Write(&e.buf, binary.LittleEndian, x) }
func (e *innoEnc) u32(x uint32) { _ = binary.Write(&e.buf, binary.LittleEndian, x) }
func (e *innoEnc) i16(x int16)  { _ = binary.Write(&e.buf, binary.LittleEndian, x) }
func (e *innoEnc) i32(x int32)  { _ = binary.Write(&e.buf, binary.LittleEndian, x) }
func (e *innoEnc) u64(x uint64) { _ = binary.Write(&e.buf, binary.LittleEndian, x) }
func (e *innoEnc) raw(b []byte) { e.buf.Write(b) }

// bin is Inno's length-prefixed byte string.
func (e *innoEnc) bin(b []byte) {
	e.u32(uint32(len(b)))
	e.buf.Write(b)
}

func utf16LE(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// encode gives s in the installer's string encoding.
func (e *innoEnc) encode(s string) []byte {
	if e.v.unicode {
		return utf16LE(s)
	}
	return encodeCodepage(s, e.cp, &e.errs)
}

func encodeCodepage(s string, cp int, errs *[]error) []byte {
	var out string
	var err error
	switch cp {
	case 936:
		out, err = simplifiedchinese.GBK.NewEncoder().String(s)
	default:
		out, err = charmap.Windows1252.NewEncoder().String(s)
	}
	if err != nil {
		*errs = append(*errs, fmt.Errorf("inno: %q is not in code page %d: %w", s, cp, err))
	}
	return []byte(out)
}

// str is an encoded string; ansi is a string Inno always keeps in ANSI.
func (e *innoEnc) str(s string) { e.bin(e.encode(s)) }
func (e *innoEnc) ansi(s string) {
	e.bin(encodeCodepage(s, 1252, &e.errs))
}

// flags packs a flag set, one bit per flag the version knows, 3-byte sets
// padded to 4 (src/util/storedenum.hpp).
func (e *innoEnc) flags(list []innoFlag, set []string, what string) {
	want := map[string]bool{}
	for _, s := range set {
		want[s] = true
	}
	var bits []bool
	for _, f := range list {
		if f.in(e.v) {
			bits = append(bits, want[f.name])
			delete(want, f.name)
		}
	}
	for name := range want {
		e.errs = append(e.errs, fmt.Errorf("inno %s: %s flag %q unknown to this version", e.v, what, name))
	}
	n := (len(bits) + 7) / 8
	packed := make([]byte, n)
	for i, on := range bits {
		if on {
			packed[i/8] |= 1 << (i % 8)
		}
	}
	e.raw(packed)
	if n == 3 {
		e.u8(0)
	}
}

// winver is a version range (MinVersion, OnlyBelowVersion): Windows 98 /
// NT 4.0 and no upper bound, ISCC's defaults of the era.
func (e *innoEnc) winver() {
	e.u16(0)
	e.u8(10)
	e.u8(4) // Windows 4.10
	e.u16(0)
	e.u8(0)
	e.u8(4) // NT 4.0
	e.u8(0)
	e.u8(0) // service pack
	e.raw(make([]byte, 10))
}

// conditions are the Components/Tasks/Languages/Check/AfterInstall/BeforeInstall
// parameters every item has; the corpus uses none.
func (e *innoEnc) conditions() {
	for i := 0; i < 6; i++ {
		e.str("")
	}
}

func indexOf(list []string, s string) (int, bool) {
	for i, x := range list {
		if x == s {
			return i, true
		}
	}
	return 0, false
}

// innoBuilt is a written installer's parts.
type innoBuilt struct {
	v      innoVer
	setup0 []byte // version marker + two header blocks
	setup1 []byte // file chunks, offsets relative to its start
}

func (s *InnoSetup) version() (innoVer, error) {
	v, ok := innoVersions[s.Version]
	if !ok {
		return innoVer{}, fmt.Errorf("inno: unknown version %q", s.Version)
	}
	return v, nil
}

// compression codes of the header field, per version.
func (s *InnoSetup) compressionCode(v innoVer) (uint8, error) {
	switch s.Compression {
	case "zlib":
		return 1, nil
	case "lzma":
		return 3, nil
	}
	return 0, fmt.Errorf("inno: compression %q", s.Compression)
}

// build writes setup-0 and setup-1.
func (s *InnoSetup) build() (*innoBuilt, error) {
	v, err := s.version()
	if err != nil {
		return nil, err
	}
	if v.below(5, 1, 0) || v.atLeast(5, 5, 6) {
		return nil, fmt.Errorf("inno: the writer covers data versions 5.1.0 to 5.5.5, not %s", v)
	}
	comp, err := s.compressionCode(v)
	if err != nil {
		return nil, err
	}
	e := &innoEnc{v: v, cp: s.Codepage}
	if e.cp == 0 {
		e.cp = 1252
	}

	// Chunks first: the data entries need their offsets and sizes.
	var chunks bytes.Buffer
	type location struct {
		offset     uint32
		chunkSize  uint64
		size       uint64
		md5, sha1  []byte
		compressed bool
	}
	locs := make([]location, len(s.Files))
	for i, f := range s.Files {
		var packed []byte
		switch s.Compression {
		case "zlib":
			packed, err = zlibBytes(f.Data)
		default:
			packed, err = innoLZMA(f.Data)
		}
		if err != nil {
			return nil, err
		}
		m, h := md5.Sum(f.Data), sha1.Sum(f.Data)
		locs[i] = location{offset: uint32(chunks.Len()), chunkSize: uint64(len(packed)), size: uint64(len(f.Data)), md5: m[:], sha1: h[:], compressed: true}
		chunks.WriteString("zlb\x1a")
		chunks.Write(packed)
	}

	// Block 1: header and entries (src/setup/info.cpp order).
	at := innoFieldOffsets{}
	s.writeHeader(e, comp)
	s.writeLanguage(e)
	for _, d := range s.Dirs {
		e.str(d.Name)
		e.conditions()
		e.u32(0) // attributes
		e.winver()
		e.i16(-1) // permission
		e.flags(innoDirFlags, d.Flags, "dir")
	}
	for i, f := range s.Files {
		e.str("") // source: empty for files compiled into the installer
		e.str(f.Dest)
		e.str("") // font name
		if v.atLeast(5, 2, 5) {
			e.str("") // strong assembly name
		}
		e.conditions()
		e.winver()
		e.u32(uint32(i)) // location: the data entry
		e.u32(0xFFFFFFFF)
		e.u64(0) // external size
		e.i16(-1)
		e.flags(innoFileFlags, f.Flags, "file")
		e.u8(0) // user file
	}
	for _, ic := range s.Icons {
		e.str(ic.Name)
		e.str(ic.Filename)
		e.str(ic.Parameters)
		e.str(ic.WorkingDir)
		e.str(ic.IconFile)
		e.str(ic.Comment)
		e.conditions()
		if v.atLeast(5, 3, 5) {
			e.str("") // AppUserModelID
		}
		e.winver()
		e.i32(0) // icon index
		e.i32(1) // SW_SHOWNORMAL
		at.IconClose = append(at.IconClose, e.buf.Len())
		e.u8(0) // close on exit: no setting
		e.u16(0)
		e.flags(innoIconFlags, ic.Flags, "icon")
	}
	for _, r := range s.Registry {
		root, ok := innoRoots[r.Root]
		if !ok {
			return nil, fmt.Errorf("inno: registry root %q", r.Root)
		}
		typ, ok := indexOf(innoRegTypes, r.ValueType)
		if !ok || (typ == 6 && v.below(5, 2, 5)) {
			return nil, fmt.Errorf("inno %s: registry type %q", v, r.ValueType)
		}
		e.str(r.Subkey)
		e.str(r.ValueName)
		e.bin(e.encode(r.ValueData))
		e.conditions()
		e.winver()
		e.u32(root)
		e.i16(-1)
		at.RegistryType = append(at.RegistryType, e.buf.Len())
		e.u8(uint8(typ))
		e.flags(innoRegistryFlags, r.Flags, "registry")
	}
	for _, r := range s.Run {
		wait, ok := indexOf(innoWaits, r.Wait)
		if !ok {
			return nil, fmt.Errorf("inno: run wait %q", r.Wait)
		}
		e.str(r.Filename)
		e.str(r.Parameters)
		e.str(r.WorkingDir)
		e.str("") // RunOnceId
		e.str(r.StatusMsg)
		if v.atLeast(5, 1, 13) {
			e.str("") // verb
		}
		e.str(r.Description)
		e.conditions()
		e.winver()
		e.i32(r.ShowCmd)
		at.RunWait = append(at.RunWait, e.buf.Len())
		e.u8(uint8(wait))
		e.flags(innoRunFlags, r.Flags, "run")
	}
	e.bin(nil) // wizard image
	e.bin(nil) // small wizard image
	if comp == 1 {
		e.bin(nil) // decompressor DLL: none needed by our readers
	}
	if len(e.errs) > 0 {
		return nil, e.errs[0]
	}
	block1 := append([]byte(nil), e.buf.Bytes()...)
	if s.corrupt != nil {
		s.corrupt(block1, at)
	}

	// Block 2: the data entries (file locations).
	d := &innoEnc{v: v, cp: e.cp}
	ft := uint64(toFiletime(fixedTime))
	for _, l := range locs {
		d.u32(0)
		d.u32(0) // first and last slice
		d.u32(l.offset)
		d.u64(0) // offset in the decompressed chunk
		d.u64(l.size)
		d.u64(l.chunkSize)
		if v.atLeast(5, 3, 9) {
			d.raw(l.sha1)
		} else {
			d.raw(l.md5)
		}
		d.u64(ft)
		d.u32(0)
		d.u32(0) // file version
		d.flags(innoDataFlags, []string{"versioninfonotvalid", "timestampinutc", "chunkcompressed"}, "data")
	}

	var setup0 bytes.Buffer
	setup0.Write(v.marker())
	for _, blk := range [][]byte{block1, d.buf.Bytes()} {
		b, err := innoBlock(blk)
		if err != nil {
			return nil, err
		}
		setup0.Write(b)
	}
	return &innoBuilt{v: v, setup0: setup0.Bytes(), setup1: chunks.Bytes()}, nil
}

func (s *InnoSetup) writeHeader(e *innoEnc, comp uint8) {
	v := e.v
	e.str(s.AppName)
	e.str(s.appVerName())
	e.str(s.AppID)
	e.str("") // copyright
	e.str(s.AppPublisher)
	e.str("") // publisher URL
	if v.atLeast(5, 1, 13) {
		e.str("") // support phone
	}
	e.str("") // support URL
	e.str("") // updates URL
	e.str(s.AppVersion)
	e.str(s.DefaultDirName)
	e.str(s.DefaultGroupName)
	e.str("setup") // base file name
	if v.below(5, 2, 5) {
		e.ansi("")
		e.ansi("")
		e.ansi("") // license, info before, info after
	}
	e.str("{app}") // uninstall files dir
	e.str("")      // uninstall display name
	e.str("")      // uninstall display icon
	e.str("")      // app mutex
	e.str("")      // default user name
	e.str("")      // default organisation
	e.str("")      // default serial
	if v.below(5, 2, 5) {
		e.bin(nil) // compiled [Code]
	}
	for i := 0; i < 4; i++ {
		e.str("") // readme, contact, comments, modify path
	}
	if v.atLeast(5, 3, 8) {
		e.str("yes") // CreateUninstallRegKey
	}
	if v.atLeast(5, 3, 10) {
		e.str("yes") // Uninstallable
	}
	if v.atLeast(5, 5, 0) {
		e.str("") // CloseApplicationsFilter
	}
	if v.atLeast(5, 2, 5) {
		e.ansi("")
		e.ansi("")
		e.ansi("")
	}
	if v.atLeast(5, 2, 1) && v.below(5, 3, 10) {
		e.bin(nil) // uninstaller signature
	}
	if v.atLeast(5, 2, 5) {
		e.bin(nil) // compiled [Code]
	}
	if !v.unicode {
		lead := make([]byte, 32) // lead bytes of the code page (a 256-bit set)
		if e.cp == 936 {
			for c := 0x81; c <= 0xFE; c++ {
				lead[c/8] |= 1 << (c % 8)
			}
		}
		e.raw(lead)
	}
	e.u32(1) // languages
	e.u32(0) // custom messages
	e.u32(0) // permissions
	e.u32(0) // types
	e.u32(0) // components
	e.u32(0) // tasks
	e.u32(uint32(len(s.Dirs)))
	e.u32(uint32(len(s.Files)))
	e.u32(uint32(len(s.Files))) // one data entry per file
	e.u32(uint32(len(s.Icons)))
	e.u32(0) // ini
	e.u32(uint32(len(s.Registry)))
	e.u32(0) // install delete
	e.u32(0) // uninstall delete
	e.u32(uint32(len(s.Run)))
	e.u32(0) // uninstall run
	e.winver()
	e.u32(0x00800000) // back color
	e.u32(0)          // back color 2
	e.u32(0x00FFFFFF) // wizard image back color
	if v.atLeast(5, 3, 9) {
		e.raw(make([]byte, 20)) // password SHA-1
	} else {
		e.raw(make([]byte, 16)) // password MD5
	}
	e.raw(make([]byte, 8)) // password salt
	e.u64(0)               // extra disk space
	e.u32(0)               // slices per disk (single file)
	e.u8(0)                // uninstall log mode: append
	e.u8(0)                // dir exists warning: auto
	e.u8(2)                // privileges required: admin
	e.u8(0)                // show language dialog: yes
	e.u8(0)                // language detection: UI language
	e.u8(comp)
	e.u8(0x0F) // architectures allowed: all
	e.u8(0)    // installed in 64-bit mode: none
	if v.atLeast(5, 2, 1) && v.below(5, 3, 10) {
		e.u32(0)
		e.u32(0) // signed uninstaller size and checksum
	}
	if v.atLeast(5, 3, 3) {
		e.u8(0)
		e.u8(0) // DisableDirPage, DisableProgramGroupPage: auto
	}
	if v.atLeast(5, 5, 0) {
		e.u64(0)
	} else if v.atLeast(5, 3, 6) {
		e.u32(0) // uninstall display size
	}
	// ISCC's defaults, as far as this version has them.
	e.flags(innoHeaderFlags, knownFlags(innoHeaderFlags, v, "createappdir", "uninstallable", "createuninstallregkey",
		"windowshowcaption", "allowcancelduringinstall", "usepreviousappdir", "usepreviousgroup",
		"useprevioussetuptype", "useprevioustasks", "usepreviouslanguage", "allownetworkdrive"), "header")
}

func (s *InnoSetup) writeLanguage(e *innoEnc) {
	v := e.v
	e.str("default") // name
	e.bin(utf16LE(s.LanguageName))
	for _, font := range []string{"Tahoma", "Tahoma", "Verdana", "Arial"} {
		e.str(font)
	}
	e.bin(nil) // language data
	e.ansi("")
	e.ansi("")
	e.ansi("") // license, info before, info after
	e.u32(s.LanguageID)
	if !v.unicode {
		e.u32(uint32(e.cp))
	} else if v.below(5, 3, 0) {
		e.u32(0)
	}
	e.u32(8)  // dialog font size
	e.u32(12) // title
	e.u32(12) // welcome
	e.u32(8)  // copyright
	if v.atLeast(5, 2, 3) {
		e.u8(0) // right to left
	}
}

// innoBlock wraps a header block as src/stream/block.cpp reads it from
// 4.1.6 on: CRC32 of (stored size, compressed flag), then the LZMA1 data cut
// into 4096-byte chunks, each after its own CRC32.
func innoBlock(plain []byte) ([]byte, error) {
	packed, err := innoLZMA(plain)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	for off := 0; off < len(packed); off += 4096 {
		end := min(off+4096, len(packed))
		_ = binary.Write(&body, binary.LittleEndian, crc32.ChecksumIEEE(packed[off:end]))
		body.Write(packed[off:end])
	}
	head := make([]byte, 5)
	binary.LittleEndian.PutUint32(head, uint32(body.Len()))
	head[4] = 1 // compressed
	out := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(head))
	out = append(out, head...)
	return append(out, body.Bytes()...), nil
}

// innoLZMA is Inno's LZMA1 stream: the 5 property bytes, then the raw
// stream without a size, ended by the end-of-payload marker (innoextract
// reads a header block to the marker and fails on a stream without one).
func innoLZMA(plain []byte) ([]byte, error) {
	var out bytes.Buffer
	cfg := lzma.WriterConfig{DictCap: 1 << 20, EOSMarker: true}
	w, err := cfg.NewWriter(&out)
	if err != nil {
		return nil, fmt.Errorf("inno lzma: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("inno lzma: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("inno lzma: %w", err)
	}
	b := out.Bytes()
	if len(b) < 13 {
		return nil, fmt.Errorf("inno lzma: short output")
	}
	return append(append([]byte(nil), b[:5]...), b[13:]...), nil
}

func zlibBytes(plain []byte) ([]byte, error) {
	var out bytes.Buffer
	w, err := zlib.NewWriterLevel(&out, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Loader offset tables (src/loader/offsets.cpp).
var (
	innoLoaderMagic5105 = []byte("rDlPtS\xcd\xe6\xd7\x7b\x0b\x2a") // 5.1.5+: in RCDATA 11111
	innoLoaderMagic4106 = []byte("rDlPtS07\x87eVx")                // 4.1.6 to 5.1.4: pointed to from offset 0x30
)

// innoTableSize is the 5.1.5+ table: magic, revision, total size, setup
// exe offset, its size and CRC, header and data offsets, table CRC.
const innoTableSize = 12 + 8*4

// innoPlaceholderTable is compiled into the loader and patched once the
// offsets are known; its size does not change, so neither does the PE.
func innoPlaceholderTable() []byte {
	t := make([]byte, innoTableSize)
	copy(t, innoLoaderMagic5105)
	return t
}

// assemble lays out loader + setup-0 + setup-1 and fills in the offset table.
func (ib *innoBuilt) assemble(stub []byte) ([]byte, error) {
	table := func(magic []byte, revision bool, total, header, data uint32) []byte {
		t := append([]byte(nil), magic...)
		if revision {
			t = binary.LittleEndian.AppendUint32(t, 1)
		}
		t = binary.LittleEndian.AppendUint32(t, total)
		t = binary.LittleEndian.AppendUint32(t, 0) // no separate setup program: nothing here runs
		t = binary.LittleEndian.AppendUint32(t, 0)
		t = binary.LittleEndian.AppendUint32(t, 0)
		t = binary.LittleEndian.AppendUint32(t, header)
		t = binary.LittleEndian.AppendUint32(t, data)
		return binary.LittleEndian.AppendUint32(t, crc32.ChecksumIEEE(t))
	}
	out := append([]byte(nil), stub...)
	if ib.v.atLeast(5, 1, 5) {
		at := bytes.Index(out, innoLoaderMagic5105)
		if at < 0 || bytes.Count(out, innoLoaderMagic5105) != 1 {
			return nil, fmt.Errorf("inno: loader holds the offset table %d times", bytes.Count(out, innoLoaderMagic5105))
		}
		header := uint32(len(out))
		data := header + uint32(len(ib.setup0))
		total := data + uint32(len(ib.setup1))
		copy(out[at:], table(innoLoaderMagic5105, true, total, header, data))
	} else {
		tableAt := uint32(len(out))
		header := tableAt + uint32(len(innoLoaderMagic4106)) + 7*4
		data := header + uint32(len(ib.setup0))
		total := data + uint32(len(ib.setup1))
		// "Inno", the table's offset and its complement sit in the DOS
		// header's reserved words at 0x30, before e_lfanew.
		if !bytes.Equal(out[0x30:0x3c], make([]byte, 12)) {
			return nil, fmt.Errorf("inno: DOS header reserved words are in use")
		}
		binary.LittleEndian.PutUint32(out[0x30:], 0x6f6e6e49)
		binary.LittleEndian.PutUint32(out[0x34:], tableAt)
		binary.LittleEndian.PutUint32(out[0x38:], ^tableAt)
		out = append(out, table(innoLoaderMagic4106, false, total, header, data)...)
	}
	out = append(out, ib.setup0...)
	return append(out, ib.setup1...), nil
}

// Ground truth: the installer's tables as docs/contracts.md names them.

// innoPath is the path innoextract gives a destination: constants lose
// their braces, "\" becomes "/".
func innoPath(dest string) string {
	p := strings.NewReplacer("{", "", "}", "", "\\", "/").Replace(dest)
	return strings.Trim(p, "/")
}

func splitDest(dest string) (dir, name string) {
	i := strings.LastIndex(dest, "\\")
	if i < 0 {
		return "", dest
	}
	return dest[:i], dest[i+1:]
}

// orderedFlags renders a flag set in the version's bit order.
func orderedFlags(list []innoFlag, v innoVer, set []string) string {
	want := map[string]bool{}
	for _, s := range set {
		want[s] = true
	}
	var out []string
	for _, f := range list {
		if f.in(v) && want[f.name] {
			out = append(out, f.name)
		}
	}
	return strings.Join(out, " ")
}

// groundTruth is what a reader of setup-0 must find: the tables of
// docs/contracts.md (Inno Setup row).
func (s *InnoSetup) groundTruth() (*InstallerGT, error) {
	v, err := s.version()
	if err != nil {
		return nil, err
	}
	gt := &InstallerGT{Format: "inno", Version: v.String(), Tables: map[string]TableGT{}}
	gt.Tables["setup"] = TableGT{Columns: []string{"key", "value"}, Rows: [][]string{
		{"inno_version", v.String()}, {"app_name", s.AppName}, {"app_versioned_name", s.appVerName()},
		{"app_version", s.AppVersion}, {"app_publisher", s.AppPublisher}, {"app_id", s.AppID},
		{"default_dir_name", s.DefaultDirName}, {"default_group_name", s.DefaultGroupName},
		{"compression", map[string]string{"zlib": "zlib", "lzma": "lzma1"}[s.Compression]},
		{"languages", s.LanguageName},
	}}
	files := TableGT{Columns: []string{"path", "destination", "dir", "name", "source", "flags", "size", "checksum"}}
	for _, f := range s.Files {
		dir, name := splitDest(f.Dest)
		var sum string
		if v.atLeast(5, 3, 9) {
			h := sha1.Sum(f.Data)
			sum = "sha1:" + hex.EncodeToString(h[:])
		} else {
			h := md5.Sum(f.Data)
			sum = "md5:" + hex.EncodeToString(h[:])
		}
		files.Rows = append(files.Rows, []string{innoPath(f.Dest), f.Dest, dir, name, "",
			orderedFlags(innoFileFlags, v, f.Flags), fmt.Sprint(len(f.Data)), sum})
	}
	gt.Tables["files"] = files
	dirs := TableGT{Columns: []string{"name", "flags"}}
	for _, d := range s.Dirs {
		dirs.Rows = append(dirs.Rows, []string{d.Name, orderedFlags(innoDirFlags, v, d.Flags)})
	}
	gt.Tables["dirs"] = dirs
	reg := TableGT{Columns: []string{"root", "subkey", "value_name", "type", "data", "flags"}}
	for _, r := range s.Registry {
		reg.Rows = append(reg.Rows, []string{r.Root, r.Subkey, r.ValueName, r.ValueType, r.ValueData, orderedFlags(innoRegistryFlags, v, r.Flags)})
	}
	gt.Tables["registry"] = reg
	run := TableGT{Columns: []string{"filename", "parameters", "working_dir", "wait", "show_command", "flags", "description", "status_message"}}
	for _, r := range s.Run {
		run.Rows = append(run.Rows, []string{r.Filename, r.Parameters, r.WorkingDir, r.Wait, fmt.Sprint(r.ShowCmd),
			orderedFlags(innoRunFlags, v, r.Flags), r.Description, r.StatusMsg})
	}
	gt.Tables["run"] = run
	icons := TableGT{Columns: []string{"name", "filename", "parameters", "working_dir", "icon_file", "comment", "flags"}}
	for _, ic := range s.Icons {
		icons.Rows = append(icons.Rows, []string{ic.Name, ic.Filename, ic.Parameters, ic.WorkingDir, ic.IconFile, ic.Comment,
			orderedFlags(innoIconFlags, v, ic.Flags)})
	}
	gt.Tables["icons"] = icons
	return gt, nil
}

// knownFlags keeps the names the version has.
func knownFlags(list []innoFlag, v innoVer, names ...string) []string {
	var out []string
	for _, n := range names {
		for _, f := range list {
			if f.name == n && f.in(v) {
				out = append(out, n)
			}
		}
	}
	return out
}
