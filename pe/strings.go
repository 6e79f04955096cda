package pe

import (
	"encoding/binary"
	"sort"
	"strings"
	"unicode/utf8"
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

// What counts as a string. ASCII runs need MinLength characters. In UTF-16
// and GBK runs a Han character carries a word, so it counts for
// ceil(MinLength/2) characters: two Han characters make a string at any
// MinLength (and one with ASCII beside it counts toward the minimum).
// Everything else counts one.
//
// A run holding Han characters (or CJK punctuation) is kept whole only when
// it is believable as Chinese text; else only its ASCII stretches are kept.
// Believable, in both encodings:
//   - at least two Han characters, ending where strings end (a NUL or other
//     control unit, CR or LF, or the end of the data);
//   - common characters: GB 2312 level 1 for GBK, GB 2312 level 1 plus Big5
//     level 1 for UTF-16 (hanzi_common.txt); real text draws well over 99%
//     of its characters from them;
//   - words in stretches: no one character repeated over and over (byte
//     fills: 适适适), no hopping between ASCII and single characters.
//
// Short runs (two or three Han characters) must also start where strings
// start, and use common characters only. A GBK run must in addition not be
// valid UTF-8 (Greek, Cyrillic ... in UTF-8 pair up as GBK), not read as
// Hangul in UTF-16, and, when the PE layout is known, not lie in .reloc,
// .pdata, the headers, or a resource that is binary (icons, cursors,
// bitmaps, fonts, images) or UTF-16 by format (string tables, dialogs,
// menus, version info). TestGBKFalseRunRate and TestHanRecall measure both
// sides on real PEs.
const (
	maxStringBytes = 4096    // longer runs are cut: a string, not a section dump
	maxKeptStrings = 1 << 18 // distinct strings held in memory per node, whatever Max says
	ctxCheckStride = 1 << 20
)

// cjkCounts tallies a candidate run for the plausibility rules.
type cjkCounts struct {
	chars, hanzi, common, punct, rare, latin1 int
	frequent                                  int      // hanzi among the ~1,300 most frequent (short runs)
	stretches                                 int      // stretches of wide (CJK) characters between narrow (ASCII) ones
	lastWide                                  bool     // the previous character was CJK
	first                                     [32]rune // the first hanzi, for the repetition rule (no allocation per run)
}

// note records one character of the run; common says whether a Han
// character is in the encoding's common set.
func (c *cjkCounts) note(wide bool, r rune, isHanzi, common bool) {
	if wide && (c.chars == 0 || !c.lastWide) {
		c.stretches++
	}
	c.lastWide = wide
	c.chars++
	if isHanzi {
		c.hanzi++
		if common {
			c.common++
		}
		if tabs.frequentHan.has(r) {
			c.frequent++
		}
		if c.hanzi <= len(c.first) {
			c.first[c.hanzi-1] = r
		}
	}
}

// weighted is the run's length with each Han character counted as a word.
func (c *cjkCounts) weighted(hanWeight int) int { return c.chars - c.hanzi + c.hanzi*hanWeight }

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

// textLike: real text does not repeat one hanzi over and over (byte fills
// like CA CA CA CA decode as 适适适), and its CJK comes in words, not single
// characters scattered among ASCII ("a要b低c烊"): on average a stretch of
// CJK holds 1.5 characters or more ("[驱动器:] [路径] [文件名]", "第 %d 页，共 %d 页").
func (c *cjkCounts) textLike() bool {
	return 2*(c.hanzi+c.punct) >= 3*c.stretches && c.distinctRatioOK()
}

// plausible is the rule both encodings share, given whether the run starts
// and ends where strings do.
func (c *cjkCounts) plausible(hanWeight, min int, startOK, terminated bool) bool {
	if c.hanzi < 2 || !terminated || c.punct > c.hanzi || c.weighted(hanWeight) < min || !c.textLike() {
		return false
	}
	if c.hanzi < 4 {
		// One stretch of hanzi ("(未命名)", "中國 16K"): random units that
		// land on two hanzi come apart ("昀o倀").
		return startOK && c.common == c.hanzi && c.rare == 0 && c.stretches == 1
	}
	// Long runs: real text may hold a rare name (人名, 地名) or two.
	return 10*c.common >= 9*c.hanzi && 10*c.rare <= c.hanzi
}

// UTF-16 code unit kinds.
const (
	u16Other  = iota // ends a run without ending a string
	u16Ctl           // NUL, C0/C1 controls: where strings end (and start)
	u16Narrow        // printable ASCII and the Latin-1 signs Chinese text uses
	u16Latin1        // other Latin-1: Latin text, never next to hanzi
	u16Han           // CJK Unified Ideographs, Extension A, Compatibility
	u16Punct         // CJK and full-width punctuation, general punctuation
)

func kind16(lo, hi byte) int {
	switch {
	case hi == 0:
		switch {
		case isPrint(lo):
			return u16Narrow
		case lo < 0x20, lo >= 0x7f && lo < 0xa0:
			return u16Ctl
		case lo == 0xb7, lo == 0xd7, lo == 0xb0, lo == 0xa9, lo == 0xae, lo == 0xa7: // · × ° © ® §
			return u16Narrow
		}
		return u16Latin1
	case hi >= 0x4e && hi <= 0x9f, hi >= 0x34 && hi <= 0x4d, hi == 0xf9, hi == 0xfa:
		if hi == 0x4d && lo >= 0xc0 { // Yijing hexagrams, not Han
			return u16Other
		}
		return u16Han
	case hi == 0x30 && lo <= 0x3f, // 、。「」【】…
		hi == 0xff && (lo >= 0x01 && lo <= 0x5e || lo >= 0x61 && lo <= 0x65), // ，：（）！ and half-width 。「」、
		hi == 0x20 && lo >= 0x10 && lo <= 0x27:                               // – — ‘ ’ “ ” … ‧
		return u16Punct
	}
	return u16Other
}

// utf16Believable applies the rules that look beyond the run:
//   - it is not an ASCII string read at the wrong alignment ("burlywood"
//     reads 畢汲睹潯d): the ASCII scan has it;
//   - with the PE layout known, it is not in a binary region, and a short
//     run (two or three hanzi) lies in data (.rdata, .data, resources), not
//     in code or debug sections, where x86 and DWARF bytes give "聖卿";
//   - a short run in a PE, outside string tables, dialogs and menus (whose
//     strings are length-prefixed), sits between NUL units, CR or LF:
//     pointer tables (XX YY 01 80 01 00 00 00 reads 消老 then 0x0001) do not.
func (x *extractor) utf16Believable(start, end int, c *cjkCounts) bool {
	return utf16Believable(x.b, x.layout, x.min, start, end, c)
}

// utf16Believable is the rule set over b[start:end] with b's layout (nil
// when unknown) and the minimum string length; the test-only reference
// extractor applies the same rules.
func utf16Believable(b []byte, l *textLayout, minLen, start, end int, c *cjkCounts) bool {
	if readsAsASCII(b, minLen, start, end) {
		return false
	}
	if l != nil && l.in(l.binary, start, end) {
		return false
	}
	if c.hanzi >= 4 {
		return true
	}
	if l == nil {
		return true
	}
	if !l.inData(start, end) {
		return false
	}
	if l.in(l.utf16, start, end) {
		return true
	}
	unit := func(k int) uint16 {
		if k < 0 || k+1 >= len(b) {
			return 0 // the data's edges end strings
		}
		return uint16(b[k]) | uint16(b[k+1])<<8
	}
	lineEnd := func(u uint16) bool { return u == 0 || u == '\r' || u == '\n' }
	return lineEnd(unit(start-2)) && lineEnd(unit(end))
}

// readsAsASCII: b[start:end], but for trailing NULs, is min or more
// printable ASCII bytes (the first rule of utf16Believable, which needs no
// counts: the scan asks it first).
func readsAsASCII(b []byte, minLen, start, end int) bool {
	e := end
	for e > start && b[e-1] == 0 {
		e--
	}
	if e-start < minLen {
		return false
	}
	k := start
	for ; k+8 <= e; k += 8 {
		if printMask8(binary.LittleEndian.Uint64(b[k:])) != 0xFF {
			return false
		}
	}
	for ; k < e; k++ {
		if !isPrint(b[k]) {
			return false
		}
	}
	return true
}

// gbkBelievable applies the GBK-only rules to a run that passed the shared
// ones. Machine code and tables pair up as GB 2312 far more often than
// random bytes do (x86's C3 ret, C5 VEX prefixes, byte-sequence tables), so:
//   - a short run (two or three hanzi) is pure CJK, between NULs or line
//     ends, half of it among the ~1,300 most frequent characters (Unihan
//     kFrequency 1-3: 过滤, 删除 and 宋体 pass; the EUC-KR font name 굴림,
//     which reads 奔覆, does not), in a data section when the layout is known;
//   - in an executable section a run needs four hanzi or more;
//   - no GB row (lead byte) holds half of the hanzi, and the bytes do not
//     count up (BA BB BC BD ...);
//   - not UTF-8, not UTF-16 Korean, not in a region that holds no ANSI text.
func (x *extractor) gbkBelievable(start, end int, c *cjkCounts) bool {
	return gbkBelievable(x.b, x.layout, start, end, c)
}

// gbkBelievable is the rule set over b[start:end] with b's layout (nil when
// unknown); the test-only reference extractor applies the same rules.
func gbkBelievable(b []byte, l *textLayout, start, end int, c *cjkCounts) bool {
	seg := b[start:end]
	ascii := c.chars - c.hanzi - c.punct - c.rare
	if c.hanzi < 4 {
		if ascii > 0 || 2*c.frequent < c.hanzi || (end < len(b) && b[end] != 0 && b[end] != '\r' && b[end] != '\n') {
			return false
		}
		if l != nil && !l.inData(start, end) {
			return false
		}
	}
	var leads [256]uint8
	pairs, top := 0, uint8(0)
	lo, hi := byte(0xFF), byte(0)
	for k := 0; k+1 < len(seg); k++ {
		if seg[k] >= 0x81 {
			pairs++
			leads[seg[k]]++
			top = max(top, leads[seg[k]])
			lo, hi = min(lo, seg[k], seg[k+1]), max(hi, seg[k], seg[k+1])
			k++
		}
	}
	up := 0
	for k := 1; k < len(seg); k++ {
		if seg[k] == seg[k-1]+1 {
			up++
		}
	}
	if c.hanzi >= 4 && 2*int(top) >= pairs || 3*up >= len(seg) {
		return false
	}
	// Code-page and permutation tables in code sections use one band of
	// byte values, where text's trail bytes spread over 0xA1-0xFE; and
	// instructions mix in ASCII bytes, where text in code is mostly CJK.
	if l != nil && l.in(l.code, start, end) && (hi-lo < 0x30 || c.stretches > 2 || 2*ascii > c.hanzi) {
		return false
	}
	if utf8.Valid(seg) { // multi-byte UTF-8 of another script (el:(σελίδα ...))
		return false
	}
	if isKoreanUTF16(seg) {
		return false
	}
	return l == nil || !l.in(l.binary, start, end) && !l.in(l.utf16, start, end)
}

// isKoreanUTF16: a UTF-16 Korean string pairs up as GBK (each syllable's
// low byte a lead, its high byte 0xAC-0xD7 a trail: 창 reads 窗). Read from
// its first double byte as UTF-16, such a run is all Hangul syllables of
// KS X 1001's 2,350 (the ones Korean text uses); GBK text reads as one of
// those about one pair in ten.
func isKoreanUTF16(seg []byte) bool {
	p := 0
	for p < len(seg) && seg[p] < 0x81 {
		p++
	}
	n := 0
	for ; p+1 < len(seg); p += 2 {
		if !tabs.hangul.has(rune(seg[p]) | rune(seg[p+1])<<8) {
			return false
		}
		n++
	}
	return n >= 2
}

// textLayout is what a PE's layout says about where text can lie.
type textLayout struct {
	binary []span // no text in any encoding: headers, .reloc, .pdata, .xdata, icons, cursors, bitmaps, fonts, images, the certificate table
	utf16  []span // UTF-16 by format: menus, dialogs, string tables, version info
	code   []span // executable sections
	data   []span // sections of data that is loaded and kept (not discardable debug info)
}

func (l *textLayout) in(spans []span, start, end int) bool {
	for _, s := range spans {
		if int64(start) < s.end && int64(end) > s.start {
			return true
		}
	}
	return false
}

// inData: wholly inside one data section, and in no code.
func (l *textLayout) inData(start, end int) bool {
	if l.in(l.code, start, end) {
		return false
	}
	for _, s := range l.data {
		if int64(start) >= s.start && int64(end) <= s.end {
			return true
		}
	}
	return false
}

func newTextLayout(s *Summary, b []byte) *textLayout {
	l := &textLayout{}
	size := int64(len(b))
	first := size
	for _, sec := range s.Sections {
		st := int64(sec.RawOffset)
		if sec.RawSize == 0 || st >= size {
			continue
		}
		sp := span{st, min(st+int64(sec.RawSize), size), sec.Name}
		first = min(first, st)
		switch {
		case sec.Name == ".reloc", sec.Name == ".pdata", sec.Name == ".xdata":
			l.binary = append(l.binary, sp)
		case sec.Flags&0x20000020 != 0: // MEM_EXECUTE or CNT_CODE
			l.code = append(l.code, sp)
		case sec.Flags&0x02000000 == 0: // not MEM_DISCARDABLE (DWARF sections are)
			l.data = append(l.data, sp)
		}
	}
	l.binary = append(l.binary, span{0, first, "[headers]"})
	for _, r := range s.Resources {
		if r.OutsideFile || r.Size <= 0 {
			continue
		}
		sp := span{r.Offset, r.Offset + r.Size, r.NodeName()}
		switch r.TypeID {
		case 1, 2, 3, 7, 8, 12, 14, 21, 22: // CURSOR BITMAP ICON FONTDIR FONT GROUP_CURSOR GROUP_ICON ANICURSOR ANIICON
			l.binary = append(l.binary, sp)
		case 4, 5, 6, 16: // MENU DIALOG STRING VERSION
			l.utf16 = append(l.utf16, sp)
		default:
			if r.Offset >= 0 && r.Offset+8 <= size && isImage(b[r.Offset:r.Offset+8]) {
				l.binary = append(l.binary, sp)
			}
		}
	}
	if s.Overlay != nil && s.Overlay.Type == "authenticode" {
		l.binary = append(l.binary, span{s.Overlay.Offset, size, "[overlay]"})
	}
	return l
}

// isImage sniffs PNG, GIF, JPEG and BMP data (RCDATA and custom types).
func isImage(h []byte) bool {
	for _, magic := range []string{"\x89PNG", "GIF8", "\xff\xd8\xff", "BM"} {
		if strings.HasPrefix(string(h), magic) {
			return true
		}
	}
	return false
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
