package reports

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/pe"
)

// WriteJSON writes EncodeJSON's bytes to w without holding them: the tree
// is encoded one node at a time and indented as it goes. A build of a
// thousand PEs has a report of hundreds of MB (string listings); built
// whole, it took a compact copy, an indented copy and their growth (most of
// the time a worker spent on such a build after scanning it) and was then
// sent whole to the parent. What WriteJSON holds at once is the largest
// single node without its children.
func WriteJSON(w io.Writer, r *Report) error {
	s := &streamer{ind: newIndenter(w)}
	defer s.ind.release()
	err := s.report(r)
	if s.ind.err != nil { // a write failed: report that, not what it cut short
		return fmt.Errorf("reports: write json: %w", s.ind.err)
	}
	if err != nil {
		return fmt.Errorf("reports: encode json: %w", err)
	}
	if s.ind.flush(); s.ind.err != nil {
		return fmt.Errorf("reports: write json: %w", s.ind.err)
	}
	return nil
}

type streamer struct {
	ind *indenter
	buf bytes.Buffer
	enc *json.Encoder
	// stringsMark stands for a node's strings in its encoding, which
	// stringsMarkJSON is; stringList writes the list in its place
	stringsMark     []pe.String
	stringsMarkJSON []byte
}

// compact is v as AppendJSON's encoder writes it, without the newline.
func (s *streamer) compact(v any) ([]byte, error) {
	if s.enc == nil {
		s.enc = json.NewEncoder(&s.buf)
		s.enc.SetEscapeHTML(false)
	}
	s.buf.Reset()
	if err := s.enc.Encode(v); err != nil {
		return nil, err
	}
	b := s.buf.Bytes()
	return b[:len(b)-1], nil
}

// report encodes r with its tree replaced by a placeholder node named by a
// random token, then writes what precedes the placeholder, the tree node
// by node, and what follows it. The token cannot occur in the report (it
// is drawn after the report was made), so the placeholder's bytes are found
// exactly once, wherever encoding/json put the tree among the fields.
func (s *streamer) report(r *Report) error {
	var token [16]byte
	if _, err := rand.Read(token[:]); err != nil {
		return err
	}
	mark := &artifact.Node{Name: "tomscan-tree-" + hex.EncodeToString(token[:])}
	markJSON, err := s.compact(mark)
	if err != nil {
		return err
	}
	markJSON = bytes.Clone(markJSON)
	s.stringsMark = []pe.String{{Encoding: "tomscan-strings-" + hex.EncodeToString(token[:])}}
	if s.stringsMarkJSON, err = s.compact(s.stringsMark); err != nil {
		return err
	}
	s.stringsMarkJSON = bytes.Clone(s.stringsMarkJSON)
	top := *r
	if r.Tree != nil {
		top.Tree = mark
	}
	var v any = &top
	if r.TOMRaw != nil {
		v = struct {
			*Report
			TOM json.RawMessage `json:"tom,omitempty"`
		}{&top, r.TOMRaw}
	}
	head, err := s.compact(v)
	if err != nil {
		return err
	}
	head = bytes.Clone(head)
	if r.Tree == nil {
		s.ind.write(head)
		s.ind.write([]byte{'\n'})
		return s.ind.err
	}
	at := bytes.Index(head, markJSON)
	if at < 0 || bytes.Contains(head[at+len(markJSON):], markJSON) {
		return fmt.Errorf("tree placeholder not found once")
	}
	s.ind.write(head[:at])
	if err := s.node(r.Tree); err != nil {
		return err
	}
	s.ind.write(head[at+len(markJSON):])
	s.ind.write([]byte{'\n'})
	return s.ind.err
}

// node writes n as encoding/json would: its fields, then (Children being
// the last field, omitted when empty) its children, each the same way.
// Its strings, most of a large report's bytes, go in through stringList
// in place of a placeholder list (see report for why it is found once).
func (s *streamer) node(n *artifact.Node) error {
	if n == nil {
		s.ind.write([]byte("null"))
		return s.ind.err
	}
	alone := *n
	alone.Children = nil
	var list []pe.String
	if n.Strings != nil && len(n.Strings.Strings) > 0 && stringsDirect {
		set := *n.Strings
		list, set.Strings = set.Strings, s.stringsMark
		alone.Strings = &set
	}
	b, err := s.compact(&alone)
	if err != nil {
		return err
	}
	if len(n.Children) > 0 {
		b = b[:len(b)-1] // without its closing brace
	}
	if list != nil {
		at := bytes.Index(b, s.stringsMarkJSON)
		if at < 0 || bytes.Contains(b[at+len(s.stringsMarkJSON):], s.stringsMarkJSON) {
			return fmt.Errorf("strings placeholder not found once")
		}
		s.ind.write(b[:at])
		s.ind.stringList(list)
		b = b[at+len(s.stringsMarkJSON):]
	}
	s.ind.write(b)
	if len(n.Children) == 0 {
		return s.ind.err
	}
	s.ind.write([]byte(`,"children":[`))
	for i, c := range n.Children {
		if i > 0 {
			s.ind.write([]byte{','})
		}
		if err := s.node(c); err != nil {
			return err
		}
	}
	s.ind.write([]byte("]}"))
	return s.ind.err
}

