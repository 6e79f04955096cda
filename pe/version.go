package pe

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// VersionInfo is an RT_VERSION resource, decoded from its bytes by us:
// saferwall/pe v1.6.5 cuts CJK values and merges languages.
type VersionInfo struct {
	FileVersion    string         `json:"file_version,omitempty"`    // VS_FIXEDFILEINFO, "a.b.c.d"
	ProductVersion string         `json:"product_version,omitempty"` // VS_FIXEDFILEINFO
	FileFlags      uint32         `json:"file_flags,omitempty"`
	FileOS         uint32         `json:"file_os,omitempty"`
	FileType       uint32         `json:"file_type,omitempty"`
	Tables         []VersionTable `json:"tables,omitempty"`       // one per StringFileInfo table, file order
	Translations   []string       `json:"translations,omitempty"` // VarFileInfo, "0804:04b0"
}

// VersionTable is one StringFileInfo language/code-page table.
type VersionTable struct {
	Key      string          `json:"key"`           // "080404b0"
	Resource uint32          `json:"resource_lang"` // LANGID of the RT_VERSION leaf it came from
	Strings  []VersionString `json:"strings"`       // file order
}

// VersionString is one key/value pair, e.g. CompanyName = "TOM Online".
type VersionString struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Get returns the first value of key over all tables, "" when absent.
func (v *VersionInfo) Get(key string) string {
	if v == nil {
		return ""
	}
	for _, t := range v.Tables {
		for _, s := range t.Strings {
			if s.Key == key {
				return s.Value
			}
		}
	}
	return ""
}

// versionBlock is one node of the VS_VERSIONINFO tree: every node has the
// same header (wLength, wValueLength, wType, szKey) followed by a value and
// children, each part aligned to 4 bytes from the start of the resource.
type versionBlock struct {
	key       string
	valueType uint16
	value     []byte // from the aligned value start to the first child (or block end)
	valueLen  uint16 // wValueLength as stored (WORDs for text, bytes for binary)
	children  []versionBlock
}

const maxVersionDepth = 6
const maxVersionChildren = 4096

// parseVersionBlock decodes the block at off of res (off is relative to the
// resource start, so alignment is computed on it). It returns the block and
// the offset just past it.
func parseVersionBlock(res []byte, off, depth int) (versionBlock, int, error) {
	var b versionBlock
	if off+6 > len(res) {
		return b, 0, fmt.Errorf("version: header at %d past the end", off)
	}
	length := int(binary.LittleEndian.Uint16(res[off:]))
	b.valueLen = binary.LittleEndian.Uint16(res[off+2:])
	b.valueType = binary.LittleEndian.Uint16(res[off+4:])
	if length < 6 {
		return b, 0, fmt.Errorf("version: block at %d claims length %d", off, length)
	}
	end := off + length
	if end > len(res) {
		end = len(res) // tolerate a length that runs past the resource: read what is there
	}
	p := off + 6
	var key []uint16
	for p+2 <= end {
		c := binary.LittleEndian.Uint16(res[p:])
		p += 2
		if c == 0 {
			break
		}
		key = append(key, c)
	}
	b.key = string(utf16.Decode(key))
	p = align4(p)
	// The value ends where the children begin. Its declared length is in
	// WORDs for text and bytes for binary, and compilers disagree on which,
	// so bound it by what is declared (either unit) and the block end.
	valEnd := end
	if b.valueLen > 0 {
		n := int(b.valueLen)
		if b.valueType == 1 {
			n *= 2
		}
		if p+n < valEnd {
			valEnd = p + n
		}
	} else {
		valEnd = p
	}
	if p > end {
		p = end
	}
	if valEnd < p {
		valEnd = p
	}
	b.value = res[p:valEnd]
	if depth >= maxVersionDepth {
		return b, off + length, nil
	}
	c := align4(valEnd)
	for c+6 <= end && len(b.children) < maxVersionChildren {
		child, next, err := parseVersionBlock(res, c, depth+1)
		if err != nil {
			break
		}
		b.children = append(b.children, child)
		if next <= c {
			break
		}
		c = align4(next)
	}
	return b, off + length, nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// utf16Z decodes UTF-16LE up to the first NUL code unit (at an even offset:
// this is where saferwall goes wrong with CJK text).
func utf16Z(b []byte) string {
	var u []uint16
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// decodeVersion decodes one RT_VERSION leaf into v (tables are appended).
func decodeVersion(res []byte, lang uint32, v *VersionInfo) error {
	root, _, err := parseVersionBlock(res, 0, 0)
	if err != nil {
		return err
	}
	if root.key != "VS_VERSION_INFO" {
		return fmt.Errorf("version: root key %q, want VS_VERSION_INFO", root.key)
	}
	if fx := root.value; len(fx) >= 52 && binary.LittleEndian.Uint32(fx) == 0xFEEF04BD {
		le := binary.LittleEndian
		if v.FileVersion == "" {
			v.FileVersion = fourPart(le.Uint32(fx[8:]), le.Uint32(fx[12:]))
			v.ProductVersion = fourPart(le.Uint32(fx[16:]), le.Uint32(fx[20:]))
			v.FileFlags = le.Uint32(fx[24:]) & le.Uint32(fx[28:])
			v.FileOS = le.Uint32(fx[32:])
			v.FileType = le.Uint32(fx[36:])
		}
	}
	for _, c := range root.children {
		switch c.key {
		case "StringFileInfo":
			for _, t := range c.children {
				tab := VersionTable{Key: t.key, Resource: lang, Strings: []VersionString{}}
				for _, s := range t.children {
					tab.Strings = append(tab.Strings, VersionString{Key: s.key, Value: utf16Z(s.value)})
				}
				v.Tables = append(v.Tables, tab)
			}
		case "VarFileInfo":
			for _, vr := range c.children {
				if vr.key != "Translation" {
					continue
				}
				for i := 0; i+4 <= len(vr.value); i += 4 {
					v.Translations = append(v.Translations, fmt.Sprintf("%04x:%04x",
						binary.LittleEndian.Uint16(vr.value[i:]), binary.LittleEndian.Uint16(vr.value[i+2:])))
				}
			}
		}
	}
	return nil
}

func fourPart(ms, ls uint32) string {
	return fmt.Sprintf("%d.%d.%d.%d", ms>>16, ms&0xffff, ls>>16, ls&0xffff)
}
