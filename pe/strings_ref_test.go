package pe

// The string extractor as it was before the one-pass rewrite (four
// byte-by-byte passes), kept verbatim as the reference the differential
// tests (TestExtractStringsMatchesReference, FuzzExtractStringsReference)
// compare the fast one against. Test-only: never shipped.

import (
	"bytes"
	"context"
	"hash/maphash"
	"sort"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

var refHashSeed = maphash.MakeSeed()

// refExtractStrings finds ASCII, UTF-16LE and GBK/GB18030 runs, counted and
// judged as described above. Each distinct (encoding, value) is kept once,
// at its first offset.
func refExtractStrings(ctx context.Context, b []byte, opts StringOptions) *StringSet {
	loadTextTables()
	min := opts.MinLength
	if min < 1 {
		min = 4
	}
	x := &refExtractor{ctx: ctx, b: b, min: min, hanWeight: (min + 1) / 2, seen: map[uint64]bool{}}
	if opts.Layout != nil {
		x.layout = newTextLayout(opts.Layout, b)
	}
	x.ascii()
	x.utf16(0)
	x.utf16(1)
	x.gbk()
	all := x.out
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Offset != all[j].Offset {
			return all[i].Offset < all[j].Offset
		}
		return all[i].Encoding < all[j].Encoding
	})
	set := &StringSet{Count: x.count, Truncated: x.count > len(all)}
	max := opts.Max
	if max < 0 {
		max = 0
	}
	if len(all) > max {
		all = all[:max]
		set.Truncated = true
	}
	if opts.Layout != nil {
		w := newLocator(opts.Layout, int64(len(b)))
		for i := range all {
			all[i].Where = w.at(all[i].Offset)
		}
	}
	set.Strings = all
	if set.Strings == nil {
		set.Strings = []String{}
	}
	return set
}

type refExtractor struct {
	ctx       context.Context
	b         []byte
	min       int
	hanWeight int         // what one Han character counts for against min
	layout    *textLayout // nil when the blob is not a PE analysed first
	seen      map[uint64]bool
	out       []String
	count     int
}

func (x *refExtractor) add(off int, enc, val string) {
	var h maphash.Hash
	h.SetSeed(refHashSeed)
	h.WriteString(enc)
	h.WriteByte(0)
	h.WriteString(val)
	k := h.Sum64()
	if x.seen[k] {
		return
	}
	x.seen[k] = true
	x.count++
	if len(x.out) < maxKeptStrings {
		x.out = append(x.out, String{Offset: int64(off), Encoding: enc, Value: val})
	}
}

func (x *refExtractor) cancelled(i int) bool { return i%ctxCheckStride == 0 && x.ctx.Err() != nil }

