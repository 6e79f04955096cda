// Package lzx decodes the LZX compression used in Microsoft cabinets
// (CFFOLDER typeCompress 3). It follows the published LZX format and the
// structure of libmspack's lzxd.c: 32 KiB output frames, the bitstream
// re-aligned to 16 bits after each frame, Huffman code lengths carried as
// deltas from the previous block, and Intel E8 call translation undone per
// frame. Input is untrusted: every table is checked before use and every
// error is returned, never a panic.
package lzx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// FrameSize is the size of one LZX output frame; a cabinet's CFDATA blocks
// each hold one frame (the last of a folder may be shorter).
const FrameSize = 32768

const (
	minMatch        = 2
	numChars        = 256
	numPrimaryLens  = 7
	numSecondaryLen = 249
	pretreeSymbols  = 20
	alignedSymbols  = 8
	maxMainSymbols  = numChars + 50*8

	blockVerbatim     = 1
	blockAligned      = 2
	blockUncompressed = 3
)

// ErrCorrupt marks input that is not a valid LZX stream.
var ErrCorrupt = errors.New("lzx: corrupt stream")

var extraBits [51]uint8
var positionBase [51]uint32

func init() {
	j := uint8(0)
	for i := 0; i < 51; i += 2 {
		extraBits[i] = j
		if i+1 < 51 {
			extraBits[i+1] = j
		}
		if i != 0 && j < 17 {
			j++
		}
	}
	b := uint32(0)
	for i := 0; i < 51; i++ {
		positionBase[i] = b
		b += 1 << extraBits[i]
	}
}

// positionSlots maps window bits (15..21) to the number of position slots.
var positionSlots = map[int]int{15: 30, 16: 32, 17: 34, 18: 36, 19: 38, 20: 42, 21: 50}

// Decoder decodes one LZX stream (one cabinet folder) frame by frame.
type Decoder struct {
	br bitReader

	window     []byte
	windowSize uint32
	windowPos  uint32
	framePos   uint32
	offset     int64 // output bytes produced before the current frame
	frame      uint32

	r0, r1, r2 uint32
	slots      int

	headerRead     bool
	blockType      int
	blockLength    uint32
	blockRemaining uint32

	intelFileSize int32
	intelCurPos   int32
	intelStarted  bool

	mainLens    [maxMainSymbols]uint8
	lengthLens  [numSecondaryLen]uint8
	alignedLens [alignedSymbols]uint8
	main        huffman
	length      huffman
	aligned     huffman
	pre         huffman

	out [FrameSize]byte
}

// NewDecoder returns a decoder for a stream compressed with a window of
// 1<<windowBits bytes, reading compressed bytes from r.
func NewDecoder(r io.Reader, windowBits int) (*Decoder, error) {
	slots, ok := positionSlots[windowBits]
	if !ok {
		return nil, fmt.Errorf("lzx: window bits %d not in 15..21", windowBits)
	}
	d := &Decoder{
		window:     make([]byte, 1<<windowBits),
		windowSize: 1 << windowBits,
		slots:      slots,
		r0:         1, r1: 1, r2: 1,
	}
	d.br.r = r
	return d, nil
}

