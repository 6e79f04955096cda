package script

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/tomscan/tomscan/internal/artifact"
)

// Result is a decoded installer script.
type Result struct {
	Method    Method
	Solid     bool
	Layout    Layout
	Unicode   bool
	Script    string
	Files     [][]string // name, output dir, path, data offset
	Exec      [][]string // command, kind
	Registry  [][]string // op, root, key, value name, value
	Shortcuts [][]string // link, target, parameters, icon
	// Uninstallers are the paths WriteUninstaller writes: 7z lists each as
	// a file it rebuilds from the installer's stub and the uninstaller's
	// data; they are not in Files.
	Uninstallers [][]string
}

// Installer renders r as an artifact.Installer.
func (r *Result) Installer() *artifact.Installer {
	return &artifact.Installer{Format: "nsis", Script: r.Script, Tables: map[string]artifact.Table{
		"files":     {Columns: []string{"name", "output_dir", "path", "data_offset"}, Rows: r.Files},
		"exec":      {Columns: []string{"command", "kind"}, Rows: r.Exec},
		"registry":  {Columns: []string{"op", "root", "key", "value_name", "value"}, Rows: r.Registry},
		"shortcuts": {Columns: []string{"link", "target", "parameters", "icon"}, Rows: r.Shortcuts},
	}}
}

// Decode finds, decompresses and decodes the installer's header.
func Decode(ctx context.Context, r io.ReaderAt, size int64) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil { // belt and braces: malformed input never panics the scan
			res, err = nil, fmt.Errorf("nsis script: malformed header: %v", p)
		}
	}()
	fh, err := Find(ctx, r, size)
	if err != nil {
		return nil, err
	}
	hdr, layout, err := readHeader(ctx, r, size, fh)
	if err != nil {
		return nil, err
	}
	res, err = Parse(ctx, hdr)
	if err != nil {
		return nil, err
	}
	res.Method, res.Solid, res.Layout = layout.Method, layout.Solid, layout
	return res, nil
}

const (
	nbPages = iota
	nbSections
	nbEntries
	nbStrings
	nbLangTables
	nbCtlColors
	nbBgFont
	nbData
	blocksNum
)

type block struct{ off, num int64 }

type decoder struct {
	ctx      context.Context
	h        []byte
	blocks   [blocksNum]block
	strs     []byte
	unicode  bool
	spent    int64  // bytes of decoded strings so far
	ansi3    bool   // ANSI strings with NSIS 3's codes (1..4), not NSIS 2's (252..255)
	lang     []byte // first language table
	codepage int    // of ANSI strings, from the first language table's LANGID
	entries  []byte
	nEntries int
}

// Parse decodes a decompressed header.
func Parse(ctx context.Context, h []byte) (*Result, error) {
	d := &decoder{ctx: ctx, h: h}
	if err := d.readBlocks(); err != nil {
		return nil, err
	}
	return d.render()
}

func (d *decoder) readBlocks() error {
	size := int64(len(d.h))
	// 32-bit block headers are {int offset; int num}; amd64 ones carry a
	// pointer-sized offset, 12 bytes packed.
	for _, bs := range []int64{8, 12} {
		if 4+bs*blocksNum > size {
			continue
		}
		ok := true
		var last int64
		for i := range blocksNum {
			p := d.h[4+int64(i)*bs:]
			b := block{off: int64(binary.LittleEndian.Uint32(p)), num: int64(binary.LittleEndian.Uint32(p[bs-4:]))}
			if bs == 12 && binary.LittleEndian.Uint32(p[4:]) != 0 {
				ok = false
			}
			if b.off > size || b.off < last && b.off != 0 && i != nbData || b.num > 1<<30 {
				ok = false
			}
			if i != nbData && b.off != 0 {
				last = b.off
			}
			d.blocks[i] = b
		}
		e, s := d.blocks[nbEntries], d.blocks[nbStrings]
		if ok && e.num <= MaxEntries && e.off+e.num*28 <= s.off && s.off <= d.blocks[nbLangTables].off {
			d.entries = d.h[e.off : e.off+e.num*28]
			d.nEntries = int(e.num)
			d.strs = d.h[s.off:d.blocks[nbLangTables].off]
			d.unicode = looksUnicode(d.strs)
			d.ansi3 = !d.unicode && bytes.ContainsAny(d.strs, "\x01\x02\x03\x04")
			lt := d.blocks[nbLangTables]
			if lt.num > 0 {
				end := d.blocks[nbCtlColors].off
				if end <= lt.off || end > size {
					end = size
				}
				per := (end - lt.off) / lt.num
				if per > 10 {
					d.lang = d.h[lt.off : lt.off+per]
				}
			}
			d.codepage = 1252
			if len(d.lang) >= 2 {
				d.codepage = codepageOf(binary.LittleEndian.Uint16(d.lang))
			}
			return nil
		}
	}
	return errors.New("nsis script: header blocks do not fit the header")
}