func (x *refExtractor) ascii() {
	b := x.b
	start := -1
	for i := 0; i <= len(b); i++ {
		if x.cancelled(i) {
			return
		}
		if i < len(b) && isPrint(b[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= x.min {
			x.add(start, EncASCII, string(b[start:min(i, start+maxStringBytes)]))
		}
		start = -1
	}
}

func (x *refExtractor) utf16(align int) {
	b := x.b
	var c cjkCounts
	runStart, startOK := -1, false
	prevCtl := true // the unit before i ends strings: the data's start does
	flush := func(end int, terminated bool) {
		x.judgeUTF16(runStart, end, &c, startOK, terminated)
		runStart, c = -1, cjkCounts{}
	}
	kinds := &tabs.kind16
	for i := align; i+1 < len(b); i += 2 {
		if x.cancelled(i - align) {
			return
		}
		u := uint16(b[i]) | uint16(b[i+1])<<8
		k := kinds[u]
		if runStart < 0 {
			// Outside a run (most of a binary): one table lookup a unit.
			if k <= u16Ctl || u == '\t' { // a tab does not start a string: a dialog's 9-point font size is one
				prevCtl = k == u16Ctl || u == '\t'
				continue
			}
			runStart, startOK = i, prevCtl
		} else if i-runStart >= maxStringBytes {
			flush(i, true) // a string, not a section dump: cut here
			runStart, startOK = i, false
		}
		switch k {
		case u16Narrow:
			c.note(false, 0, false, false)
		case u16Latin1:
			if c.hanzi+c.punct > 0 {
				flush(i, true)
				runStart, startOK = i, false
			}
			c.note(false, 0, false, false)
			c.latin1++
		case u16Han, u16Punct:
			if c.latin1 > 0 {
				flush(i, false)
				runStart, startOK = i, false
			}
			if k == u16Han {
				r := rune(u)
				c.note(true, r, true, tabs.commonHan.has(r))
			} else {
				c.note(true, 0, false, false)
				c.punct++
			}
		default:
			flush(i, k == u16Ctl)
		}
		prevCtl = k == u16Ctl
	}
	if runStart >= 0 {
		flush(align+(len(b)-align)&^1, true)
	}
}

// kind16tab is kind16 for every code unit: the scan's one lookup a unit.

func (x *refExtractor) judgeUTF16(start, end int, c *cjkCounts, startOK, terminated bool) {
	if c.hanzi == 0 && c.punct == 0 { // Latin text
		if (end-start)/2 >= x.min {
			x.add(start, EncUTF16LE, refUTF16Bytes(x.b[start:end]))
		}
		return
	}
	if c.plausible(x.hanWeight, x.min, startOK, terminated) && x.utf16Believable(start, end, c) {
		x.add(start, EncUTF16LE, refUTF16Bytes(x.b[start:end]))
		return
	}
	// Not believable as CJK text: keep the ASCII stretches it contains.
	s := -1
	for i := start; i <= end; i += 2 {
		if i < end && x.b[i+1] == 0 && x.b[i] < 0x80 {
			if s < 0 {
				s = i
			}
			continue
		}
		if s >= 0 && (i-s)/2 >= x.min {
			x.add(s, EncUTF16LE, refUTF16Bytes(x.b[s:i]))
		}
		s = -1
	}
}

// utf16Believable: like the GBK rules, the production UTF-16 rules
// (pe/strings.go), which the one-pass scan did not replace.
func (x *refExtractor) utf16Believable(start, end int, c *cjkCounts) bool {
	return utf16Believable(x.b, x.layout, x.min, start, end, c)
}

// refUTF16Bytes decodes UTF-16LE bytes (an even count) to UTF-8.
func refUTF16Bytes(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// gbk scans for GBK/GB18030 double-byte text mixed with ASCII.

func (x *refExtractor) gbk() {
	b := x.b
	dec := simplifiedchinese.GB18030.NewDecoder()
	i := 0
	for i < len(b) {
		if x.cancelled(i) {
			return
		}
		if b[i] < 0x81 || b[i] == 0xFF {
			i++
			continue
		}
		// Back up over printable ASCII that leads into the double bytes.
		start := i
		for start > 0 && i-start < 256 && isPrint(b[start-1]) {
			start--
		}
		var c cjkCounts
		j := start
		for j < len(b) && j-start < maxStringBytes {
			ch := b[j]
			if isPrint(ch) {
				c.note(false, 0, false, false)
				j++
				continue
			}
			if ch < 0x81 || ch == 0xFF || j+1 >= len(b) {
				break
			}
			t := b[j+1]
			if t < 0x40 || t == 0x7F || t == 0xFF {
				break
			}
			switch {
			case ch >= 0xB0 && ch <= 0xF7 && t >= 0xA1:
				r := gbkHanzi(ch, t)
				c.note(true, r, true, ch <= 0xD7 && tabs.gb2312Level1.has(r))
			case ch == 0xA1 && t >= 0xA1 && t <= 0xBF, ch == 0xA3 && t >= 0xA1:
				c.note(true, 0, false, false) // 、。“”《》【】 and full-width ASCII
				c.punct++
			default:
				c.note(true, 0, false, false) // GBK-only: Traditional forms, rare characters
				c.rare++
			}
			j += 2
		}
		terminated := j >= len(b) || b[j] == 0 || b[j] == '\r' || b[j] == '\n'
		startOK := start == 0 || b[start-1] == 0 || b[start-1] == '\r' || b[start-1] == '\n'
		if c.plausible(x.hanWeight, x.min, startOK, terminated) && x.gbkBelievable(start, j, &c) {
			if v, err := dec.Bytes(b[start:j]); err == nil && !bytes.ContainsRune(v, utf8.RuneError) {
				x.add(start, EncGBK, string(v))
			}
		}
		if j <= i {
			j = i + 1
		}
		i = j
	}
}

// gbkBelievable: the GBK-only rules are not what the one-pass scan
// replaced, so the reference applies the production ones (pe/strings.go).
func (x *refExtractor) gbkBelievable(start, end int, c *cjkCounts) bool {
	return gbkBelievable(x.b, x.layout, start, end, c)
}

// isKoreanUTF16: a UTF-16 Korean string pairs up as GBK (each syllable's
// low byte a lead, its high byte 0xAC-0xD7 a trail: 창 reads 窗). Read from
// its first double byte as UTF-16, such a run is all Hangul syllables of
// KS X 1001's 2,350 (the ones Korean text uses); GBK text reads as one of
// those about one pair in ten.
