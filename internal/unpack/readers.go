package unpack

import (
	"context"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// ContextReader returns r with reads that fail once ctx ends, so a long
// decompression stops at the build's deadline instead of at its end. what,
// when not "", names the format in r's own read errors ("gzip: ...").
func ContextReader(ctx context.Context, r io.Reader, what string) io.Reader {
	return &contextReader{ctx: ctx, r: r, what: what}
}

type contextReader struct {
	ctx  context.Context
	r    io.Reader
	what string
}

func (c *contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF && c.what != "" {
		err = fmt.Errorf("%s: %w", c.what, err)
	}
	return n, err
}

// Declared is what a container's header says of one entry's decoded bytes.
type Declared struct {
	Size    uint64
	HasSize bool
	CRC32   uint32
	HasCRC  bool // false when the header stores none (a 7z file without one, ZIP AE-2)
}

// MismatchError is an entry that decoded to other than its header declared.
type MismatchError struct {
	Field     string // "size" or "CRC-32"
	Got, Want uint64
}

func (e *MismatchError) Error() string {
	if e.Field == "size" {
		return fmt.Sprintf("%d bytes decoded, the header says %d", e.Got, e.Want)
	}
	return fmt.Sprintf("%s %08x, the header says %08x", e.Field, e.Got, e.Want)
}

// CheckedReader returns r held to d: at r's end, a byte count or CRC-32
// other than the declared one is a read error (a *MismatchError wrapped
// with where, e.g. `7z: entry "a.exe"`), which the engine records on the
// child while keeping the bytes as read. Libraries that decode without
// checking (a folder that decodes short under a wrong key, damaged stored
// bytes) would otherwise hand over a short or garbled child with no issue.
func CheckedReader(r io.Reader, d Declared, where string) io.Reader {
	c := &checkedReader{r: r, d: d, where: where}
	if d.HasCRC {
		c.h = crc32.NewIEEE()
	}
	return c
}

type checkedReader struct {
	r     io.Reader
	d     Declared
	where string
	h     hash.Hash32
	n     uint64
}

func (c *checkedReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += uint64(k)
	if c.h != nil {
		c.h.Write(p[:k])
	}
	if err == io.EOF {
		if c.d.HasSize && c.n != c.d.Size {
			return k, c.wrap(&MismatchError{Field: "size", Got: c.n, Want: c.d.Size})
		}
		if c.h != nil && c.h.Sum32() != c.d.CRC32 {
			return k, c.wrap(&MismatchError{Field: "CRC-32", Got: uint64(c.h.Sum32()), Want: uint64(c.d.CRC32)})
		}
	}
	return k, err
}

func (c *checkedReader) wrap(err error) error {
	if c.where == "" {
		return err
	}
	return fmt.Errorf("%s: %w", c.where, err)
}
