package nsis

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/tomscan/tomscan/internal/unpack"
	nsisscript "github.com/tomscan/tomscan/internal/unpack/nsis/script"
)

// Our own reader of an installer's files. The decoded script's files table
// gives each file's name and its offset in the data; the layout says how
// the data is stored:
//   - non-solid: from Layout.Start, one block per item: a 4-byte length
//     whose high bit says compressed, then that many bytes, each compressed
//     block a stream of its own (raw deflate, LZMA with its 5-byte
//     properties, NSIS bzip2);
//   - solid: one compressed stream from Layout.Start holding a 4-byte length
//     and the header, then per item a 4-byte length and its bytes; offsets
//     count from the end of the header.
//
// Every byte decompressed, whether handed over or skipped, is charged to
// one budget (the build's byte limit), and the context is checked on every
// read, so a bomb costs at most the limits. Lengths read from the data
// bound reads, never allocations.

// maxLZMADict caps the LZMA dictionary allocated for the data: NSIS's
// default is 8 MiB; a larger declared size only matters if matches reach
// that far back, and then the item fails with an error, not an allocation
// of the declared size.
const maxLZMADict = 64 << 20

// errBudget says the reader decompressed as much as the limits allow.
var errBudget = errors.New("more than max total bytes decompressed")

// item is one file the script extracts, named as 7z lists it.
type item struct {
	name   string
	offset int64
}

// itemsOf lists the files of the decoded files table (columns name,
// output dir, path, data offset) in data order. A name repeated at the same
// offset is one file, as 7z lists it; other repeats are kept.
func itemsOf(files [][]string) []item {
	var out []item
	seen := map[item]bool{}
	for _, f := range files {
		if len(f) < 4 {
			continue
		}
		off, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || off < 0 {
			continue
		}
		it := item{name: nsisscript.ListedName(f[2]), offset: off}
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].offset < out[j].offset })
	return out
}

// itemReader walks an installer's data.
type itemReader struct {
	ctx    context.Context
	in     unpack.Input
	layout nsisscript.Layout
	left   int64 // bytes that may still be decompressed
}

func newItemReader(ctx context.Context, in unpack.Input, layout nsisscript.Layout) *itemReader {
	return &itemReader{ctx: ctx, in: in, layout: layout, left: in.Limits.MaxTotalBytes}
}

// charged counts what r yields against the budget and stops at ctx's end.
type charged struct {
	ir *itemReader
	r  io.Reader
}

func (c *charged) Read(p []byte) (int, error) {
	if err := c.ir.ctx.Err(); err != nil {
		return 0, err
	}
	if c.ir.left <= 0 {
		return 0, errBudget
	}
	if int64(len(p)) > c.ir.left {
		p = p[:c.ir.left]
	}
	n, err := c.r.Read(p)
	c.ir.left -= int64(n)
	return n, err
}

// visitFunc receives the items at one data offset (several names may share
// one data block) with the block's bytes. size is -1 when only reading
// tells (a compressed non-solid block). It need not read body to the end.
type visitFunc func(items []item, size int64, method string, body io.Reader) error

// itemError is one item that could not be read; the walk goes on.
type itemError struct {
	items []item
	err   error
}

func (e *itemError) Error() string {
	return fmt.Sprintf("nsis: %s (data offset %d): %v", e.items[0].name, e.items[0].offset, e.err)
}

func (e *itemError) Unwrap() error { return e.err }

// walk calls visit for every offset of items, in data order. Damage to one
// item is returned in errs and the walk goes on when it can; err ends it
// (ctx, the budget, a solid stream that broke, or visit's error).
func (ir *itemReader) walk(items []item, visit visitFunc) (errs []error, err error) {
	var groups [][]item
	for i, it := range items {
		if i > 0 && it.offset == items[i-1].offset {
			groups[len(groups)-1] = append(groups[len(groups)-1], it)
		} else {
			groups = append(groups, []item{it})
		}
	}
	if ir.layout.Solid {
		return ir.walkSolid(groups, visit)
	}
	for _, g := range groups {
		if err := ir.ctx.Err(); err != nil {
			return errs, err
		}
		ierr, err := ir.block(g, visit)
		if ierr != nil {
			errs = append(errs, &itemError{items: g, err: ierr})
		}
		if err != nil {
			return errs, err
		}
	}
	return errs, nil
}