// Frame decodes the next frame of n bytes (1..FrameSize) and returns it. The
// returned slice is valid until the next call.
func (d *Decoder) Frame(n int) ([]byte, error) {
	if n <= 0 || n > FrameSize {
		return nil, fmt.Errorf("%w: frame size %d", ErrCorrupt, n)
	}
	if !d.headerRead {
		bit, err := d.br.read(1)
		if err != nil {
			return nil, err
		}
		var hi, lo uint32
		if bit != 0 {
			if hi, err = d.br.read(16); err != nil {
				return nil, err
			}
			if lo, err = d.br.read(16); err != nil {
				return nil, err
			}
		}
		d.intelFileSize = int32(hi<<16 | lo)
		d.headerRead = true
	}
	frameSize := uint32(n)
	if d.framePos+frameSize > d.windowSize {
		return nil, fmt.Errorf("%w: frame crosses the window end", ErrCorrupt)
	}
	todo := int64(d.framePos) + int64(frameSize) - int64(d.windowPos)
	for todo > 0 {
		if d.blockRemaining == 0 {
			if err := d.readBlockHeader(); err != nil {
				return nil, err
			}
		}
		run := int64(d.blockRemaining)
		if run > todo {
			run = todo
		}
		todo -= run
		d.blockRemaining -= uint32(run)
		var err error
		switch d.blockType {
		case blockVerbatim, blockAligned:
			run, err = d.decodeMatches(run)
		case blockUncompressed:
			if int64(d.windowPos)+run > int64(d.windowSize) {
				return nil, fmt.Errorf("%w: stored run past the window end", ErrCorrupt)
			}
			err = d.br.readRaw(d.window[d.windowPos : d.windowPos+uint32(run)])
			d.windowPos += uint32(run)
			run = 0
		}
		if err != nil {
			return nil, err
		}
		if run < 0 {
			// The last match ran past this run: it ate into the rest of the block.
			if uint32(-run) > d.blockRemaining {
				return nil, fmt.Errorf("%w: match overran the block", ErrCorrupt)
			}
			d.blockRemaining -= uint32(-run)
		}
	}
	if d.windowPos-d.framePos != frameSize {
		return nil, fmt.Errorf("%w: decoded past the frame end", ErrCorrupt)
	}
	if err := d.br.align(); err != nil {
		return nil, err
	}
	out := d.out[:frameSize]
	copy(out, d.window[d.framePos:d.framePos+frameSize])
	if d.intelStarted && d.intelFileSize != 0 && d.frame < 32768 && frameSize > 10 {
		d.undoE8(out)
	} else if d.intelFileSize != 0 {
		d.intelCurPos += int32(frameSize)
	}
	d.framePos += frameSize
	d.offset += int64(frameSize)
	d.frame++
	if d.windowPos == d.windowSize {
		d.windowPos = 0
	}
	if d.framePos == d.windowSize {
		d.framePos = 0
	}
	return out, nil
}

// undoE8 turns the absolute CALL targets the compressor wrote back into
// relative ones.
func (d *Decoder) undoE8(data []byte) {
	cur := d.intelCurPos
	size := d.intelFileSize
	end := len(data) - 10
	for i := 0; i < end; {
		if data[i] != 0xE8 {
			i++
			cur++
			continue
		}
		abs := int32(binary.LittleEndian.Uint32(data[i+1:]))
		if abs >= -cur && abs < size {
			rel := abs + size
			if abs >= 0 {
				rel = abs - cur
			}
			binary.LittleEndian.PutUint32(data[i+1:], uint32(rel))
		}
		i += 5
		cur += 5
	}
	d.intelCurPos += int32(len(data))
}

