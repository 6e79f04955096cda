package pe

import (
	"context"
	"hash/maphash"
	"sort"
	"unicode/utf16"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// String is one printable run found in a blob.
type String struct {
	Offset   int64  `json:"offset"`
	Encoding string `json:"encoding"`        // "ascii", "utf16le", "gbk"
	Value    string `json:"value"`           // UTF-8
	Where    string `json:"where,omitempty"` // PE section or resource leaf, when known
}

// StringSet is the strings of one node, deduplicated, in offset order.
type StringSet struct {
	Count     int      `json:"count"`     // distinct strings found
	Truncated bool     `json:"truncated"` // the per-node cap was hit: Strings holds Max of Count
	Strings   []String `json:"strings"`
}

// StringOptions tune ExtractStrings.
type StringOptions struct {
	MinLength int // characters; 0 means 4. GBK and CJK runs need fewer, see below
	Max       int // strings kept; 0 keeps none but still counts
	// Layout, when the blob is a PE already analysed, attributes each string
	// to the resource leaf or section it lies in.
	Layout *Summary
}

// Encodings.
const (
	EncASCII   = "ascii"
	EncUTF16LE = "utf16le"
	EncGBK     = "gbk"
)

// Plausibility thresholds for CJK runs (GBK and UTF-16). Random bytes decode
// as GB2312 hanzi about one pair in ten, so a run is only believed when it
// has at least minHanzi hanzi, at least half of them among the commonest
// thousand characters (random hanzi: about one in seven), few GBK-only
// pairs, and ends where strings end (NUL, CR, LF or the end of the data).
// TestGBKFalseRunRate measures what slips through on real PEs.
const (
	minHanzi       = 3
	maxStringBytes = 4096    // longer runs are cut: a string, not a section dump
	maxKeptStrings = 1 << 18 // distinct strings held in memory per node, whatever Max says
	ctxCheckStride = 1 << 20
)

var hashSeed = maphash.MakeSeed()

// ExtractStrings finds ASCII, UTF-16LE and GBK/GB18030 runs. ASCII and
// UTF-16 runs need MinLength characters; a GBK run needs minHanzi hanzi and
// (MinLength+1)/2 characters, since one hanzi carries the meaning of a word.
// Each distinct (encoding, value) is kept once, at its first offset.
func ExtractStrings(ctx context.Context, b []byte, opts StringOptions) *StringSet {
	min := opts.MinLength
	if min < 1 {
		min = 4
	}
	x := &extractor{ctx: ctx, b: b, min: min, seen: map[uint64]bool{}}
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

type extractor struct {
	ctx   context.Context
	b     []byte
	min   int
	seen  map[uint64]bool
	out   []String
	count int
}

func (x *extractor) add(off int, enc, val string) {
	var h maphash.Hash
	h.SetSeed(hashSeed)
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

func (x *extractor) cancelled(i int) bool { return i%ctxCheckStride == 0 && x.ctx.Err() != nil }

func isPrint(c byte) bool { return (c >= 0x20 && c < 0x7f) || c == '\t' }

func (x *extractor) ascii() {
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

// cjkCounts tallies a candidate run for the plausibility rule.
type cjkCounts struct {
	chars, hanzi, common, rare, ascii, latin1 int
	switches                                  int      // changes between ASCII and CJK characters
	lastWide                                  bool     // the previous character was CJK
	first                                     [32]rune // the first hanzi, for the repetition rule (no allocation per run)
}

// note records one character of the run.
func (c *cjkCounts) note(wide bool, r rune, isHanzi bool) {
	if c.chars > 0 && wide != c.lastWide {
		c.switches++
	}
	c.lastWide = wide
	c.chars++
	if !wide {
		c.ascii++
	}
	if isHanzi {
		c.hanzi++
		if commonHanzi.has(r) {
			c.common++
		}
		if c.hanzi <= len(c.first) {
			c.first[c.hanzi-1] = r
		}
	}
}

// distinctRatioOK: at least 3 in 5 of the first hanzi are distinct, all of
// them in a run of four or fewer.
func (c *cjkCounts) distinctRatioOK() bool {
	n := min(c.hanzi, len(c.first))
	distinct := 0
	for i := 0; i < n; i++ {
		dup := false
		for j := 0; j < i; j++ {
			if c.first[j] == c.first[i] {
				dup = true
				break
			}
		}
		if !dup {
			distinct++
		}
	}
	if n <= 4 {
		return distinct == n // a short run with a repeat is a byte pattern
	}
	return 5*distinct >= 3*n
}

// textLike holds for every CJK run: real text does not repeat one hanzi
// over and over (byte fills like CA CA CA CA decode as 适适适), and does not
// hop between ASCII and single hanzi ("H要2(低烊"): words come in stretches.
func (c *cjkCounts) textLike() bool {
	return 2*c.switches <= c.hanzi+1 && c.distinctRatioOK()
}

func (c *cjkCounts) plausible() bool {
	return c.hanzi >= minHanzi && 2*c.common >= c.hanzi && 4*c.rare <= c.hanzi && c.textLike()
}

// utf16 scans UTF-16LE code units at the given byte alignment. Printable
// Latin-1 and CJK (hanzi, CJK punctuation, full-width forms) make up runs;
// a run with CJK must pass the CJK rule and end in a NUL unit, or else only
// its pure ASCII stretches are kept.
func (x *extractor) utf16(align int) {
	b := x.b
	var run []uint16
	var c cjkCounts
	runStart := -1
	flush := func(terminated bool) {
		if runStart >= 0 {
			x.judgeUTF16(run, runStart, &c, terminated)
		}
		run, runStart, c = run[:0], -1, cjkCounts{}
	}
	for i := align; i+1 < len(b); i += 2 {
		if x.cancelled(i - align) {
			return
		}
		if len(run) >= maxStringBytes/2 {
			flush(true) // a string, not a section dump: cut here
		}
		u := uint16(b[i]) | uint16(b[i+1])<<8
		ok := true
		switch {
		case u < 0x80 && isPrint(byte(u)):
			c.note(false, rune(u), false)
		case u >= 0xA0 && u <= 0xFF:
			c.note(false, rune(u), false)
			c.latin1++ // fine in Latin text, a red flag next to hanzi
		case u >= 0x4E00 && u <= 0x9FFF:
			c.note(true, rune(u), true)
		case u >= 0x3000 && u <= 0x303F, u >= 0xFF01 && u <= 0xFF5E:
			c.note(true, rune(u), false)
			c.rare++ // punctuation: fine in text, never evidence of it
		default:
			ok = false
		}
		if ok {
			if runStart < 0 {
				runStart = i
			}
			run = append(run, u)
			continue
		}
		flush(u < 0x20) // NUL, or a control unit such as a string-table length
	}
	flush(true)
}

// plausibleUTF16: every code unit of a random CJK run is a hanzi with
// probability 1/3, but a common one only 1/60, so here the common-ratio rule
// does the work: two thirds of the hanzi must be common.
func (c *cjkCounts) plausibleUTF16() bool {
	if c.hanzi < 2 || c.latin1 > 0 || 2*c.rare > c.hanzi || !c.textLike() {
		return false
	}
	if c.hanzi < 4 {
		// Short runs: every hanzi common, and either no ASCII ("确定") or
		// a real word of it ("关于 TOM-Skype"): random code units that land
		// on two common hanzi come with one or two stray ASCII neighbours
		// ("4开区", "七威!").
		return c.common == c.hanzi && (c.ascii == 0 || c.ascii >= 4)
	}
	return 3*c.common >= 2*c.hanzi
}

// judgeUTF16 emits a UTF-16 run, or its ASCII stretches when it holds CJK
// that does not pass the plausibility rule.
func (x *extractor) judgeUTF16(run []uint16, runStart int, c *cjkCounts, terminated bool) {
	if c.hanzi == 0 && c.rare == 0 { // Latin text, as before
		if len(run) >= x.min {
			x.add(runStart, EncUTF16LE, utf16String(run))
		}
		return
	}
	if terminated && c.plausibleUTF16() && len(run) >= minHanzi {
		x.add(runStart, EncUTF16LE, utf16String(run))
		return
	}
	// Not believable as CJK text: keep the ASCII stretches it contains.
	s := -1
	for i := 0; i <= len(run); i++ {
		if i < len(run) && run[i] < 0x80 {
			if s < 0 {
				s = i
			}
			continue
		}
		if s >= 0 && i-s >= x.min {
			x.add(runStart+2*s, EncUTF16LE, utf16String(run[s:i]))
		}
		s = -1
	}
}

func utf16String(u []uint16) string { return string(utf16.Decode(u)) }

// gbk scans for GBK/GB18030 double-byte text mixed with ASCII.
func (x *extractor) gbk() {
	b := x.b
	dec := simplifiedchinese.GB18030.NewDecoder()
	minChars := (x.min + 1) / 2
	if minChars < minHanzi {
		minChars = minHanzi
	}
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
				c.note(false, rune(ch), false)
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
				c.note(true, gbkHanzi(ch, t), true)
			case ch >= 0xA1 && ch <= 0xA9 && t >= 0xA1:
				c.note(true, 0, false) // GB2312 symbols and full-width punctuation: neutral
			default:
				c.note(true, 0, false)
				c.rare++
			}
			j += 2
		}
		terminated := j >= len(b) || b[j] == 0 || b[j] == '\r' || b[j] == '\n'
		if terminated && c.plausible() && c.chars >= minChars {
			if v, err := dec.Bytes(b[start:j]); err == nil {
				x.add(start, EncGBK, string(v))
			}
		}
		if j <= i {
			j = i + 1
		}
		i = j
	}
}

// locator attributes file offsets to a PE's resource leaves and sections.
// Leaves do not overlap in well-formed files; where they do, the leaf that
// starts last before the offset wins. Sections are few: a linear scan.
type locator struct {
	leaves   []span // sorted by start
	sections []span // file order, then the overlay
	first    int64  // where the first section's data starts
}

type span struct {
	start, end int64
	name       string
}

func newLocator(s *Summary, size int64) *locator {
	l := &locator{first: -1}
	for _, r := range s.Resources {
		if !r.OutsideFile && r.Size > 0 {
			l.leaves = append(l.leaves, span{r.Offset, r.Offset + r.Size, r.NodeName()})
		}
	}
	sort.SliceStable(l.leaves, func(i, j int) bool { return l.leaves[i].start < l.leaves[j].start })
	for _, sec := range s.Sections {
		if sec.RawSize > 0 {
			st := int64(sec.RawOffset)
			l.sections = append(l.sections, span{st, st + int64(sec.RawSize), sec.Name})
			if l.first < 0 || st < l.first {
				l.first = st
			}
		}
	}
	if s.Overlay != nil {
		l.sections = append(l.sections, span{s.Overlay.Offset, size, "[overlay]"})
	}
	return l
}

func (l *locator) at(off int64) string {
	// The last leaf starting at or before off.
	i := sort.Search(len(l.leaves), func(i int) bool { return l.leaves[i].start > off }) - 1
	if i >= 0 && off < l.leaves[i].end {
		return l.leaves[i].name
	}
	for _, s := range l.sections {
		if off >= s.start && off < s.end {
			return s.name
		}
	}
	if l.first >= 0 && off < l.first {
		return "[headers]"
	}
	return ""
}
