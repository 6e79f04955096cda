package pe

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Caps on what one PE's resources can add to a report.
const (
	maxTableStrings  = 20000
	maxDialogs       = 512
	maxDialogItems   = 1024
	maxManifestBytes = 64 << 10
	maxTextUnits     = 4096 // UTF-16 units in one dialog text
)

// TableString is one STRINGTABLE entry.
type TableString struct {
	ID    uint32 `json:"id"`
	Lang  uint32 `json:"lang"`
	Value string `json:"value"`
}

// Dialog is one DIALOG resource: what an analyst reads in the About box.
type Dialog struct {
	Name     string          `json:"name"`
	Lang     uint32          `json:"lang"`
	Extended bool            `json:"extended"` // DLGTEMPLATEEX
	Caption  string          `json:"caption,omitempty"`
	Font     string          `json:"font,omitempty"`
	Controls []DialogControl `json:"controls,omitempty"`
}

// DialogControl is one item of a dialog template.
type DialogControl struct {
	ID    int32  `json:"id"`    // -1 for IDC_STATIC
	Class string `json:"class"` // "BUTTON", "STATIC", ... or the class name
	Text  string `json:"text,omitempty"`
}

// decodeResources fills the Summary fields decoded from resource leaves.
// A leaf that does not decode becomes an anomaly, never an error: the rest
// of the summary stands.
func decodeResources(ctx context.Context, s *Summary, blob []byte) {
	var v VersionInfo
	sawVersion := false
	for _, r := range s.Resources {
		if ctx.Err() != nil {
			return
		}
		data := r.Bytes(blob)
		if data == nil || r.TypeID == 0 {
			continue
		}
		switch r.TypeID {
		case rtVersion:
			sawVersion = true
			if err := decodeVersion(data, r.Lang, &v); err != nil {
				s.Anomalies = append(s.Anomalies, fmt.Sprintf("%s: %v", r.NodeName(), err))
			}
		case rtString:
			if len(s.StringTable) < maxTableStrings {
				s.StringTable = append(s.StringTable, decodeStringBlock(r, data)...)
			}
		case rtDialog:
			if len(s.Dialogs) >= maxDialogs {
				continue
			}
			d, err := decodeDialog(data)
			if err != nil {
				s.Anomalies = append(s.Anomalies, fmt.Sprintf("%s: %v", r.NodeName(), err))
				continue
			}
			d.Name, d.Lang = r.Name, r.Lang
			s.Dialogs = append(s.Dialogs, d)
		case rtManifest:
			if s.Manifest == "" {
				s.Manifest = manifestText(data)
			}
		}
	}
	if sawVersion {
		s.Version = &v
	}
}

// decodeStringBlock decodes one RT_STRING leaf: 16 length-prefixed UTF-16
// strings, the block named n holding ids (n-1)*16 .. (n-1)*16+15.
func decodeStringBlock(r Resource, data []byte) []TableString {
	block, err := strconv.ParseUint(r.Name, 10, 32)
	if err != nil || block == 0 {
		return nil // named string blocks do not exist in well-formed files
	}
	var out []TableString
	p := 0
	for i := 0; i < 16 && p+2 <= len(data); i++ {
		n := int(binary.LittleEndian.Uint16(data[p:]))
		p += 2
		end := p + 2*n
		if end > len(data) {
			end = len(data) &^ 1
			if end < p {
				end = p
			}
		}
		if n > 0 {
			out = append(out, TableString{ID: uint32(block-1)*16 + uint32(i), Lang: r.Lang, Value: decodeUTF16(data[p:end])})
		}
		p = end
	}
	return out
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// dlgReader reads a dialog template with bounds checks; the first failure
// sticks so callers check err once.
type dlgReader struct {
	b   []byte
	p   int
	err error
}

func (r *dlgReader) u16() uint16 {
	if r.err != nil || r.p+2 > len(r.b) {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b[r.p:])
	r.p += 2
	return v
}

func (r *dlgReader) u32() uint32 {
	lo := uint32(r.u16())
	return lo | uint32(r.u16())<<16
}

func (r *dlgReader) skip(n int) {
	if r.err != nil || r.p+n > len(r.b) {
		r.fail()
		return
	}
	r.p += n
}

func (r *dlgReader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("dialog: truncated at byte %d", r.p)
	}
}