func (d *Decoder) readBlockHeader() error {
	br := &d.br
	if d.blockType == blockUncompressed && d.blockLength&1 == 1 {
		// An odd-sized stored block is followed by one pad byte.
		var pad [1]byte
		if err := br.readRaw(pad[:]); err != nil {
			return err
		}
	}
	t, err := br.read(3)
	if err != nil {
		return err
	}
	hi, err := br.read(16)
	if err != nil {
		return err
	}
	lo, err := br.read(8)
	if err != nil {
		return err
	}
	d.blockType = int(t)
	d.blockLength = hi<<8 | lo
	d.blockRemaining = d.blockLength
	switch d.blockType {
	case blockAligned:
		for i := range d.alignedLens {
			v, err := br.read(3)
			if err != nil {
				return err
			}
			d.alignedLens[i] = uint8(v)
		}
		if err := d.aligned.build(d.alignedLens[:], false); err != nil {
			return fmt.Errorf("aligned tree: %w", err)
		}
		fallthrough
	case blockVerbatim:
		mainN := numChars + d.slots*8
		if err := d.readLengths(d.mainLens[:], 0, numChars); err != nil {
			return err
		}
		if err := d.readLengths(d.mainLens[:], numChars, mainN); err != nil {
			return err
		}
		if err := d.main.build(d.mainLens[:mainN], false); err != nil {
			return fmt.Errorf("main tree: %w", err)
		}
		if d.mainLens[0xE8] != 0 {
			d.intelStarted = true
		}
		if err := d.readLengths(d.lengthLens[:], 0, numSecondaryLen); err != nil {
			return err
		}
		if err := d.length.build(d.lengthLens[:], true); err != nil {
			return fmt.Errorf("length tree: %w", err)
		}
	case blockUncompressed:
		d.intelStarted = true
		if err := br.alignForStored(); err != nil {
			return err
		}
		var rs [12]byte
		if err := br.readRaw(rs[:]); err != nil {
			return err
		}
		d.r0 = binary.LittleEndian.Uint32(rs[0:])
		d.r1 = binary.LittleEndian.Uint32(rs[4:])
		d.r2 = binary.LittleEndian.Uint32(rs[8:])
	default:
		return fmt.Errorf("%w: block type %d", ErrCorrupt, d.blockType)
	}
	return nil
}

// readLengths reads code lengths first..last-1 through a fresh pretree; each
// is a delta (mod 17) from the length the symbol had in the previous block.
func (d *Decoder) readLengths(lens []uint8, first, last int) error {
	var pl [pretreeSymbols]uint8
	for i := range pl {
		v, err := d.br.read(4)
		if err != nil {
			return err
		}
		pl[i] = uint8(v)
	}
	if err := d.pre.build(pl[:], false); err != nil {
		return fmt.Errorf("pretree: %w", err)
	}
	for x := first; x < last; {
		z, err := d.pre.decode(&d.br)
		if err != nil {
			return err
		}
		switch {
		case z == 17 || z == 18:
			var n uint32
			if z == 17 {
				n, err = d.br.read(4)
				n += 4
			} else {
				n, err = d.br.read(5)
				n += 20
			}
			if err != nil {
				return err
			}
			for ; n > 0 && x < last; n-- {
				lens[x] = 0
				x++
			}
			if n > 0 {
				return fmt.Errorf("%w: code length run past the table", ErrCorrupt)
			}
		case z == 19:
			n, err := d.br.read(1)
			if err != nil {
				return err
			}
			n += 4
			s, err := d.pre.decode(&d.br)
			if err != nil {
				return err
			}
			if s > 16 {
				return fmt.Errorf("%w: pretree symbol %d in a run", ErrCorrupt, s)
			}
			if x+int(n) > last {
				return fmt.Errorf("%w: code length run past the table", ErrCorrupt)
			}
			v := uint8((int(lens[x]) - int(s) + 17) % 17)
			for ; n > 0; n-- {
				lens[x] = v
				x++
			}
		default:
			lens[x] = uint8((int(lens[x]) - int(z) + 17) % 17)
			x++
		}
	}
	return nil
}

