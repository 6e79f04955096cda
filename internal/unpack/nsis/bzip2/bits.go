package bzip2

import (
	"errors"
	"io"
)

// bitReader reads a big-endian bit stream (bzip2 packs bits most
// significant first). It keeps up to 64 bits in acc, refilled from its own
// buffer so the Huffman loop rarely leaves this type.
type bitReader struct {
	r        io.Reader
	buf      []byte
	pos, end int
	acc      uint64 // the low n bits are unread; the next bit is bit n-1
	n        uint
	err      error // the underlying reader's error, once its data ran out
}

func newBitReader(r io.Reader) *bitReader { return &bitReader{r: r, buf: make([]byte, 8<<10)} }

// fill tops acc up to at least 57 bits, or as many as the input has left.
func (b *bitReader) fill() {
	for b.n <= 56 {
		if b.pos == b.end {
			if b.err != nil {
				return
			}
			b.pos = 0
			b.end, b.err = io.ReadAtLeast(b.r, b.buf, 1)
			if b.end == 0 {
				if b.err == nil {
					b.err = io.ErrNoProgress
				}
				return
			}
		}
		b.acc = b.acc<<8 | uint64(b.buf[b.pos])
		b.pos++
		b.n += 8
	}
}

// errShort says the input ended inside the stream.
var errShort = errors.New("unexpected end of data")

// short is the error for a read past the end of the input: the reader's own
// error when it failed, else io.ErrUnexpectedEOF.
func (b *bitReader) short() error {
	if b.err != nil && b.err != io.EOF {
		return b.err
	}
	return io.ErrUnexpectedEOF
}

// bits reads k <= 32 bits.
func (b *bitReader) bits(k uint) (uint32, error) {
	if b.n < k {
		b.fill()
		if b.n < k {
			return 0, b.short()
		}
	}
	b.n -= k
	return uint32(b.acc>>b.n) & (1<<k - 1), nil
}

// peek returns the next k <= 32 bits without consuming them, padded with
// zero bits past the end of the input; the caller checks b.n before it
// consumes.
func (b *bitReader) peek(k uint) uint32 {
	if b.n >= k {
		return uint32(b.acc>>(b.n-k)) & (1<<k - 1)
	}
	return uint32(b.acc<<(k-b.n)) & (1<<k - 1)
}

// align drops the bits left of the current byte.
func (b *bitReader) align() { b.n -= b.n % 8 }

// atEOF reports whether no input is left at all.
func (b *bitReader) atEOF() bool {
	if b.n == 0 {
		b.fill()
	}
	return b.n == 0
}
