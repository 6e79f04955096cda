// Package bzip2 is tomscan's own bzip2 decoder, for the modified bzip2 that
// NSIS installers use and, for cross-checking, standard bzip2 streams.
//
// NSIS's bzip2 (NSIS Source/bzip2) drops what the standard format has
// around its blocks: no "BZh" stream header, each block starts with the
// single byte 0x31 (not the 48-bit pi magic) followed straight by the
// 24-bit origin pointer (no block CRC, no randomised bit), and the stream
// ends with the single byte 0x17 (no 48-bit magic, no combined CRC). Blocks
// are not byte aligned: the 0x31 and 0x17 markers sit wherever the previous
// block's bits end. The block size is fixed at NSIS's level 9 (900,000
// bytes). Inside a block both formats are the same: Huffman-coded MTF
// values with RUNA/RUNB zero runs, a Burrows-Wheeler transform, and a
// final run-length coding of runs of four or more bytes.
//
// The reader streams: it holds one block (at most 4 bytes per block byte,
// 3.6 MB at level 9) and never trusts a count read from the input.
package bzip2

import (
	"errors"
	"fmt"
	"io"
)

// Mode selects the stream format.
type Mode int

const (
	// NSIS is the headerless, CRC-less bzip2 of NSIS installers.
	NSIS Mode = iota
	// Standard is bzip2 as the bzip2 program writes it: "BZh" header,
	// 48-bit block and end magics, block and stream CRCs (checked),
	// randomised blocks, concatenated streams.
	Standard
)

func (m Mode) String() string {
	if m == NSIS {
		return "nsis bzip2"
	}
	return "bzip2"
}

// Format limits.
const (
	// NSISBlockSize is the block size of NSIS's bzip2 (its level 9).
	NSISBlockSize = 9 * 100000
	maxGroups     = 6
	minGroups     = 2
	groupSize     = 50 // symbols per selector
	// maxSelectors is what a 900k block can need (bzip2's BZ_MAX_SELECTORS);
	// more may be declared, as bzip2 1.0.8 tolerates, but are not kept.
	maxSelectors = 2 + NSISBlockSize/groupSize
)

// ErrCorrupt is matched (errors.Is) by every error about bad data, as
// opposed to a truncated input or a failing reader.
var ErrCorrupt = errors.New("corrupt bzip2 data")

// Error is a decoding error with its place in the stream.
type Error struct {
	Mode   Mode
	Block  int // 1-based; 0 outside any block
	Reason string
	Err    error // the cause, when there is one
	// corrupt: the data is bad (as opposed to truncated, or unreadable).
	corrupt bool
}