// decodeMatches decodes literals and matches into the window until run bytes
// are produced; it returns run minus what was produced (negative when the
// last match overran).
func (d *Decoder) decodeMatches(run int64) (int64, error) {
	br := &d.br
	for run > 0 {
		sym, err := d.main.decode(br)
		if err != nil {
			return 0, err
		}
		if sym < numChars {
			d.window[d.windowPos] = byte(sym)
			d.windowPos++
			run--
			continue
		}
		sym -= numChars
		matchLen := uint32(sym & numPrimaryLens)
		if matchLen == numPrimaryLens {
			extra, err := d.length.decode(br)
			if err != nil {
				return 0, err
			}
			matchLen += uint32(extra)
		}
		matchLen += minMatch
		slot := sym >> 3
		var off uint32
		switch {
		case slot > 2:
			if int(slot) >= len(extraBits) {
				return 0, fmt.Errorf("%w: position slot %d", ErrCorrupt, slot)
			}
			extra := uint(extraBits[slot])
			off = positionBase[slot] - 2
			if d.blockType == blockAligned && extra >= 3 {
				if extra > 3 {
					v, err := br.read(extra - 3)
					if err != nil {
						return 0, err
					}
					off += v << 3
				}
				a, err := d.aligned.decode(br)
				if err != nil {
					return 0, err
				}
				off += uint32(a)
			} else if extra > 0 {
				v, err := br.read(extra)
				if err != nil {
					return 0, err
				}
				off += v
			} else {
				off = 1
			}
			d.r2, d.r1, d.r0 = d.r1, d.r0, off
		case slot == 0:
			off = d.r0
		case slot == 1:
			off = d.r1
			d.r1, d.r0 = d.r0, off
		default:
			off = d.r2
			d.r2, d.r0 = d.r0, off
		}
		if d.windowPos+matchLen > d.windowSize {
			return 0, fmt.Errorf("%w: match ran over the window end", ErrCorrupt)
		}
		if off == 0 || off > d.windowSize {
			return 0, fmt.Errorf("%w: match offset %d", ErrCorrupt, off)
		}
		dst := d.windowPos
		if off > d.windowPos {
			if int64(off) > d.offset {
				return 0, fmt.Errorf("%w: match offset %d before the stream start", ErrCorrupt, off)
			}
			// The match starts in the previous lap of the circular window.
			src := d.windowSize - (off - d.windowPos)
			for i := uint32(0); i < matchLen; i++ {
				d.window[dst+i] = d.window[src]
				src++
				if src == d.windowSize {
					src = 0
				}
			}
		} else {
			src := dst - off
			for i := uint32(0); i < matchLen; i++ {
				d.window[dst+i] = d.window[src+i]
			}
		}
		d.windowPos += matchLen
		run -= int64(matchLen)
	}
	return run, nil
}

// huffman is a canonical Huffman decoder with a direct 16-bit lookup table.
type huffman struct {
	lens  []uint8
	table []uint16 // symbol+1 by the next 16 bits; 0 = no such code
	empty bool
}

// build makes the table from code lengths. An incomplete code is kept (its
// holes fail at decode); an oversubscribed one is an error. maybeEmpty allows
// a tree whose lengths are all zero (no symbol used).
func (h *huffman) build(lens []uint8, maybeEmpty bool) error {
	if h.table == nil {
		h.table = make([]uint16, 1<<16)
	} else {
		clear(h.table)
	}
	h.lens = lens
	var count [17]int
	for _, l := range lens {
		if l > 16 {
			return fmt.Errorf("%w: code length %d", ErrCorrupt, l)
		}
		count[l]++
	}
	h.empty = count[0] == len(lens)
	if h.empty {
		if maybeEmpty {
			return nil
		}
		return fmt.Errorf("%w: empty Huffman tree", ErrCorrupt)
	}
	var next [17]uint32
	code := uint32(0)
	for l := 1; l <= 16; l++ {
		code = (code + uint32(count[l-1])) << 1
		if l == 1 {
			code = 0
		}
		next[l] = code
	}
	// Check for oversubscription: the codes of length l must fit in l bits.
	left := 1
	for l := 1; l <= 16; l++ {
		left <<= 1
		left -= count[l]
		if left < 0 {
			return fmt.Errorf("%w: oversubscribed Huffman tree", ErrCorrupt)
		}
	}
	for sym, l := range lens {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		lo := c << (16 - l)
		hi := (c + 1) << (16 - l)
		for i := lo; i < hi; i++ {
			h.table[i] = uint16(sym + 1)
		}
	}
	return nil
}