// block reads the non-solid data block of g. ierr is the item's own
// damage; err ends the walk.
func (ir *itemReader) block(g []item, visit visitFunc) (ierr, err error) {
	l := ir.layout
	at := l.Start + g[0].offset
	if g[0].offset > l.End || at+4 > l.End {
		return fmt.Errorf("offset beyond the data (%d bytes)", l.End-l.Start), nil
	}
	var head [4 + 16]byte
	n, _ := ir.in.Blob.ReaderAt().ReadAt(head[:], at)
	if n < 4 {
		return fmt.Errorf("block length unreadable"), nil
	}
	v := binary.LittleEndian.Uint32(head[:])
	length := int64(v & 0x7fffffff)
	if at+4+length > l.End {
		return fmt.Errorf("block of %d bytes runs past the data", length), nil
	}
	sec := io.NewSectionReader(ir.in.Blob.ReaderAt(), at+4, length)
	if v&0x80000000 == 0 {
		return visitItem(g, length, "stored", &charged{ir: ir, r: sec}, visit)
	}
	m, skip := l.Method, 0
	if m == nsisscript.Stored || m == nsisscript.LZMA {
		// The header block's method does not bind a stored header's
		// files; an LZMA block may carry a filter flag.
		m, skip = nsisscript.BlockMethod(head[4:n])
	}
	if m == nsisscript.LZMA && skip > 0 && head[4] != 0 {
		return fmt.Errorf("lzma with NSIS's x86 branch filter: not supported"), nil
	}
	dr, derr := nsisscript.Decompressor(sec, m, skip, maxLZMADict)
	if derr != nil {
		return derr, nil
	}
	if c, ok := dr.(io.Closer); ok {
		defer c.Close()
	}
	return visitItem(g, -1, string(m), &charged{ir: ir, r: dr}, visit)
}

// visitItem calls visit; an *itemError it returns is the item's damage,
// and the walk goes on.
func visitItem(g []item, size int64, method string, body io.Reader, visit visitFunc) (ierr, err error) {
	err = visit(g, size, method, body)
	var ie *itemError
	if errors.As(err, &ie) {
		return ie.err, nil
	}
	return nil, err
}

// walkSolid reads the one stream front to back: items not in groups (the
// uninstaller, WriteRegBin data) are skipped, and nothing after the last
// group is decompressed.
func (ir *itemReader) walkSolid(groups [][]item, visit visitFunc) (errs []error, err error) {
	l := ir.layout
	if len(groups) == 0 {
		return nil, nil
	}
	if l.LZMAFilter > 0 {
		return nil, fmt.Errorf("nsis: solid lzma with NSIS's x86 branch filter: not supported")
	}
	skip := 0
	if l.LZMAFilter >= 0 {
		skip = 1
	}
	sec := io.NewSectionReader(ir.in.Blob.ReaderAt(), l.Start, l.End-l.Start)
	dr, err := nsisscript.Decompressor(sec, l.Method, skip, maxLZMADict)
	if err != nil {
		return nil, fmt.Errorf("nsis: solid %s stream: %w", l.Method, err)
	}
	if c, ok := dr.(io.Closer); ok {
		defer c.Close()
	}
	zr := &charged{ir: ir, r: dr}
	hdr := 4 + int64(l.FirstHeader.HeaderLen)
	if _, err := io.CopyN(io.Discard, zr, hdr); err != nil {
		return nil, fmt.Errorf("nsis: solid %s stream: header: %w", l.Method, err)
	}
	var pos int64 // offset in the data, as the files table gives it
	var n [4]byte
	for _, g := range groups {
		// Skip to the group's item, one item at a time.
		for pos < g[0].offset {
			if err := ir.ctx.Err(); err != nil {
				return errs, err
			}
			if _, err := io.ReadFull(zr, n[:]); err != nil {
				return errs, fmt.Errorf("nsis: solid %s stream: item at data offset %d: %w", l.Method, pos, err)
			}
			length := int64(binary.LittleEndian.Uint32(n[:]) & 0x7fffffff)
			if _, err := io.CopyN(io.Discard, zr, length); err != nil {
				return errs, fmt.Errorf("nsis: solid %s stream: item at data offset %d (%d bytes): %w", l.Method, pos, length, err)
			}
			pos += 4 + length
		}
		if pos > g[0].offset {
			// The offset points inside another item: not a file start.
			errs = append(errs, &itemError{items: g, err: fmt.Errorf("offset is inside the item before it")})
			continue
		}
		if _, err := io.ReadFull(zr, n[:]); err != nil {
			return errs, &itemError{items: g, err: fmt.Errorf("solid %s stream: length: %w", l.Method, err)}
		}
		length := int64(binary.LittleEndian.Uint32(n[:]) & 0x7fffffff)
		body := io.LimitReader(zr, length)
		if err := visit(g, length, string(l.Method), body); err != nil {
			return errs, err
		}
		// What the visitor did not read (a limit hit) is skipped so that
		// the next item starts where it should.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return errs, &itemError{items: g, err: fmt.Errorf("solid %s stream: %w", l.Method, err)}
		}
		if body.(*io.LimitedReader).N > 0 {
			return errs, &itemError{items: g, err: fmt.Errorf("solid %s stream ends inside the item (%d of %d bytes)", l.Method, length-body.(*io.LimitedReader).N, length)}
		}
		pos += 4 + length
	}
	return errs, nil
}