// looksUnicode: UTF-16LE text has mostly zero odd bytes.
func looksUnicode(s []byte) bool {
	if len(s) < 4 {
		return true
	}
	n := min(len(s), 512) &^ 1
	zeros := 0
	for i := 1; i < n; i += 2 {
		if s[i] == 0 {
			zeros++
		}
	}
	return zeros*4 >= n/2*3 // three quarters of the characters
}

func (d *decoder) entry(i int) (op int, p [6]int32) {
	b := d.entries[i*28:]
	op = int(int32(binary.LittleEndian.Uint32(b)))
	for k := range p {
		p[k] = int32(binary.LittleEndian.Uint32(b[4+4*k:]))
	}
	return
}

// Special codes: NSIS 3 Unicode (1..4), the older Unicode fork
// (0xE000..0xE003) and ANSI (252..255).
const (
	nLang, nShell, nVar, nSkip = 1, 2, 3, 4
	uSkip, uVar, uShell, uLang = 0xE000, 0xE001, 0xE002, 0xE003
	aSkip, aVar, aShell, aLang = 252, 253, 254, 255
)

// str decodes string pointer p (negative: language string), within the
// budget of decoded text for the whole header.
func (d *decoder) str(p int32) string {
	if d.spent > maxDecoded {
		return "<decoded text limit reached>"
	}
	s := d.str1(p)
	d.spent += int64(len(s)) + 16
	return s
}

func (d *decoder) str1(p int32) string {
	if p < 0 {
		idx := -(int64(p) + 1)
		o := 10 + idx*4
		if d.lang == nil || o+4 > int64(len(d.lang)) {
			return fmt.Sprintf("$(LSTR_%d)", idx)
		}
		p = int32(binary.LittleEndian.Uint32(d.lang[o:]))
		if p < 0 {
			return fmt.Sprintf("$(LSTR_%d)", idx)
		}
	}
	return d.strAt(int64(p), 0)
}

func (d *decoder) strAt(p int64, depth int) string {
	var sb strings.Builder
	if d.unicode {
		for i := p * 2; i+1 < int64(len(d.strs)) && sb.Len() < maxString; i += 2 {
			c := binary.LittleEndian.Uint16(d.strs[i:])
			if c == 0 {
				break
			}
			if c >= nLang && c <= nSkip {
				c = map[uint16]uint16{nLang: uLang, nShell: uShell, nVar: uVar, nSkip: uSkip}[c]
			}
			if c >= uSkip && c <= uLang {
				if i+3 >= int64(len(d.strs)) {
					break
				}
				i += 2
				n := binary.LittleEndian.Uint16(d.strs[i:])
				switch c {
				case uSkip:
					sb.WriteRune(rune(n))
				case uVar:
					sb.WriteString(varName(decodeShort(n)))
				case uLang:
					sb.WriteString(d.langString(decodeShort(n), depth))
				case uShell:
					sb.WriteString(d.shell(byte(n), byte(n>>8), depth))
				}
				continue
			}
			if utf16.IsSurrogate(rune(c)) && i+3 < int64(len(d.strs)) {
				c2 := binary.LittleEndian.Uint16(d.strs[i+2:])
				if r := utf16.DecodeRune(rune(c), rune(c2)); r != 0xFFFD {
					sb.WriteRune(r)
					i += 2
					continue
				}
			}
			sb.WriteRune(rune(c))
		}
		return sb.String()
	}
	// Literal bytes are gathered and decoded in the installer's code page
	// as one run, so a double-byte character is never split.
	var lit []byte
	flush := func() {
		sb.WriteString(ansiText(lit, d.codepage))
		lit = lit[:0]
	}
	for i := p; i < int64(len(d.strs)) && sb.Len()+len(lit) < maxString; i++ {
		c := d.strs[i]
		if c == 0 {
			break
		}
		if d.ansi3 && c >= nLang && c <= nSkip {
			c = map[byte]byte{nLang: aLang, nShell: aShell, nVar: aVar, nSkip: aSkip}[c]
		} else if d.ansi3 && c >= aSkip {
			lit = append(lit, c)
			continue
		}
		if c >= aSkip {
			if c == aSkip {
				if i+1 < int64(len(d.strs)) {
					i++
					lit = append(lit, d.strs[i])
				}
				continue
			}
			if i+2 >= int64(len(d.strs)) {
				break
			}
			b0, b1 := d.strs[i+1], d.strs[i+2]
			i += 2
			n := int(b0&0x7F) | int(b1&0x7F)<<7
			flush()
			switch c {
			case aVar:
				sb.WriteString(varName(n))
			case aLang:
				sb.WriteString(d.langString(n, depth))
			case aShell:
				sb.WriteString(d.shell(b0, b1, depth))
			}
			continue
		}
		lit = append(lit, c)
	}
	flush()
	return sb.String()
}