func (h *huffman) decode(br *bitReader) (int, error) {
	if h.empty {
		return 0, fmt.Errorf("%w: symbol from an empty tree", ErrCorrupt)
	}
	if err := br.ensure(16); err != nil {
		return 0, err
	}
	v := h.table[br.peek16()]
	if v == 0 {
		return 0, fmt.Errorf("%w: invalid Huffman code", ErrCorrupt)
	}
	sym := int(v - 1)
	br.remove(uint(h.lens[sym]))
	return sym, nil
}

// bitReader reads 16-bit little-endian words, most significant bit first, as
// LZX does. Like lzxd.c it takes whole words into the bit buffer only when it
// needs bits, so that a stored block can take over byte by byte after
// alignment; the bytes themselves are read from r in chunks.
type bitReader struct {
	r       io.Reader
	in      []byte // read from r, not yet used
	chunk   [4096]byte
	eof     bool
	buf     uint64 // the next n bits, in the low bits
	n       uint
	padding int // zero words supplied after EOF, for peeks at the stream end
}

const maxPadWords = 8

// fill makes at least want bytes available in b.in unless the input ends.
func (b *bitReader) fill(want int) error {
	for len(b.in) < want && !b.eof {
		rest := copy(b.chunk[:], b.in)
		k, err := b.r.Read(b.chunk[rest:])
		b.in = b.chunk[:rest+k]
		if err == io.EOF {
			b.eof = true
		} else if err != nil {
			return fmt.Errorf("lzx: read input: %w", err)
		}
	}
	return nil
}

func (b *bitReader) ensure(n uint) error {
	for b.n < n {
		if len(b.in) < 2 {
			if err := b.fill(2); err != nil {
				return err
			}
		}
		var w uint64
		if len(b.in) >= 2 {
			w = uint64(b.in[0]) | uint64(b.in[1])<<8
			b.in = b.in[2:]
		} else {
			// Like lzxd.c, allow peeking a little past the end.
			b.in = b.in[:0]
			b.padding++
			if b.padding > maxPadWords {
				return fmt.Errorf("%w: input ends early", ErrCorrupt)
			}
		}
		b.buf = b.buf<<16 | w
		b.n += 16
	}
	return nil
}

func (b *bitReader) peek16() uint32 { return uint32(b.buf>>(b.n-16)) & 0xFFFF }

func (b *bitReader) remove(n uint) {
	b.n -= n
	b.buf &= (1 << b.n) - 1
}

func (b *bitReader) read(n uint) (uint32, error) {
	if n == 0 {
		return 0, nil
	}
	if err := b.ensure(n); err != nil {
		return 0, err
	}
	v := uint32(b.buf>>(b.n-n)) & (1<<n - 1)
	b.remove(n)
	return v, nil
}

// align drops the rest of the current 16-bit word (end of a frame).
func (b *bitReader) align() error {
	if b.n > 0 {
		if err := b.ensure(16); err != nil {
			return err
		}
	}
	b.remove(b.n & 15)
	return nil
}

// alignForStored drops 1..16 bits to reach the stored block's bytes: the
// rest of the current word, or a whole word when already aligned.
func (b *bitReader) alignForStored() error {
	if b.n == 0 {
		if err := b.ensure(16); err != nil {
			return err
		}
	}
	b.n = 0
	b.buf = 0
	return nil
}

func (b *bitReader) readRaw(p []byte) error {
	if b.n != 0 {
		return fmt.Errorf("%w: stored bytes inside the bitstream", ErrCorrupt)
	}
	for len(p) > 0 {
		if len(b.in) == 0 {
			if err := b.fill(1); err != nil {
				return err
			}
			if len(b.in) == 0 {
				return fmt.Errorf("%w: stored block: input ends early", ErrCorrupt)
			}
		}
		k := copy(p, b.in)
		b.in = b.in[k:]
		p = p[k:]
	}
	return nil
}