func (e *Error) Error() string {
	s := e.Mode.String()
	if e.Block > 0 {
		s += fmt.Sprintf(": block %d", e.Block)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes corrupt-data errors match ErrCorrupt; truncation keeps matching
// io.ErrUnexpectedEOF through Unwrap.
func (e *Error) Is(target error) bool { return target == ErrCorrupt && e.corrupt }

// Reader decompresses one stream (in Standard mode, a series of
// concatenated streams).
type Reader struct {
	mode     Mode
	br       *bitReader
	blockMax int  // bytes a block may hold
	started  bool // Standard: the stream header was read
	inBlock  bool // a block was decoded and its end not yet checked
	done     bool
	err      error // sticky

	blockNo  int
	blockCRC uint32 // as stored (Standard)
	wantCRC  uint32 // combined stream CRC so far (Standard)
	crc      uint32 // of the current block's output

	// The current block, decoded: tt holds the byte in its low 8 bits and
	// the inverse-BWT link above them.
	tt         []uint32
	tPos       uint32
	left       int // BWT bytes of the block not yet output
	randomised bool
	randToGo   int
	randIdx    int

	// Final run-length decoding: after four equal bytes comes a count.
	last    int // previous byte, -1 at a block start
	run     int // how many times last repeated so far, up to 4
	pending int // copies of last still to output

	// Scratch for decoding a block.
	tables    [maxGroups]huffman
	selectors []uint8
	lengths   [maxAlpha]uint8
}

// NewReader returns a Reader of the stream in r. It reads r in chunks and
// may read past the end of the stream.
func NewReader(r io.Reader, mode Mode) *Reader {
	z := &Reader{mode: mode, br: newBitReader(r), last: -1}
	if mode == NSIS {
		z.blockMax = NSISBlockSize
	}
	return z
}

func (z *Reader) fail(reason string, err error) error {
	z.err = &Error{Mode: z.mode, Block: z.blockNo, Reason: reason, Err: err, corrupt: true}
	return z.err
}

func (z *Reader) corrupt(format string, args ...any) error {
	return z.fail(fmt.Sprintf(format, args...), nil)
}

// short wraps a read past the input's end.
func (z *Reader) short(what string) error {
	z.err = &Error{Mode: z.mode, Block: z.blockNo, Reason: what + ": " + errShort.Error(), Err: z.br.short()}
	return z.err
}

// Read implements io.Reader. It decodes at most one block per call.
func (z *Reader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	n := 0
	for n < len(p) {
		if z.pending > 0 {
			k := min(z.pending, len(p)-n)
			c := byte(z.last)
			for i := range k {
				p[n+i] = c
			}
			if z.mode == Standard {
				for range k {
					z.crc = crcUpdate(z.crc, c)
				}
			}
			z.pending -= k
			n += k
			continue
		}
		if z.left == 0 {
			if z.done {
				return n, io.EOF
			}
			if z.inBlock {
				if err := z.endBlock(); err != nil {
					return n, err
				}
			}
			if n > 0 {
				return n, nil // hand over what we have before the next block
			}
			if err := z.nextBlock(); err != nil {
				return n, err
			}
			continue
		}
		n += z.output(p[n:])
	}
	return n, nil
}

// output runs the inverse BWT and the final run-length decoding into p,
// up to the end of the block or of p, and returns the bytes written.
func (z *Reader) output(p []byte) int {
	n := 0
	tt, tPos, left := z.tt, z.tPos, z.left
	last, run, crc := z.last, z.run, z.crc
	standard := z.mode == Standard
	for n < len(p) && left > 0 {
		tPos = tt[tPos]
		b := byte(tPos)
		tPos >>= 8
		left--
		if z.randomised {
			if z.randToGo == 0 {
				z.randToGo = int(randNums[z.randIdx])
				z.randIdx = (z.randIdx + 1) % len(randNums)
			}
			z.randToGo--
			if z.randToGo == 1 {
				b ^= 1
			}
		}
		if run == 4 {
			// b counts further copies of last.
			run = 0
			if b > 0 {
				z.pending = int(b)
				break
			}
			continue
		}
		if int(b) == last {
			run++
		} else {
			last, run = int(b), 1
		}
		p[n] = b
		n++
		if standard {
			crc = crcUpdate(crc, b)
		}
	}
	z.tPos, z.left = tPos, left
	z.last, z.run, z.crc = last, run, crc
	return n
}

// endBlock checks the finished block's CRC (Standard).
func (z *Reader) endBlock() error {
	z.inBlock = false
	if z.mode != Standard {
		return nil
	}
	got := ^z.crc
	if got != z.blockCRC {
		return z.corrupt("block CRC %08x, stored %08x", got, z.blockCRC)
	}
	z.wantCRC = (z.wantCRC<<1 | z.wantCRC>>31) ^ got
	return nil
}

const (
	blockMagic = 0x314159265359
	endMagic   = 0x177245385090
	nsisBlock  = 0x31
	nsisEnd    = 0x17
)

// nextBlock reads the next block marker and decodes the block, or ends the
// stream.
func (z *Reader) nextBlock() error {
	br := z.br
	if z.mode == NSIS {
		m, err := br.bits(8)
		if err != nil {
			z.blockNo++
			return z.short("block marker")
		}
		switch m {
		case nsisEnd:
			z.done = true
			return io.EOF
		case nsisBlock:
		default:
			z.blockNo++
			return z.corrupt("bad block marker %#02x (want 0x31, or 0x17 at the end)", m)
		}
		z.blockNo++
		return z.readBlock()
	}
	if !z.started {
		if err := z.streamHeader(); err != nil {
			return err
		}
	}
	hi, err := br.bits(24)
	if err != nil {
		return z.short("block magic")
	}
	lo, err := br.bits(24)
	if err != nil {
		return z.short("block magic")
	}
	switch uint64(hi)<<24 | uint64(lo) {
	case blockMagic:
		z.blockNo++
		crc, err := br.bits(32)
		if err != nil {
			return z.short("block CRC")
		}
		z.blockCRC = crc
		return z.readBlock()
	case endMagic:
		stored, err := br.bits(32)
		if err != nil {
			return z.short("stream CRC")
		}
		if stored != z.wantCRC {
			return z.corrupt("stream CRC %08x, stored %08x", z.wantCRC, stored)
		}
		// Another stream may follow (as bzip2 -d accepts); anything else
		// after a complete stream is ignored, as bzip2 -d does.
		br.align()
		if br.atEOF() || br.peek(24) != 'B'<<16|'Z'<<8|'h' {
			z.done = true
			return io.EOF
		}
		z.started, z.blockNo, z.wantCRC = false, 0, 0
		return z.nextBlock()
	}
	return z.corrupt("bad block magic %#012x", uint64(hi)<<24|uint64(lo))
}

// streamHeader reads "BZh" and the level digit.
func (z *Reader) streamHeader() error {
	h, err := z.br.bits(32)
	if err != nil {
		return z.short("stream header")
	}
	if h>>8 != 'B'<<16|'Z'<<8|'h' {
		return z.corrupt("not a bzip2 stream (no BZh header)")
	}
	level := int(h&0xff) - '0'
	if level < 1 || level > 9 {
		return z.corrupt("bad block size level %q", rune(h&0xff))
	}
	z.blockMax = level * 100000
	z.started = true
	return nil
}
