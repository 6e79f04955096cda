package pe

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// The scan behind ExtractStrings. One pass over the data, block by block:
// each block (scanBlock bytes, so it stays in cache) is read by the four
// scanners in turn (ASCII, UTF-16LE at even and at odd offsets, GBK), each
// resuming where it stopped. A scanner may read past its block to finish a
// run; it then resumes after the run. What each scanner finds, and in which
// order, is exactly what the four whole-data passes found before
// (TestExtractStringsMatchesReference and FuzzExtractStringsReference hold the
// old extractor as the reference); the speed comes from:
//   - byte classes in tables, and tight loops that skip what cannot start a
//     string (most of a binary) with one lookup a byte or unit;
//   - cheap counts first: a run's expensive tallies (common, frequent hanzi,
//     the repetition rule) are computed by walking it again only when the
//     cheap ones (hanzi, punctuation, stretches, termination) let it pass;
//   - no allocation per candidate: a run is hashed from its bytes, and only a
//     new one is decoded, into one growing backing buffer.
const scanBlock = 64 << 10

const (
	hi8 = 0x8080808080808080 // the top bit of each of eight bytes
	lo8 = 0x0101010101010101 // one in each of eight bytes
)

var hashSeed = maphash.MakeSeed()

func isPrint(c byte) bool { return (c >= 0x20 && c < 0x7f) || c == '\t' }

// printTab[c]: c is printable ASCII or a tab (isPrint).
var printTab = func() (t [256]bool) {
	for c := range t {
		t[c] = isPrint(byte(c))
	}
	return t
}()

// gbkLeadTab[c]: c can start a GBK double byte (0x81-0xFE).
var gbkLeadTab = func() (t [256]bool) {
	for c := 0x81; c < 0xFF; c++ {
		t[c] = true
	}
	return t
}()

// ExtractStrings finds ASCII, UTF-16LE and GBK/GB18030 runs, counted and
// judged as described above. Each distinct (encoding, value) is kept once,
// at its first offset (UTF-16 at even offsets before odd ones, as the
// scanners' order has always been).
func ExtractStrings(ctx context.Context, b []byte, opts StringOptions) *StringSet {
	minLen := opts.MinLength
	if minLen < 1 {
		minLen = 4
	}
	loadTextTables()
	x := &extractor{ctx: ctx, b: b, min: minLen, hanWeight: (minLen + 1) / 2}
	if opts.Layout != nil {
		x.layout = newTextLayout(opts.Layout, b)
	}
	x.u16[0].init(0)
	x.u16[1].init(1)
	for lim := 0; lim < len(b); {
		if ctx.Err() != nil {
			break // cancelled: what was found so far
		}
		lim = min(lim+scanBlock, len(b))
		x.asciiTo(lim)
		x.utf16To(&x.u16[0], lim)
		x.utf16To(&x.u16[1], lim)
		x.gbkTo(lim)
	}
	if ctx.Err() == nil {
		x.utf16End(&x.u16[0])
		x.utf16End(&x.u16[1])
	}
	all, count := x.collect()
	slices.SortStableFunc(all, func(a, b String) int {
		if a.Offset != b.Offset {
			if a.Offset < b.Offset {
				return -1
			}
			return 1
		}
		switch {
		case a.Encoding < b.Encoding:
			return -1
		case a.Encoding > b.Encoding:
			return 1
		}
		return 0
	})
	set := &StringSet{Count: count, Truncated: count > len(all)}
	max := opts.Max
	if max < 0 {
		max = 0
	}
	if len(all) > max {
		all = all[:max]
		set.Truncated = true
	}
	compact(all)
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

// Candidate lists, in the order the scanners have always been run: the first
// of equal values in this order is the one kept.
const (
	listASCII = iota
	listUTF16Even
	listUTF16Odd
	listGBK
	nLists
)

var listEnc = [nLists]string{EncASCII, EncUTF16LE, EncUTF16LE, EncGBK}

// strList is one scanner's distinct strings, in the order found.
type strList struct {
	seen hashSet // hashes of every distinct value found
	out  []cand  // the first maxKeptStrings of them
}

// cand is one string found: its encoding is its list's.
type cand struct {
	off int64
	v   string
}

type extractor struct {
	ctx       context.Context
	b         []byte
	min       int
	hanWeight int         // what one Han character counts for against min
	layout    *textLayout // nil when the blob is not a PE analysed first
	lists     [nLists]strList
	arena     []byte // backing store of the values found (see keep)
	u16       [2]u16Scan
	ai, gi    int // where the ASCII and GBK scanners resume
	gchunk    gbkChunk
	dec       interface{ Bytes([]byte) ([]byte, error) }
}

// key hashes a value the way the scanner sees it: its bytes in the data for
// ASCII and UTF-16 (a one-to-one encoding of the value, as runs hold no
// surrogates), its UTF-8 for GBK. Each list has its own set; the two UTF-16
// lists share one key space.
func key(p []byte) uint64 { return maphash.Bytes(hashSeed, p) }

// hashSet is a set of 64-bit hashes: open addressing, linear probing, 0
// marking an empty slot (a hash of 0 is stored as 1). Faster than a map for
// the hundreds of thousands of strings a debug-info-laden DLL holds.
type hashSet struct {
	slots []uint64
	n     int
}

// add inserts h and reports whether it was new.
func (s *hashSet) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if 4*(s.n+1) > 3*len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			s.n++
			return true
		}
	}
}