// emitter hands items to the sink. Several names at one offset share the
// bytes: they are held once (in memory up to the in-memory limit, else in
// a scratch file) and emitted under each name.
type emitter struct {
	in    unpack.Input
	sink  unpack.Sink
	solid bool
	// already counts the children of each name emitted before (by 7z); the
	// k-th file of a name is emitted only when fewer were. seen counts the
	// files of each name this reader met.
	already map[string]int
	seen    map[string]int
	count   int // emitted by this reader
}

func (e *emitter) meta(method string) map[string]string {
	m := map[string]string{"method": method, "reader": "tomscan"}
	if e.solid {
		m["solid"] = "+"
	} else {
		m["solid"] = "-"
	}
	return m
}

func (e *emitter) visit(ctx context.Context, items []item, size int64, method string, body io.Reader) error {
	var todo []item
	for _, it := range items {
		e.seen[it.name]++
		if e.seen[it.name] > e.already[it.name] {
			e.already[it.name]++
			todo = append(todo, it)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if len(todo) == 1 {
		e.count++
		return e.sink.Emit(ctx, unpack.Entry{Name: todo[0].name, Size: size, Meta: e.meta(method), Body: body})
	}
	shared, cleanup, err := e.hold(size, body)
	if err != nil {
		e.sink.Issue("extract-error", fmt.Sprintf("nsis: %s (data offset %d, %d names): %v", todo[0].name, todo[0].offset, len(todo), err))
		return nil
	}
	defer cleanup()
	for _, it := range todo {
		e.count++
		if err := e.sink.Emit(ctx, unpack.Entry{Name: it.name, Size: size, Meta: e.meta(method), Body: io.NewSectionReader(shared, 0, shared.Size())}); err != nil {
			return err
		}
	}
	return nil
}

// sizedReaderAt is a held item.
type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// hold keeps one item's bytes for several names, within the entry limit.
func (e *emitter) hold(size int64, body io.Reader) (sizedReaderAt, func(), error) {
	l := e.in.Limits
	if size > l.MaxEntryBytes {
		return nil, nil, fmt.Errorf("declared size %d exceeds max entry bytes %d: not extracted", size, l.MaxEntryBytes)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(body, min(l.InMemoryBytes, l.MaxEntryBytes)+1))
	if err != nil {
		return nil, nil, err
	}
	if n <= l.InMemoryBytes {
		return bytes.NewReader(buf.Bytes()), func() {}, nil
	}
	dir, err := unpack.NewOutDir(e.in, "nsis-shared")
	if err != nil {
		return nil, nil, err
	}
	if _, err := dir.Write("item", io.LimitReader(io.MultiReader(&buf, body), l.MaxEntryBytes+1)); err != nil {
		dir.Remove()
		return nil, nil, err
	}
	f, fsize, err := dir.Open("item")
	if err != nil {
		dir.Remove()
		return nil, nil, err
	}
	if fsize > l.MaxEntryBytes {
		f.Close()
		dir.Remove()
		return nil, nil, fmt.Errorf("more than max entry bytes %d: not extracted", l.MaxEntryBytes)
	}
	return io.NewSectionReader(f, 0, fsize), func() { f.Close(); dir.Remove() }, nil
}
