package macho

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tomscan/tomscan/pe"
)

// Encoding of UTF-8 text that is not plain ASCII (Mach-O C strings are UTF-8).
const EncUTF8 = "utf8"

// maxSectionStrings caps the strings read from one section.
const maxSectionStrings = 1 << 17

// SectionStrings reads the strings a Mach-O declares as strings: the C
// strings of __cstring, __objc_methname and __objc_classname (UTF-8, NUL
// separated), the UTF-16 literals of __ustring, and every CFString of
// __cfstring (its pointer resolved to the bytes it names, 8-bit or UTF-16).
// The byte scan of pe.ExtractStrings finds ASCII and UTF-16 runs anywhere;
// these add non-ASCII UTF-8 text (Chinese UI strings in an iOS binary) and
// say which section each string comes from. Nothing inside an encrypted
// range (cryptid != 0) is read. Offsets are in the file.
func SectionStrings(ctx context.Context, b []byte, sum *Summary, minLen int) []pe.String {
	if sum == nil {
		return nil
	}
	if minLen < 1 {
		minLen = 4
	}
	var out []pe.String
	for i := range sum.Slices {
		sl := &sum.Slices[i]
		if sl.Offset < 0 || sl.Offset+sl.Size > int64(len(b)) {
			continue
		}
		img := b[sl.Offset : sl.Offset+sl.Size]
		encStart, encEnd, enc := sl.EncryptedRange()
		skip := func(off, n int64) bool {
			return enc && off < encEnd && encStart < off+n
		}
		bo := binary.ByteOrder(binary.LittleEndian)
		if sl.BigEndian {
			bo = binary.BigEndian
		}
		for _, seg := range sl.Segments {
			for _, sec := range seg.Sections {
				if ctx.Err() != nil {
					return out
				}
				data, ok := sectionBytes(img, sec.Offset, sec.Size, sec.Flags)
				if !ok {
					continue
				}
				where := fmt.Sprintf("%s:%s,%s", sl.CPU, sec.Segment, sec.Name)
				base := sl.Offset + int64(sec.Offset)
				switch sec.Name {
				case "__cstring", "__objc_methname", "__objc_classname":
					out = append(out, cStrings(data, base, where, minLen, skip)...)
				case "__ustring":
					out = append(out, uStrings(data, base, where, minLen, skip)...)
				case "__cfstring":
					out = append(out, cfStrings(img, data, sl, bo, where, minLen, skip)...)
				}
			}
		}
	}
	return out
}

func cStrings(data []byte, base int64, where string, minLen int, skip func(int64, int64) bool) []pe.String {
	var out []pe.String
	for p := 0; p < len(data) && len(out) < maxSectionStrings; {
		n := bytes.IndexByte(data[p:], 0)
		if n < 0 {
			n = len(data) - p
		}
		if s := data[p : p+n]; utf8.RuneCount(s) >= minLen && !skip(base+int64(p), int64(n)) {
			if v, enc, ok := textOf(s); ok {
				out = append(out, pe.String{Offset: base + int64(p), Encoding: enc, Value: v, Where: where})
			}
		}
		p += n + 1
	}
	return out
}

// textOf accepts valid UTF-8 without control characters (tab and newlines aside).
func textOf(s []byte) (string, string, bool) {
	if len(s) > 4096 || !utf8.Valid(s) {
		return "", "", false
	}
	ascii := true
	for _, r := range string(s) {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f || r == utf8.RuneError {
			return "", "", false
		}
		if r >= 0x80 {
			ascii = false
		}
	}
	if ascii {
		return string(s), pe.EncASCII, true
	}
	return string(s), EncUTF8, true
}

func uStrings(data []byte, base int64, where string, minLen int, skip func(int64, int64) bool) []pe.String {
	var out []pe.String
	start := 0
	for p := 0; p+1 < len(data)+1 && len(out) < maxSectionStrings; p += 2 {
		if p+1 < len(data) && (data[p] != 0 || data[p+1] != 0) {
			continue
		}
		if s, ok := utf16Text(data[start:min(p, len(data))]); ok && len([]rune(s)) >= minLen && !skip(base+int64(start), int64(p-start)) {
			out = append(out, pe.String{Offset: base + int64(start), Encoding: pe.EncUTF16LE, Value: s, Where: where})
		}
		start = p + 2
		if p+1 >= len(data) {
			break
		}
	}
	return out
}

func utf16Text(b []byte) (string, bool) {
	if len(b) < 2 || len(b)%2 != 0 || len(b) > 8192 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	s := string(utf16.Decode(u))
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == utf8.RuneError {
			return "", false
		}
	}
	return s, true
}

// CFString flags (CoreFoundation): 0x7c8 8-bit, 0x7d0 UTF-16.
const cfStringUTF16 = 0x7d0