func (s *hashSet) has(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if len(s.slots) == 0 {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

func (s *hashSet) grow() {
	old := s.slots
	s.slots = make([]uint64, max(1024, 2*len(old)))
	s.n = 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}

func (s *hashSet) each(f func(uint64)) {
	for _, h := range s.slots {
		if h != 0 {
			f(h)
		}
	}
}

// add records p (raw bytes in the scanner's encoding) found at off in list
// l, decoding it only when it is new to that list.
func (x *extractor) add(l int, off int, p []byte) {
	lst := &x.lists[l]
	if !lst.seen.add(key(p)) {
		return
	}
	if len(lst.out) >= maxKeptStrings {
		return
	}
	var v string
	switch l {
	case listUTF16Even, listUTF16Odd:
		v = x.keepUTF16(p)
	default:
		v = x.keep(p)
	}
	lst.out = append(lst.out, cand{int64(off), v})
}

// collect merges the four lists as the four passes did: UTF-16 values found
// at odd offsets count only when not found at even ones, and the first
// maxKeptStrings in list order are kept.
func (x *extractor) collect() ([]String, int) {
	even, odd := &x.lists[listUTF16Even], &x.lists[listUTF16Odd]
	count := x.lists[listASCII].seen.n + even.seen.n + x.lists[listGBK].seen.n
	odd.seen.each(func(k uint64) {
		if !even.seen.has(k) {
			count++
		}
	})
	n := 0
	for l := range x.lists {
		n += len(x.lists[l].out)
	}
	all := make([]String, 0, min(n, maxKeptStrings))
	for l := range x.lists {
		for _, c := range x.lists[l].out {
			if len(all) >= maxKeptStrings {
				return all, count
			}
			if l == listUTF16Odd {
				if even.seen.has(key(utf16Raw(c.v))) {
					continue
				}
			}
			all = append(all, String{Offset: c.off, Encoding: listEnc[l], Value: c.v})
		}
	}
	return all, count
}

// utf16Raw re-encodes a value found by the UTF-16 scanner to its bytes (all
// of its characters are in the BMP, outside the surrogates).
func utf16Raw(s string) []byte {
	p := make([]byte, 0, 2*len(s))
	for _, r := range s {
		p = append(p, byte(r), byte(r>>8))
	}
	return p
}

// keep copies p into the backing buffer and returns it as a string: one
// allocation per 64 KiB of values, not one per value. The buffer is only
// appended to, so earlier strings never change.
func (x *extractor) keep(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	x.reserve(len(p))
	s := len(x.arena)
	x.arena = append(x.arena, p...)
	return unsafe.String(&x.arena[s], len(p))
}

func (x *extractor) reserve(n int) {
	if cap(x.arena)-len(x.arena) < n {
		x.arena = make([]byte, 0, max(64<<10, n))
	}
}

// keepUTF16 decodes UTF-16LE bytes (an even count, no surrogates: the
// scanner's runs hold none) into the backing buffer.
func (x *extractor) keepUTF16(p []byte) string {
	x.reserve(3 * len(p) / 2)
	s := len(x.arena)
	for i := 0; i+1 < len(p); i += 2 {
		r := rune(p[i]) | rune(p[i+1])<<8
		if r >= 0xD800 && r < 0xE000 {
			r = utf8.RuneError // as utf16.Decode reads a lone surrogate
		}
		x.arena = utf8.AppendRune(x.arena, r)
	}
	if len(x.arena) == s {
		return ""
	}
	return unsafe.String(&x.arena[s], len(x.arena)-s)
}

// compact copies the values kept into one buffer of their own, so that the
// set does not hold on to the backing buffers of every candidate found.
func compact(all []String) {
	n := 0
	for _, s := range all {
		n += len(s.Value)
	}
	buf := make([]byte, 0, n)
	for i := range all {
		v := all[i].Value
		if v == "" {
			continue
		}
		p := len(buf)
		buf = append(buf, v...)
		all[i].Value = unsafe.String(&buf[p], len(v))
	}
}

// printMask8 has bit k set when byte k of w (little-endian) is printable
// (isPrint): the range test for eight bytes at once, then their top bits
// gathered into one byte.
func printMask8(w uint64) uint64 {
	x := w &^ hi8
	ge20 := x + lo8*0x60             // top bit: x >= 0x20 (no carry out of a byte: x < 0x80)
	ge7f := x + lo8*0x01             // top bit: x >= 0x7F
	tab := (x ^ lo8*0x09) + lo8*0x7f // top bit clear: x == 0x09
	p := ((ge20 &^ ge7f) | ^tab) &^ w & hi8
	return (p >> 7) * 0x0102040810204080 >> 56
}

// printMask64 has bit k set when p[k] is printable; p holds 64 bytes.
func printMask64(p []byte) uint64 {
	_ = p[63]
	return printMask8(binary.LittleEndian.Uint64(p[0:])) |
		printMask8(binary.LittleEndian.Uint64(p[8:]))<<8 |
		printMask8(binary.LittleEndian.Uint64(p[16:]))<<16 |
		printMask8(binary.LittleEndian.Uint64(p[24:]))<<24 |
		printMask8(binary.LittleEndian.Uint64(p[32:]))<<32 |
		printMask8(binary.LittleEndian.Uint64(p[40:]))<<40 |
		printMask8(binary.LittleEndian.Uint64(p[48:]))<<48 |
		printMask8(binary.LittleEndian.Uint64(p[56:]))<<56
}

// asciiTo scans printable ASCII runs starting before lim.
//
// Only runs of min bytes or more are strings, so 64 bytes at a time it
// finds where min printable bytes in a row start (shifted ANDs of the
// printable mask; bytes past the window count as printable, so a run the
// window cuts is not missed) and skips windows holding none: code and
// tables mostly. Between windows i is 0 or follows a byte that is not
// printable, or b[i] is not printable, so the first such position in a
// window is a run's true start.
func (x *extractor) asciiTo(lim int) {
	b := x.b
	i := x.ai
	shifts := min(x.min-1, 63)
	for i < lim && i+64 <= len(b) {
		m := printMask64(b[i : i+64])
		r := m
		for k := 1; k <= shifts && r != 0; k++ {
			r &= m>>k | ^uint64(0)<<(64-k)
		}
		if r == 0 {
			i += 64
			continue
		}
		s := i + bits.TrailingZeros64(r)
		if s >= lim {
			i = s // b[s-1] is not printable: the next block starts the run
			break
		}
		i = s + 1
		for {
			for i+8 <= len(b) {
				w := binary.LittleEndian.Uint64(b[i:])
				if ((w-lo8*0x20)&^w|(w+lo8*(0x80-0x7F))|w)&hi8 != 0 {
					break
				}
				i += 8
			}
			if i >= len(b) || !printTab[b[i]] {
				break
			}
			i++
		}
		if i-s >= x.min {
			x.add(listASCII, s, b[s:min(i, s+maxStringBytes)])
		}
	}
	// The data's last bytes, one at a time.
	for i < lim {
		for i < lim && !printTab[b[i]] {
			i++
			// Zero fill, and bytes all 0x80 or above: eight at a time
			// (tried at every eighth byte, so code pays little for it).
			for i&7 == 0 && i+8 <= lim {
				if w := binary.LittleEndian.Uint64(b[i:]); w != 0 && w&hi8 != hi8 {
					break
				}
				i += 8
			}
		}
		if i >= lim {
			break
		}
		s := i
		i++
		for {
			// Text: eight printable bytes (0x20-0x7E) at a time.
			for i+8 <= len(b) {
				w := binary.LittleEndian.Uint64(b[i:])
				if ((w-lo8*0x20)&^w|(w+lo8*(0x80-0x7F))|w)&hi8 != 0 {
					break
				}
				i += 8
			}
			if i >= len(b) || !printTab[b[i]] {
				break
			}
			i++
		}
		if i-s >= x.min {
			x.add(listASCII, s, b[s:min(i, s+maxStringBytes)])
		}
	}
	x.ai = i
}

// u16Scan is the UTF-16 scanner's state at one alignment, between blocks.
// Printable ASCII, Latin-1 and CJK make up runs; Latin-1 and CJK are never
// in one run. While in a run it keeps the cheap counts only (see
// judgeUTF16).
type u16Scan struct {
	align int
	i     int // the next unit's offset
	run   u16Run
	// skip16's chunk: the class masks (run, zero, han, stop) of the 64
	// units from cb, when chunkOK.
	cb      int
	chunkOK bool
	m       [4]uint64
}

// u16Run is the run being read: where it starts and its cheap counts.
type u16Run struct {
	start     int  // -1 outside a run
	startOK   bool // the run starts where strings start
	chars     int
	hanzi     int
	punct     int
	latin1    int
	stretches int
	lastWide  bool
	asciiRun  int  // ASCII units at the run's end so far
	longASCII bool // the run holds an ASCII stretch of min units or more
}

func (s *u16Scan) init(align int) {
	*s = u16Scan{align: align, i: align, run: u16Run{start: -1}}
}

// A unit starts a run when it is narrow, Latin-1, Han or CJK punctuation,
// and not a tab (a dialog's 9-point font size is one); after a control unit
// or a tab, a run starts where strings start. Both are read from kind16tab
// (a table a question would be 64 KiB more to keep in cache).

// utf16To scans the units starting before lim. The run's counts live in
// locals while the loop runs (the compiler keeps them in registers) and go
// back to s when it returns or a run is judged.
func (x *extractor) utf16To(s *u16Scan, lim int) {
	b := x.b
	tab := &tabs.kind16
	minLen := x.min
	end := min(lim, len(b)-1) // units start before both
	i := s.i
	r := s.run
	start, chars, hanzi, punct, latin1, stretches := r.start, r.chars, r.hanzi, r.punct, r.latin1, r.stretches
	lastWide, asciiRun, longASCII := r.lastWide, r.asciiRun, r.longASCII
	startOK := r.startOK
	skip := minLen >= 2 // a run of one unit is a string when min is 1
	for i < end {
		if start < 0 {
			// Outside a run (most of a binary): first 64 units at a time
			// past the runs that cannot yield a string, then one table
			// lookup a unit.
			if skip {
				i = x.skip16(s, i, end)
			}
			for i < end {
				if u := uint16(b[i]) | uint16(b[i+1])<<8; tab[u] > u16Ctl && u != '\t' {
					break
				}
				i += 2
				// Zero fill (padding, BSS images): eight bytes at a time.
				for i&6 == 0 && i+8 <= end && binary.LittleEndian.Uint64(b[i:]) == 0 {
					i += 8
				}
			}
			if i >= end {
				break
			}
			// The unit before: the data's start, or a control or tab (the
			// unit that ended the last run is never a tab).
			if i < 2 {
				start, startOK = i, true
			} else {
				p := uint16(b[i-2]) | uint16(b[i-1])<<8
				start, startOK = i, tab[p] == u16Ctl || p == '\t'
			}
		} else if i-start >= maxStringBytes {
			// A string, not a section dump: cut here.
			x.endRun16(s.align, start, i, true, startOK, hanzi, punct, chars, stretches, longASCII)
			start, chars, hanzi, punct, latin1, stretches = -1, 0, 0, 0, 0, 0
			lastWide, asciiRun, longASCII = false, 0, false
			start, startOK = i, false
		}
		u := uint16(b[i]) | uint16(b[i+1])<<8
		k := tab[u]
		switch k {
		case u16Narrow:
			lastWide = false
			chars++
			if u < 0x80 {
				asciiRun++
				if asciiRun >= minLen {
					longASCII = true
				}
			} else {
				asciiRun = 0
			}
		case u16Latin1:
			if hanzi+punct > 0 {
				x.endRun16(s.align, start, i, true, startOK, hanzi, punct, chars, stretches, longASCII)
				start, chars, hanzi, punct, latin1, stretches = -1, 0, 0, 0, 0, 0
				lastWide, asciiRun, longASCII = false, 0, false
				start, startOK = i, false
			}
			lastWide = false
			chars++
			latin1++
			asciiRun = 0
		case u16Han, u16Punct:
			if latin1 > 0 {
				x.endRun16(s.align, start, i, false, startOK, hanzi, punct, chars, stretches, longASCII)
				start, chars, hanzi, punct, latin1, stretches = -1, 0, 0, 0, 0, 0
				lastWide, asciiRun, longASCII = false, 0, false
				start, startOK = i, false
			}
			if chars == 0 || !lastWide {
				stretches++
			}
			lastWide = true
			chars++
			if k == u16Han {
				hanzi++
			} else {
				punct++
			}
			asciiRun = 0
		default:
			// Most runs in binary data end here unjudged: short Latin, or
			// CJK neither terminated (by a control unit) nor holding an
			// ASCII stretch.
			if hanzi|punct == 0 && i-start >= 2*minLen || hanzi|punct != 0 && (longASCII || k == u16Ctl && hanzi >= 2) {
				x.endRun16(s.align, start, i, k == u16Ctl, startOK, hanzi, punct, chars, stretches, longASCII)
			}
			start, chars, hanzi, punct, latin1, stretches = -1, 0, 0, 0, 0, 0
			lastWide, asciiRun, longASCII = false, 0, false
		}
		i += 2
	}
	s.i = i
	s.run = u16Run{start: start, startOK: startOK, chars: chars, hanzi: hanzi, punct: punct, latin1: latin1,
		stretches: stretches, lastWide: lastWide, asciiRun: asciiRun, longASCII: longASCII}
}

// Unit classes for skip16, one bit each (class16tab).
const (
	c16Run  = 1 << iota // a unit runs are made of: kind16 above u16Ctl (tabs too)
	c16Zero             // a run unit with a zero high byte: ASCII, Latin-1, tab
	c16Han              // u16Han
	// u16Ctl or u16Latin1: outside a run a control unit (which ends a run
	// where strings end), inside one a Latin-1 unit (which cuts a CJK run)
	c16Stop
)

// makeClass16 fills t with the unit classes of every code unit, from their
// kinds.
func makeClass16(t, kind16 *[1 << 16]uint8) {
	for u := range t {
		k := kind16[u]
		var c uint8
		if k > u16Ctl {
			c |= c16Run
			if u>>8 == 0 {
				c |= c16Zero
			}
		}
		switch k {
		case u16Han:
			c |= c16Han
		case u16Ctl, u16Latin1:
			c |= c16Stop
		}
		t[u] = c
	}
}

// classMasks64 reads the 64 units of p (128 bytes) and returns, per class,
// the mask of the units in it (bit k for the unit at p[2k]). Eight units at
// a time: their class bytes packed in a word, each class's bits gathered by
// one multiplication (as in printMask8).
func classMasks64(p []byte) (run, zero, han, stop uint64) {
	t := &tabs.class16
	_ = p[127]
	for j := 0; j < 128; j += 16 {
		w0 := binary.LittleEndian.Uint64(p[j:])
		w1 := binary.LittleEndian.Uint64(p[j+8:])
		c := uint64(t[uint16(w0)]) | uint64(t[uint16(w0>>16)])<<8 | uint64(t[uint16(w0>>32)])<<16 | uint64(t[uint16(w0>>48)])<<24 |
			uint64(t[uint16(w1)])<<32 | uint64(t[uint16(w1>>16)])<<40 | uint64(t[uint16(w1>>32)])<<48 | uint64(t[uint16(w1>>48)])<<56
		sh := uint(j / 2)
		run |= gather8(c) << sh
		zero |= gather8(c>>1) << sh
		han |= gather8(c>>2) << sh
		stop |= gather8(c>>3) << sh
	}
	return
}

// zero128 reports whether the 128 bytes of p are all zero.
func zero128(p []byte) bool {
	_ = p[127]
	var o uint64
	for j := 0; j < 128; j += 8 {
		o |= binary.LittleEndian.Uint64(p[j:])
	}
	return o == 0
}

// highBits64 has the top bits of the 64 bytes of p OR-ed together, byte
// lane by byte lane: zero when no byte is 0x80 or above.
func highBits64(p []byte) uint64 {
	_ = p[63]
	var o uint64
	for j := 0; j < 64; j += 8 {
		o |= binary.LittleEndian.Uint64(p[j:])
	}
	return o & hi8
}

// gather8 packs bit 0 of each of w's eight bytes into one byte.
func gather8(w uint64) uint64 { return (w & lo8) * 0x0102040810204080 >> 56 }

// skip16 returns where the unit-by-unit scan should go on from i (outside a
// run, the unit before i not a run unit, or a tab): past every run that
// cannot yield a string, read 64 units at a time from their class masks.
// With min of 2 or more, a run yields a string only when it holds min units
// with a zero high byte (a Latin string, or the ASCII stretch of a CJK run),
// or two hanzi and an end where strings end (a control unit), a Latin-1
// unit (which cuts a CJK run as if it ended there) or the maxStringBytes
// cut; with fewer than four hanzi, a start where strings start too (see
// cheapPlausible and endRun16: the pieces a Latin-1 unit cuts off a run
// after its first never do). The chunk of 64 units last read is kept in s,
// as the scan comes back to it after each run it is handed; a run that goes
// on past a chunk is carried into the next one. The returned offset is the
// start of a run that may yield a string, or follows a unit that is not a
// run unit; the data's last 64 units are left to the unit-by-unit scan.
func (x *extractor) skip16(s *u16Scan, i, end int) int {
	b := x.b
	minLen := x.min
	if !s.chunkOK || i < s.cb || i >= s.cb+128 {
		if i >= end || i+128 > len(b) {
			return i
		}
		s.setChunk(b, i)
	}
	cb := s.cb
	from := uint(i-cb) / 2
	// The run carried from the chunk before: its start, units and counts.
	carry, cLen, cZero, cHan, cLatin1 := -1, 0, 0, 0, false
	for {
		// Outside runs stop marks the control units, inside them the
		// Latin-1 units.
		run, zero, han, stop := s.m[0], s.m[1], s.m[2], s.m[3]
		r := run & (^uint64(0) << from)
		// Run starts, but for runs of one unit, which yield nothing; one
		// at the last unit is kept, as its run may go on.
		starts := r &^ (r << 1) & (run>>1 | 1<<63)
		if carry >= 0 {
			e := bits.TrailingZeros64(^run)
			rm := uint64(1)<<e - 1 // all ones when e is 64
			cLen += e
			cZero += bits.OnesCount64(zero & rm)
			cHan += bits.OnesCount64(han & rm)
			cLatin1 = cLatin1 || stop&rm != 0
			if cLen >= maxStringBytes/2 {
				return carry
			}
			if e == 64 {
				starts = 0 // all its units: on to the next chunk
			} else {
				if cZero >= minLen || cHan >= 2 && (stop>>e&1 != 0 || cLatin1) {
					return carry
				}
				carry = -1
				starts &^= 1 // the carried run's units
			}
		}
		for starts != 0 {
			st := bits.TrailingZeros64(starts)
			e := st + bits.TrailingZeros64(^(run >> st))
			if e == 64 { // the run may go on past these units
				carry, cLen = cb+2*st, 64-st
				cZero, cHan, cLatin1 = bits.OnesCount64(zero>>st), bits.OnesCount64(han>>st), stop>>st != 0
				break
			}
			rm := (uint64(1)<<(e-st) - 1) << st
			if bits.OnesCount64(zero&rm) >= minLen {
				return cb + 2*st
			}
			// Two or three hanzi also need a start where strings start: a
			// control unit before (or a tab, which the mask counts in the
			// run; or a unit before this chunk, not known here).
			if h := bits.OnesCount64(han & rm); h >= 2 && (stop>>e&1 != 0 || stop&rm != 0) &&
				(h >= 4 || st == 0 || stop>>(st-1)&1 != 0 || zero>>st&1 != 0) {
				return cb + 2*st
			}
			starts &= starts - 1
		}
		cb += 128
		if carry < 0 && cb >= end {
			return cb
		}
		if cb+128 > len(b) {
			if carry >= 0 {
				return carry
			}
			return cb
		}
		s.setChunk(b, cb)
		from = 0
	}
}

// setChunk reads the class masks of the 64 units from cb into s.
func (s *u16Scan) setChunk(b []byte, cb int) {
	s.cb, s.chunkOK = cb, true
	p := b[cb : cb+128]
	if zero128(p) { // zero fill (padding, BSS images): no runs, all control units
		s.m = [4]uint64{0, 0, 0, ^uint64(0)}
		return
	}
	s.m[0], s.m[1], s.m[2], s.m[3] = classMasks64(p)
}

// endRun16 hands the run b[start:end] to judgeUTF16 when it may yield a
// string; most runs in binary data cannot (CJK that is not terminated and
// holds no ASCII stretch, or fails the cheap counts).
func (x *extractor) endRun16(align, start, end int, terminated, startOK bool, hanzi, punct, chars, stretches int, longASCII bool) {
	if hanzi == 0 && punct == 0 { // Latin text
		if (end-start)/2 >= x.min {
			x.add(listUTF16Even+align, start, x.b[start:end])
		}
		return
	}
	if longASCII || cheapPlausible(hanzi, punct, chars, stretches, x.hanWeight, x.min, terminated) && (hanzi >= 4 || startOK && stretches == 1) {
		x.judgeUTF16(align, start, end, startOK, terminated, longASCII)
	}
}

// utf16End ends the run the data's end cuts.
func (x *extractor) utf16End(s *u16Scan) {
	if s.run.start >= 0 {
		r := s.run
		x.endRun16(s.align, r.start, s.align+(len(x.b)-s.align)&^1, true, r.startOK, r.hanzi, r.punct, r.chars, r.stretches, r.longASCII)
	}
}

// cheapPlausible is what cjkCounts.plausible checks with the cheap counts
// alone: false here means false there.
func cheapPlausible(hanzi, punct, chars, stretches, hanWeight, min int, terminated bool) bool {
	return hanzi >= 2 && terminated && punct <= hanzi && chars-hanzi+hanzi*hanWeight >= min && 2*(hanzi+punct) >= 3*stretches
}

// judgeUTF16 emits the run b[start:end] holding CJK when it passes the
// plausibility rule, else its ASCII stretches (when it has any of min units
// or more).
func (x *extractor) judgeUTF16(align, start, end int, startOK, terminated, longASCII bool) {
	l := listUTF16Even + align
	b := x.b
	// ASCII read at the wrong alignment is not believable whatever its
	// counts: asked before counting it.
	if !readsAsASCII(b, x.min, start, end) {
		c := recount16(b[start:end])
		if c.plausible(x.hanWeight, x.min, startOK, terminated) && x.utf16Believable(start, end, &c) {
			x.add(l, start, b[start:end])
			return
		}
	}
	if !longASCII {
		return
	}
	// Not believable as CJK text: keep the ASCII stretches it contains.
	st := -1
	for i := start; i <= end; i += 2 {
		if i < end && b[i+1] == 0 && b[i] < 0x80 {
			if st < 0 {
				st = i
			}
			continue
		}
		if st >= 0 && (i-st)/2 >= x.min {
			x.add(l, st, b[st:i])
		}
		st = -1
	}
}

// recount16 tallies a UTF-16 run in full, as the scan's notes did.
func recount16(p []byte) cjkCounts {
	var c cjkCounts
	for i := 0; i+1 < len(p); i += 2 {
		u := uint16(p[i]) | uint16(p[i+1])<<8
		switch tabs.kind16[u] {
		case u16Narrow:
			c.note(false, 0, false, false)
		case u16Latin1:
			c.note(false, 0, false, false)
			c.latin1++
		case u16Han:
			r := rune(u)
			c.note(true, r, true, tabs.commonHan.has(r))
		case u16Punct:
			c.note(true, 0, false, false)
			c.punct++
		}
	}
	return c
}

// gbkTo scans for GBK/GB18030 double-byte text mixed with ASCII, from lead
// bytes before lim.
func (x *extractor) gbkTo(lim int) {
	b := x.b
	i := x.gi
	for i < lim {
		i = x.skipGBK(i, lim)
		// To the next lead byte: the next byte of 0x80 or above found
		// eight bytes at a time (ASCII text, zero fill and much of code
		// have none), then checked to be neither 0x80 nor 0xFF.
		for i < lim {
			if i+8 <= len(b) {
				m := binary.LittleEndian.Uint64(b[i:]) & hi8
				if m == 0 {
					i += 8
					continue
				}
				i += bits.TrailingZeros64(m) >> 3
				if i >= lim || gbkLeadTab[b[i]] {
					break
				}
				i++
				continue
			}
			if gbkLeadTab[b[i]] {
				break
			}
			i++
		}
		if i >= lim {
			break
		}
		// Back up over printable ASCII that leads into the double bytes.
		start := i
		for start > 0 && i-start < 256 && printTab[b[start-1]] {
			start--
		}
		// The run, with the cheap counts.
		var chars, hanzi, punct, rare, stretches int
		lastWide := false
		j := start
		for j < len(b) && j-start < maxStringBytes {
			ch := b[j]
			if printTab[ch] {
				chars++
				lastWide = false
				j++
				continue
			}
			if !gbkLeadTab[ch] || j+1 >= len(b) {
				break
			}
			t := b[j+1]
			if t < 0x40 || t == 0x7F || t == 0xFF {
				break
			}
			if chars == 0 || !lastWide {
				stretches++
			}
			lastWide = true
			chars++
			switch {
			case ch >= 0xB0 && ch <= 0xF7 && t >= 0xA1:
				hanzi++
			case ch == 0xA1 && t >= 0xA1 && t <= 0xBF, ch == 0xA3 && t >= 0xA1:
				punct++
			default:
				rare++
			}
			j += 2
		}
		terminated := j >= len(b) || b[j] == 0 || b[j] == '\r' || b[j] == '\n'
		if cheapPlausible(hanzi, punct, chars, stretches, x.hanWeight, x.min, terminated) && (hanzi >= 4 || rare == 0 && stretches == 1) {
			x.judgeGBK(start, j)
		}
		if j <= i {
			j = i + 1
		}
		i = j
	}
	x.gi = i
}

// Byte classes for skipGBK, one bit each (gbkClassTab).
const (
	gText     = 1 << iota // can be in a GBK run: printable ASCII, tab, 0x80-0xFE (leads and trails)
	gHanLead              // 0xB0-0xF7: leads a GB 2312 hanzi
	gHanTrail             // 0xA1-0xFE: ends one
	gEnd                  // NUL, CR, LF: where strings end
)

var gbkClassTab = func() (t [256]uint8) {
	for c := range t {
		if printTab[c] || c >= 0x80 && c <= 0xFE {
			t[c] |= gText
		}
		if c >= 0xB0 && c <= 0xF7 {
			t[c] |= gHanLead
		}
		if c >= 0xA1 && c <= 0xFE {
			t[c] |= gHanTrail
		}
		if c == 0 || c == '\r' || c == '\n' {
			t[c] |= gEnd
		}
	}
	return t
}()

// gbkMasks64 returns, per class, the mask of the bytes of p (64 bytes) in
// it, eight bytes at a time as classMasks64 does.
func gbkMasks64(p []byte) (text, hanLead, hanTrail uint64) {
	t := &gbkClassTab
	_ = p[63]
	for j := 0; j < 64; j += 8 {
		w := binary.LittleEndian.Uint64(p[j:])
		c := uint64(t[uint8(w)]) | uint64(t[uint8(w>>8)])<<8 | uint64(t[uint8(w>>16)])<<16 | uint64(t[uint8(w>>24)])<<24 |
			uint64(t[uint8(w>>32)])<<32 | uint64(t[uint8(w>>40)])<<40 | uint64(t[uint8(w>>48)])<<48 | uint64(t[w>>56])<<56
		text |= gather8(c) << j
		hanLead |= gather8(c>>1) << j
		hanTrail |= gather8(c>>2) << j
	}
	return
}

// skipGBK returns where gbkTo should look for the next lead byte from i:
// past the stretches of bytes that can be in a GBK run (gText) none of whose
// runs can yield a string, read 64 bytes at a time. Every run lies in one
// stretch (the bytes around a stretch can neither be in a run nor pair up
// with its bytes), and a run that yields a string holds two hanzi (a byte
// of 0xB0-0xF7 before one of 0xA1-0xFE) and ends where strings end (NUL,
// CR, LF: so at the stretch's end) or is cut at maxStringBytes. As in
// skip16, the chunk last read is kept for gbkTo's return after each run,
// and a stretch that goes on past a chunk is carried into the next. The
// returned offset is i or starts a stretch; the data's last 64 bytes are
// left to gbkTo.
func (x *extractor) skipGBK(i, lim int) int {
	b := x.b
	g := &x.gchunk
	if !g.ok || i < g.cb || i >= g.cb+64 {
		if i >= lim || i+64 > len(b) {
			return i
		}
		g.set(b, i)
	}
	cb := g.cb
	from := uint(i - cb)
	carry, cLen, cHan := -1, 0, 0 // the stretch carried from the chunk before
	for {
		text, hanzi := g.text, g.hanzi
		t := text & (^uint64(0) << from)
		starts := t &^ (t << 1)
		if carry >= 0 {
			e := bits.TrailingZeros64(^text)
			cLen += e
			cHan += bits.OnesCount64(hanzi & (uint64(1)<<e - 1))
			if cLen >= maxStringBytes {
				return carry
			}
			if e == 64 {
				starts = 0 // all its bytes: on to the next chunk
			} else {
				if cHan >= 2 && gbkClassTab[b[cb+e]]&gEnd != 0 {
					return carry
				}
				carry = -1
				starts &^= 1
			}
		}
		for starts != 0 {
			s := bits.TrailingZeros64(starts)
			e := s + bits.TrailingZeros64(^(text >> s))
			if e == 64 { // the stretch may go on past these bytes
				carry, cLen, cHan = cb+s, 64-s, bits.OnesCount64(hanzi>>s)
				break
			}
			if bits.OnesCount64(hanzi&(uint64(1)<<e-1)&^(uint64(1)<<s-1)) >= 2 && gbkClassTab[b[cb+e]]&gEnd != 0 {
				return cb + s
			}
			starts &= starts - 1
		}
		cb += 64
		if carry < 0 && cb >= lim {
			return cb
		}
		if cb+64 > len(b) {
			if carry >= 0 {
				return carry
			}
			return cb
		}
		g.set(b, cb)
		from = 0
	}
}

// gbkChunk is skipGBK's chunk: the masks of the 64 bytes from cb, when ok.
type gbkChunk struct {
	cb          int
	ok          bool
	text, hanzi uint64 // gText bytes, hanzi starts (lead and trail)
}

func (g *gbkChunk) set(b []byte, cb int) {
	g.cb, g.ok = cb, true
	p := b[cb : cb+64]
	if highBits64(p) == 0 { // ASCII and zero fill: no hanzi, gText is printable
		g.text, g.hanzi = printMask64(p), 0
		return
	}
	text, hanLead, hanTrail := gbkMasks64(p)
	hanzi := hanLead & (hanTrail >> 1)
	if hanLead>>63 != 0 && cb+64 < len(b) && gbkClassTab[b[cb+64]]&gHanTrail != 0 {
		hanzi |= 1 << 63 // the pair goes on into the next chunk
	}
	g.text, g.hanzi = text, hanzi
}

// judgeGBK emits the GBK run b[start:end] when it is believable, counted in
// full.
func (x *extractor) judgeGBK(start, end int) {
	b := x.b
	var c cjkCounts
	for j := start; j < end; {
		ch := b[j]
		if isPrint(ch) {
			c.note(false, 0, false, false)
			j++
			continue
		}
		t := b[j+1]
		switch {
		case ch >= 0xB0 && ch <= 0xF7 && t >= 0xA1:
			r := gbkHanzi(ch, t)
			c.note(true, r, true, ch <= 0xD7 && tabs.gb2312Level1.has(r))
		case ch == 0xA1 && t >= 0xA1 && t <= 0xBF, ch == 0xA3 && t >= 0xA1:
			c.note(true, 0, false, false)
			c.punct++
		default:
			c.note(true, 0, false, false)
			c.rare++
		}
		j += 2
	}
	startOK := start == 0 || b[start-1] == 0 || b[start-1] == '\r' || b[start-1] == '\n'
	terminated := end >= len(b) || b[end] == 0 || b[end] == '\r' || b[end] == '\n'
	if !c.plausible(x.hanWeight, x.min, startOK, terminated) || !x.gbkBelievable(start, end, &c) {
		return
	}
	if x.dec == nil {
		x.dec = simplifiedchinese.GB18030.NewDecoder()
	}
	v, err := x.dec.Bytes(b[start:end])
	if err != nil || bytes.ContainsRune(v, utf8.RuneError) {
		return
	}
	x.add(listGBK, start, v)
}
