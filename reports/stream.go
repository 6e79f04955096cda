package reports

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tomscan/tomscan/internal/artifact"
)

// WriteJSON writes EncodeJSON's bytes to w without holding them: the tree
// is encoded one node at a time and indented as it goes. A build of a
// thousand PEs has a report of hundreds of MB (string listings); built
// whole, it took a compact copy, an indented copy and their growth (most of
// the time a worker spent on such a build after scanning it) and was then
// sent whole to the parent. What WriteJSON holds at once is the largest
// single node without its children.
func WriteJSON(w io.Writer, r *Report) error {
	var bw *bufio.Writer
	select {
	case bw = <-writers:
		bw.Reset(w)
	default:
		bw = bufio.NewWriterSize(w, 1<<20)
	}
	defer func() {
		bw.Reset(nil) // w is not kept
		select {
		case writers <- bw:
		default:
		}
	}()
	s := &streamer{ind: &indenter{w: bw}}
	if err := s.report(r); err != nil {
		return fmt.Errorf("reports: encode json: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("reports: write json: %w", err)
	}
	return nil
}

// writers are WriteJSON's buffers, reused: a worker writes one report per
// build, and a fresh 1 MiB buffer each time (zeroed, and faulted in page by
// page) was a fifth of the time a rules-only rescan spent writing reports.
// Not a sync.Pool, which lets them go at every other garbage collection:
// a few are kept for good.
var writers = make(chan *bufio.Writer, 4)

type streamer struct {
	ind *indenter
	buf bytes.Buffer
	enc *json.Encoder
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
func (s *streamer) node(n *artifact.Node) error {
	if n == nil {
		s.ind.write([]byte("null"))
		return s.ind.err
	}
	alone := *n
	alone.Children = nil
	b, err := s.compact(&alone)
	if err != nil {
		return err
	}
	if len(n.Children) == 0 {
		s.ind.write(b)
		return s.ind.err
	}
	s.ind.write(b[:len(b)-1]) // without its closing brace
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
type indenter struct {
	w          *bufio.Writer
	depth      int
	needIndent bool
	inString   bool
	escaped    bool
	err        error
}

func (d *indenter) write(p []byte) {
	if d.err != nil {
		return
	}
	for i := 0; i < len(p); {
		if d.inString {
			// A string's bytes up to its next quote or backslash go out
			// in one piece: strings are most of a report (the string
			// listings), and a call per byte was most of writing it.
			if d.escaped {
				d.escaped = false
				d.w.WriteByte(p[i])
				i++
				continue
			}
			j := i
			for j < len(p) && p[j] != '"' && p[j] != '\\' {
				j++
			}
			d.w.Write(p[i:j])
			if j == len(p) {
				break
			}
			d.w.WriteByte(p[j])
			if p[j] == '\\' {
				d.escaped = true
			} else {
				d.inString = false
			}
			i = j + 1
			continue
		}
		c := p[i]
		i++
		if d.needIndent && c != '}' && c != ']' {
			d.needIndent = false
			d.depth++
			d.newline()
		}
		switch c {
		case '"':
			d.inString = true
			d.w.WriteByte(c)
		case '{', '[':
			d.needIndent = true // {} and [] stay on one line
			d.w.WriteByte(c)
		case ',':
			d.w.WriteByte(c)
			d.newline()
		case ':':
			d.w.WriteByte(c)
			d.w.WriteByte(' ')
		case '}', ']':
			if d.needIndent {
				d.needIndent = false
			} else {
				d.depth--
				d.newline()
			}
			d.w.WriteByte(c)
		default:
			d.w.WriteByte(c)
		}
	}
	// bufio keeps the first write error and returns it from every later
	// write: an empty one asks for it, so a broken writer (disk full)
	// stops the encoding at once
	_, d.err = d.w.Write(nil)
}

func (d *indenter) newline() {
	d.w.WriteByte('\n')
	for n := 2 * d.depth; n > 0; {
		k := min(n, len(indentSpaces))
		d.w.WriteString(indentSpaces[:k])
		n -= k
	}
}

// indentSpaces is 32 levels of indent, written at once.
const indentSpaces = "                                                                "
