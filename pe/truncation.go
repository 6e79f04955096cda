package pe

import (
	"encoding/binary"
	"fmt"
)

// Truncated tells, from the headers alone, whether the file ends before
// the bytes its headers place in it: a section's raw data or the
// Authenticode certificate table (whose directory entry is a file offset).
// It returns "" for a whole file (or one whose headers it cannot read:
// Analyze reports those), else what is missing. saferwall/pe parses a PE cut
// short without complaint, so a PE that lost its tail would otherwise be
// reported as whole.
func Truncated(blob []byte) string {
	le := binary.LittleEndian
	size := int64(len(blob))
	if size < 0x40 {
		return ""
	}
	e := int64(le.Uint32(blob[0x3c:]))
	if e+24 > size || string(blob[e:e+4]) != "PE\x00\x00" {
		return ""
	}
	sections := int64(le.Uint16(blob[e+6:]))
	optSize := int64(le.Uint16(blob[e+20:]))
	opt := e + 24
	var end int64
	var what string
	if opt+2 <= size {
		dirs := opt + 96 // PE32
		if le.Uint16(blob[opt:]) == 0x20b {
			dirs = opt + 112 // PE32+
		}
		if dirs-4 >= opt && dirs <= opt+optSize && dirs <= size {
			n := int64(le.Uint32(blob[dirs-4:]))
			if n > 4 && dirs+5*8 <= opt+optSize && dirs+5*8 <= size {
				off, sz := int64(le.Uint32(blob[dirs+32:])), int64(le.Uint32(blob[dirs+36:]))
				if sz > 0 && off+sz > end {
					end, what = off+sz, "the certificate table"
				}
			}
		}
	}
	table := opt + optSize
	for i := int64(0); i < sections && i < 96; i++ {
		s := table + 40*i
		if s+40 > size {
			return fmt.Sprintf("the file ends inside the section table (section %d of %d)", i, sections)
		}
		raw, ptr := int64(le.Uint32(blob[s+16:])), int64(le.Uint32(blob[s+20:]))
		if raw > 0 && ptr+raw > end {
			end, what = ptr+raw, fmt.Sprintf("section %q", trimNUL(blob[s:s+8]))
		}
	}
	if end > size {
		return fmt.Sprintf("%s ends at %d but the file has %d bytes (%d missing)", what, end, size, end-size)
	}
	return ""
}

func trimNUL(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