// indenter indents compact JSON (encoding/json's output: no space outside
// strings) as it streams through, exactly as json.Indent(dst, src, "", "  ")
// does: a newline and the depth's indent after an opening bracket that is
// not closed at once, after each comma and before each closing bracket, a
// space after each colon; strings are copied as they are.
//
// It appends to its own buffer and hands w a flushSize chunk at a time
// (bufio took a call per byte). Inside strings it copies whole runs up to
// the next quote or backslash; indents come from one precomputed run of
// spaces. Nodes' string listings, most of a large report's bytes, do not
// go through write at all (stringList).
type indenter struct {
	w          io.Writer
	buf        []byte
	depth      int
	needIndent bool
	inString   bool
	escaped    bool // inString, and the last byte was an escaping backslash
	err        error
}

// flushSize is how much output the indenter gathers before writing it:
// large writes keep the syscalls few.
const flushSize = 1 << 20

// indents is a newline and the spaces of the deepest indent newline takes
// from it in one append; deeper ones (never seen in reports) take more.
var indents = "\n" + strings.Repeat("  ", 64)

// structural marks the bytes of compact JSON that the indenter acts on
// outside strings; runs of anything else (numbers, true, null) are copied.
var structural = [256]bool{'"': true, '{': true, '[': true, ',': true, ':': true, '}': true, ']': true}

func newIndenter(w io.Writer) *indenter {
	select {
	case buf := <-indentBufs:
		return &indenter{w: w, buf: buf[:0]}
	default:
		return &indenter{w: w, buf: make([]byte, 0, flushSize+flushSize/8)}
	}
}

// indentBufs are indenters' buffers, reused: a worker writes one report
// per build, and a fresh buffer each time (zeroed, and faulted in page by
// page) was a few percent of a worker's time on small builds. Not a
// sync.Pool, which drops them at every other garbage collection: a few
// are kept for good.
var indentBufs = make(chan []byte, 4)

// release gives the indenter's buffer back for the next one; one grown
// far past its size by a long string is let go.
func (d *indenter) release() {
	if d.buf == nil || cap(d.buf) > 2*flushSize {
		return
	}
	select {
	case indentBufs <- d.buf:
	default:
	}
	d.buf, d.w = nil, nil
}

func (d *indenter) write(p []byte) {
	for len(p) > 0 && d.err == nil {
		if len(d.buf) >= flushSize {
			d.flush()
			continue
		}
		if d.inString {
			p = d.stringRun(p)
			continue
		}
		c := p[0]
		if d.needIndent && c != '}' && c != ']' {
			d.needIndent = false
			d.depth++
			d.newline()
		}
		switch c {
		case '"':
			d.inString = true
			d.buf = append(d.buf, c)
		case '{', '[':
			d.needIndent = true // {} and [] stay on one line
			d.buf = append(d.buf, c)
		case ',':
			d.buf = append(d.buf, c)
			d.newline()
		case ':':
			d.buf = append(d.buf, c, ' ')
		case '}', ']':
			if d.needIndent {
				d.needIndent = false
			} else {
				d.depth--
				d.newline()
			}
			d.buf = append(d.buf, c)
		default:
			n := 1
			for n < len(p) && !structural[p[n]] {
				n++
			}
			d.buf = append(d.buf, p[:n]...)
			p = p[n:]
			continue
		}
		p = p[1:]
	}
}

// stringRun copies p from inside a string up to and including the string's
// closing quote, or all of p if the string goes on past it, and returns
// what is left. The next quote is looked for once and kept until an escape
// passes it (an escaped quote), so a string of many escapes costs its
// length, not its length times its escapes.
func (d *indenter) stringRun(p []byte) []byte {
	i := 0
	if d.escaped { // p[0] is the byte a backslash at the end of the last write escapes
		d.escaped = false
		i = 1
	}
	q := -1 // the first quote at or after i, or len(p) if none
	for {
		if q < i {
			if q = bytes.IndexByte(p[i:], '"'); q < 0 {
				q = len(p)
			} else {
				q += i
			}
		}
		k := bytes.IndexByte(p[i:q], '\\')
		if k < 0 {
			break
		}
		if i += k + 2; i > len(p) { // the escaped byte comes in the next write
			d.buf = append(d.buf, p...)
			d.escaped = true
			return nil
		}
	}
	if q == len(p) {
		d.buf = append(d.buf, p...)
		return nil
	}
	d.buf = append(d.buf, p[:q+1]...)
	d.inString = false
	return p[q+1:]
}

func (d *indenter) newline() {
	n := 1 + 2*d.depth
	if n <= len(indents) {
		d.buf = append(d.buf, indents[:n]...)
		return
	}
	d.buf = append(d.buf, indents...)
	for n -= len(indents); n > 0; n-- {
		d.buf = append(d.buf, ' ')
	}
}

// flush writes what the indenter holds. The first error is kept and ends
// all later writes, so a broken writer (disk full) stops the encoding at
// once.
func (d *indenter) flush() {
	if d.err != nil || len(d.buf) == 0 {
		return
	}
	n, err := d.w.Write(d.buf)
	if err == nil && n < len(d.buf) {
		err = io.ErrShortWrite
	}
	d.buf = d.buf[:0]
	d.err = err
}