// cfStrings resolves each __cfstring entry {isa, flags, data, length}.
// Pointers may be plain addresses or dyld chained-fixup rebases whose low
// 36 bits hold the target (an address, or an offset from the image base).
func cfStrings(img, data []byte, sl *Slice, bo binary.ByteOrder, where string, minLen int, skip func(int64, int64) bool) []pe.String {
	ptr := 8
	if sl.Bits == 32 {
		ptr = 4
	}
	entry := 4 * ptr
	read := func(b []byte) uint64 {
		if ptr == 4 {
			return uint64(bo.Uint32(b))
		}
		return bo.Uint64(b)
	}
	var out []pe.String
	for p := 0; p+entry <= len(data) && len(out) < maxSectionStrings; p += entry {
		flags := read(data[p+ptr:])
		target := read(data[p+2*ptr:])
		n := read(data[p+3*ptr:])
		wide := flags&0xff0 == cfStringUTF16
		size := n
		if wide {
			size = 2 * n
		}
		if n == 0 || size > 8192 {
			continue
		}
		off, ok := sl.fileOffset(target, size)
		if !ok {
			continue
		}
		if skip(sl.Offset+off, int64(size)) {
			continue
		}
		raw := img[off : off+int64(size)]
		var v, enc string
		if wide {
			if v, ok = utf16Text(raw); !ok {
				continue
			}
			enc = pe.EncUTF16LE
		} else if v, enc, ok = textOf(raw); !ok {
			continue
		}
		if len([]rune(v)) < minLen {
			continue
		}
		out = append(out, pe.String{Offset: sl.Offset + off, Encoding: enc, Value: v, Where: where})
	}
	return out
}

// fileOffset maps a pointer to an offset in the slice, trying it as an
// address, then as a chained-fixup target (low 36 bits) as an address and
// as an offset from the first segment with file bytes at offset 0.
func (sl *Slice) fileOffset(p, size uint64) (int64, bool) {
	var base uint64
	for _, s := range sl.Segments {
		if s.FileOff == 0 && s.FileSize > 0 {
			base = s.VMAddr
			break
		}
	}
	low := p & (1<<36 - 1)
	for _, a := range []uint64{p, low, base + low} {
		for _, s := range sl.Segments {
			if a >= s.VMAddr && a-s.VMAddr < s.FileSize && size <= s.FileSize-(a-s.VMAddr) {
				off := s.FileOff + (a - s.VMAddr)
				if off+size <= uint64(sl.Size) {
					return int64(off), true
				}
			}
		}
	}
	return 0, false
}

// Locate names the section a file offset lies in ("arm64:__TEXT,__cstring"),
// the slice ("arm64") when in no section, or "".
func (s *Summary) Locate(off int64) string {
	for i := range s.Slices {
		sl := &s.Slices[i]
		if off < sl.Offset || off >= sl.Offset+sl.Size {
			continue
		}
		rel := uint64(off - sl.Offset)
		for _, seg := range sl.Segments {
			for _, sec := range seg.Sections {
				if sec.Offset != 0 && rel >= uint64(sec.Offset) && rel-uint64(sec.Offset) < sec.Size {
					return fmt.Sprintf("%s:%s,%s", sl.CPU, sec.Segment, sec.Name)
				}
			}
		}
		return sl.CPU
	}
	return ""
}

// Masked returns b with every encrypted range zeroed (a copy; b itself is
// never changed), so that a byte scan claims no string from FairPlay
// ciphertext. It returns b when nothing is encrypted.
func (s *Summary) Masked(b []byte) []byte {
	if s == nil {
		return b
	}
	var out []byte
	for i := range s.Slices {
		start, end, ok := s.Slices[i].EncryptedRange()
		if !ok || start >= int64(len(b)) {
			continue
		}
		if end > int64(len(b)) {
			end = int64(len(b))
		}
		if out == nil {
			out = append([]byte(nil), b...)
		}
		clear(out[start:end])
	}
	if out == nil {
		return b
	}
	return out
}

// MergeStrings adds the section strings to a byte-scan set: a string
// already there (same encoding and value) only gains its section name,
// the others are added; the set stays in offset order and within max.
// Byte-scan strings inside a section get the section's name too.
func (s *Summary) MergeStrings(set *pe.StringSet, extra []pe.String, max int) *pe.StringSet {
	if set == nil {
		set = &pe.StringSet{Strings: []pe.String{}}
	}
	type key struct{ enc, val string }
	have := make(map[key]int, len(set.Strings))
	for i := range set.Strings {
		if set.Strings[i].Where == "" {
			set.Strings[i].Where = s.Locate(set.Strings[i].Offset)
		}
		have[key{set.Strings[i].Encoding, set.Strings[i].Value}] = i
	}
	added := 0
	for _, x := range extra {
		k := key{x.Encoding, x.Value}
		if _, ok := have[k]; ok {
			continue
		}
		have[k] = -1
		added++
		set.Strings = append(set.Strings, x)
	}
	set.Count += added
	sort.SliceStable(set.Strings, func(i, j int) bool {
		a, b := set.Strings[i], set.Strings[j]
		if a.Offset != b.Offset {
			return a.Offset < b.Offset
		}
		return a.Encoding < b.Encoding
	})
	if max >= 0 && len(set.Strings) > max {
		set.Strings = set.Strings[:max]
		set.Truncated = true
	}
	return set
}