func (r *dlgReader) align4() { r.p = align4(r.p) }

// sz reads a NUL-terminated UTF-16 string, capped at maxTextUnits.
func (r *dlgReader) sz() string {
	var u []uint16
	for r.err == nil {
		c := r.u16()
		if c == 0 || r.err != nil {
			break
		}
		if len(u) < maxTextUnits {
			u = append(u, c)
		}
	}
	return string(utf16.Decode(u))
}

// szOrOrd reads the sz_Or_Ord of dialog templates: 0 (none), 0xFFFF and an
// ordinal, or a string. The ordinal is returned as "#n".
func (r *dlgReader) szOrOrd() (string, uint16, bool) {
	if r.p+2 > len(r.b) {
		r.fail()
		return "", 0, false
	}
	switch binary.LittleEndian.Uint16(r.b[r.p:]) {
	case 0:
		r.p += 2
		return "", 0, false
	case 0xFFFF:
		r.p += 2
		o := r.u16()
		return "#" + strconv.Itoa(int(o)), o, true
	}
	return r.sz(), 0, false
}

var dialogClassNames = map[uint16]string{0x80: "BUTTON", 0x81: "EDIT", 0x82: "STATIC", 0x83: "LISTBOX", 0x84: "SCROLLBAR", 0x85: "COMBOBOX"}

const dsSetFont = 0x40

// decodeDialog decodes DLGTEMPLATE or DLGTEMPLATEEX (told apart by the
// 0x0001 0xFFFF signature) with its items.
func decodeDialog(b []byte) (Dialog, error) {
	r := &dlgReader{b: b}
	var d Dialog
	var style uint32
	var count int
	if len(b) >= 4 && binary.LittleEndian.Uint16(b) == 1 && binary.LittleEndian.Uint16(b[2:]) == 0xFFFF {
		d.Extended = true
		r.skip(4 + 4 + 4) // dlgVer, signature, helpID, exStyle
		style = r.u32()
		count = int(r.u16())
		r.skip(8)
	} else {
		style = r.u32()
		r.skip(4) // exStyle
		count = int(r.u16())
		r.skip(8)
	}
	r.szOrOrd() // menu
	r.szOrOrd() // class
	d.Caption = r.sz()
	if style&dsSetFont != 0 {
		r.skip(2) // point size
		if d.Extended {
			r.skip(4) // weight, italic, charset
		}
		d.Font = r.sz()
	}
	if r.err != nil {
		return d, r.err
	}
	if count > maxDialogItems {
		count = maxDialogItems
	}
	for i := 0; i < count; i++ {
		r.align4()
		var c DialogControl
		if d.Extended {
			r.skip(12) // helpID, exStyle, style
			r.skip(8)
			c.ID = int32(r.u32())
		} else {
			r.skip(8) // style, exStyle
			r.skip(8)
			c.ID = int32(int16(r.u16()))
		}
		cls, ord, isOrd := r.szOrOrd()
		if isOrd {
			if n, ok := dialogClassNames[ord]; ok {
				cls = n
			}
		}
		c.Class = cls
		c.Text, _, _ = r.szOrOrd()
		extra := int(r.u16())
		r.skip(extra)
		if r.err != nil {
			// Keep the controls read so far: a template cut short still
			// tells the analyst what its first controls say.
			break
		}
		d.Controls = append(d.Controls, c)
	}
	return d, nil
}

// manifestText returns a manifest resource as text: UTF-8 (BOM dropped) or
// UTF-16LE with BOM, capped, invalid bytes replaced.
func manifestText(b []byte) string {
	if len(b) > maxManifestBytes {
		b = b[:maxManifestBytes]
	}
	var s string
	switch {
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		s = decodeUTF16(b[2 : 2+(len(b)-2)&^1])
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		s = string(b[3:])
	default:
		s = string(b)
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.TrimRight(s, "\x00 \r\n\t")
}