// decodeShort undoes CODE_SHORT: 7 bits in each byte, high bits set.
func decodeShort(n uint16) int { return int(n&0x7F) | int(n>>8&0x7F)<<7 }

// langString resolves language string idx in the first language table.
func (d *decoder) langString(idx, depth int) string {
	o := 10 + int64(idx)*4
	if depth > 0 || d.lang == nil || o+4 > int64(len(d.lang)) {
		return fmt.Sprintf("$(LSTR_%d)", idx)
	}
	p := int32(binary.LittleEndian.Uint32(d.lang[o:]))
	if p < 0 {
		return fmt.Sprintf("$(LSTR_%d)", idx)
	}
	return d.strAt(int64(p), depth+1)
}

// shell names a shell folder code: two CSIDLs (all users, current user),
// or with the high bit a registry value under CurrentVersion.
func (d *decoder) shell(a, b byte, depth int) string {
	if a&0x80 != 0 && depth == 0 {
		switch name := d.strAt(int64(a&0x3F), depth+1); name {
		case "ProgramFilesDir":
			return "$PROGRAMFILES"
		case "CommonFilesDir":
			return "$COMMONFILES"
		}
		return fmt.Sprintf("$_SHELL_REG_%d_", a&0x3F)
	}
	if n, ok := csidl[b]; ok {
		return n
	}
	if n, ok := csidl[a]; ok {
		return n
	}
	return fmt.Sprintf("$_SHELL_%d_%d_", a, b)
}

var csidl = map[byte]string{
	0x00: "$DESKTOP", 0x02: "$SMPROGRAMS", 0x05: "$DOCUMENTS", 0x06: "$FAVORITES", 0x07: "$SMSTARTUP",
	0x08: "$RECENT", 0x09: "$SENDTO", 0x0B: "$STARTMENU", 0x0D: "$MUSIC", 0x0E: "$VIDEOS",
	0x10: "$DESKTOP", 0x13: "$NETHOOD", 0x14: "$FONTS", 0x15: "$TEMPLATES", 0x16: "$STARTMENU",
	0x17: "$SMPROGRAMS", 0x18: "$SMSTARTUP", 0x19: "$DESKTOP", 0x1A: "$APPDATA", 0x1B: "$PRINTHOOD",
	0x1C: "$LOCALAPPDATA", 0x20: "$INTERNET_CACHE", 0x21: "$COOKIES", 0x22: "$HISTORY", 0x23: "$APPDATA",
	0x24: "$WINDIR", 0x25: "$SYSDIR", 0x26: "$PROGRAMFILES", 0x27: "$PICTURES", 0x28: "$PROFILE",
	0x2B: "$COMMONFILES", 0x2E: "$TEMPLATES", 0x2F: "$ADMINTOOLS", 0x30: "$ADMINTOOLS", 0x35: "$MUSIC",
	0x36: "$PICTURES", 0x37: "$VIDEOS", 0x38: "$RESOURCES", 0x39: "$RESOURCES_LOCALIZED", 0x3B: "$CDBURN_AREA",
}

var builtinVars = []string{"$CMDLINE", "$INSTDIR", "$OUTDIR", "$EXEDIR", "$LANGUAGE", "$TEMP", "$PLUGINSDIR",
	"$EXEPATH", "$EXEFILE", "$HWNDPARENT", "$_CLICK", "$_OUTDIR"}

func varName(n int) string {
	switch {
	case n < 10:
		return "$" + strconv.Itoa(n)
	case n < 20:
		return "$R" + strconv.Itoa(n-10)
	case n < 20+len(builtinVars):
		return builtinVars[n-20]
	}
	return "$_" + strconv.Itoa(n-20-len(builtinVars)) + "_"
}

var roots = map[uint32]string{
	0: "SHCTX", 0x80000000: "HKCR", 0x80000001: "HKCU", 0x80000002: "HKLM", 0x80000003: "HKU",
	0x80000004: "HKPD", 0x80000005: "HKCC", 0x80000006: "HKDD",
}

func rootName(v int32) string {
	u := uint32(v)
	if n, ok := roots[u]; ok {
		return n
	}
	// NSIS 3 marks the registry view in bits above the predefined key.
	if n, ok := roots[u&^0x0F000000]; ok {
		return fmt.Sprintf("%s/view%#x", n, u&0x0F000000)
	}
	return fmt.Sprintf("%#x", u)
}
