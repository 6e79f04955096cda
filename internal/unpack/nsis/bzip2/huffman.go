package bzip2

import "errors"

// Huffman decoding. bzip2 transmits only code lengths (1..20 bits); the
// codes are canonical: assigned in order of length, then of symbol. Codes
// up to fastBits long decode with one table lookup; longer ones walk the
// lengths, using that the codes of one length form a contiguous range.
const (
	maxCodeLen = 20
	maxAlpha   = 258 // 256 byte values + RUNA/RUNB - 1 + EOB
	fastBits   = 10
)

type huffman struct {
	// fast[v] for the next fastBits bits v: symbol<<5 | length, or 0 when
	// the code is longer than fastBits (or unassigned).
	fast   [1 << fastBits]uint16
	minLen uint
	maxLen uint
	// For each length l: the first canonical code, how many codes, and
	// where their symbols start in sorted.
	first  [maxCodeLen + 1]uint32
	count  [maxCodeLen + 1]uint32
	offset [maxCodeLen + 1]uint16
	sorted [maxAlpha]uint16 // symbols in canonical order
}

var (
	errOversubscribed = errors.New("bad huffman code lengths: more codes than the lengths allow")
	errBadCode        = errors.New("invalid huffman code")
)

// build sets up h for symbols 0..len(lengths)-1. Lengths were checked to be
// in 1..maxCodeLen when read. An over-subscribed set of lengths cannot be
// a prefix code and is rejected; an incomplete one is accepted (an
// unassigned code fails when met), as bzip2 itself does not check.
func (h *huffman) build(lengths []uint8) error {
	h.count = [maxCodeLen + 1]uint32{}
	h.minLen, h.maxLen = maxCodeLen, 0
	for _, l := range lengths {
		h.count[l]++
		h.minLen = min(h.minLen, uint(l))
		h.maxLen = max(h.maxLen, uint(l))
	}
	// Kraft: the codes of every length must fit the code space.
	var space uint32 = 1 << maxCodeLen
	var code uint32
	var off uint16
	for l := uint(1); l <= maxCodeLen; l++ {
		used := h.count[l] << (maxCodeLen - l)
		if used > space {
			return errOversubscribed
		}
		space -= used
		h.first[l] = code
		h.offset[l] = off
		code = (code + h.count[l]) << 1
		off += uint16(h.count[l])
	}
	next := h.offset
	for sym, l := range lengths {
		h.sorted[next[l]] = uint16(sym)
		next[l]++
	}
	h.fast = [1 << fastBits]uint16{}
	for l := uint(1); l <= min(fastBits, h.maxLen); l++ {
		for i := uint32(0); i < h.count[l]; i++ {
			sym := h.sorted[uint32(h.offset[l])+i]
			c := h.first[l] + i
			lo, hi := c<<(fastBits-l), (c+1)<<(fastBits-l)
			for v := lo; v < hi; v++ {
				h.fast[v] = sym<<5 | uint16(l)
			}
		}
	}
	return nil
}

// decode reads one symbol.
func (h *huffman) decode(b *bitReader) (int, error) {
	if b.n < maxCodeLen {
		b.fill()
	}
	if e := h.fast[b.peek(fastBits)]; e != 0 {
		l := uint(e & 31)
		if l > b.n {
			return 0, b.short()
		}
		b.n -= l
		return int(e >> 5), nil
	}
	v := b.peek(h.maxLen)
	for l := max(h.minLen, fastBits+1); l <= h.maxLen; l++ {
		c := v >> (h.maxLen - l)
		if i := c - h.first[l]; i < h.count[l] { // unsigned: also c >= first
			if l > b.n {
				return 0, b.short()
			}
			b.n -= l
			return int(h.sorted[uint32(h.offset[l])+i]), nil
		}
	}
	if h.maxLen > b.n {
		return 0, b.short()
	}
	return 0, errBadCode
}
