package pipeline

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/pe"
)

// A cached tree entry (tree-v3) is the tree in JSON without the nodes'
// string listings, a newline, and the listings in a compact binary block:
//
//	entry   = json(treeEntry, every node's Strings nil) "\n" sets
//	sets    = one set per node, in Walk order
//	set     = 0x00                                    (Strings nil)
//	        | 0x01 varint(Count) bool(Truncated)      (Strings.Strings nil)
//	        | 0x02 varint(Count) bool(Truncated) uvarint(n) string{n}
//	string  = varint(Offset) text(Encoding) text(Value) text(Where)
//	text    = uvarint(len) bytes
//
// The listings are almost all of a tree (97% of the synthetic corpus's
// JSON), and decoding them as JSON was the largest cost of a replay; read
// from the block, every text is a substring of one copy of it, without
// escapes. Texts are any bytes, so listings need no rawstrings escaping;
// the JSON part's strings are escaped (IDs in the order too).
// The rest stays JSON: its fields change with the analysers, and JSON
// follows them. The fields of pe.String and pe.StringSet are fixed here:
// TestStringSetCodecKnowsEveryField fails when one is added, which must
// come with a new treeFormat.

// setTag opens a node's set in the block.
const (
	setNil     = 0x00
	setNoList  = 0x01
	setListing = 0x02
)

// encodeEntry is the tree-v3 payload of e; the tree's string sets are
// sets, in Walk order (e.Tree's own are nil). Strings of the JSON part that
// are not UTF-8 are escaped for it (rawstrings.go), in place and back.
func encodeEntry(e treeEntry, sets []*pe.StringSet) ([]byte, error) {
	v := reflect.ValueOf(&e)
	mapStrings(v, escapeRaw)
	js, err := json.Marshal(e)
	mapStrings(v, unescapeRaw)
	if err != nil {
		return nil, err
	}
	size := len(js) + 1
	for _, s := range sets {
		if s != nil {
			for _, str := range s.Strings {
				size += 8 + len(str.Encoding) + len(str.Value) + len(str.Where)
			}
		}
		size += 12
	}
	b := make([]byte, 0, size)
	b = append(append(b, js...), '\n')
	for _, s := range sets {
		b = appendSet(b, s)
	}
	return b, nil
}

func appendSet(b []byte, s *pe.StringSet) []byte {
	switch {
	case s == nil:
		return append(b, setNil)
	case s.Strings == nil:
		b = append(b, setNoList)
	default:
		b = append(b, setListing)
	}
	b = binary.AppendVarint(b, int64(s.Count))
	b = append(b, boolByte(s.Truncated))
	if s.Strings == nil {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(s.Strings)))
	for _, str := range s.Strings {
		b = binary.AppendVarint(b, str.Offset)
		b = appendText(b, str.Encoding)
		b = appendText(b, str.Value)
		b = appendText(b, str.Where)
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendText(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeEntry reads a tree-v3 payload: the tree with its string sets put
// back, and its visiting order. Any inconsistency is an error: the bytes
// come from disk.
func decodeEntry(payload []byte) (treeEntry, error) {
	var e treeEntry
	cut := -1
	for i, c := range payload {
		if c == '\n' { // json.Marshal never writes a raw newline
			cut = i
			break
		}
	}
	if cut < 0 {
		return e, errors.New("no string block")
	}
	dec := json.NewDecoder(bytes.NewReader(payload[:cut]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return e, errors.New("bytes after the tree's JSON")
	}
	if e.Tree == nil {
		return e, errors.New("no tree")
	}
	var nodes []*artifact.Node
	if err := collectNodes(e.Tree, 0, &nodes); err != nil {
		return e, err
	}
	sets, err := decodeSets(string(payload[cut+1:]), len(nodes))
	if err != nil {
		return e, err
	}
	mapStrings(reflect.ValueOf(&e), unescapeRaw) // before the sets: they are not escaped
	for i, n := range nodes {
		n.Strings = sets[i]
	}
	return e, nil
}

// maxTreeDepth bounds the recursion over a decoded tree (far beyond any
// --max-depth; encoding/json itself refuses 10,000 levels of nesting).
const maxTreeDepth = 10000

// collectNodes lists the tree's nodes in Walk order, refusing a tree with
// a nil child (Walk would crash on it) or set strings (not in the JSON).
func collectNodes(n *artifact.Node, depth int, out *[]*artifact.Node) error {
	if depth > maxTreeDepth {
		return errors.New("tree too deep")
	}
	if n.Strings != nil {
		return fmt.Errorf("node %q: strings in the JSON part", n.ID)
	}
	*out = append(*out, n)
	for _, c := range n.Children {
		if c == nil {
			return fmt.Errorf("node %q: nil child", n.ID)
		}
		if err := collectNodes(c, depth+1, out); err != nil {
			return err
		}
	}
	return nil
}

// setReader reads the string block; its texts are substrings of it.
type setReader struct {
	s   string
	off int
	err error
}

func (r *setReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("string block at %d: %s", r.off, what)
	}
}

func (r *setReader) byte() byte {
	if r.err != nil || r.off >= len(r.s) {
		r.fail("truncated")
		return 0
	}
	c := r.s[r.off]
	r.off++
	return c
}

func (r *setReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if r.off >= len(r.s) {
			r.fail("truncated")
			return 0
		}
		c := r.s[r.off]
		r.off++
		if shift == 63 && c > 1 || shift > 63 {
			r.fail("varint overflows 64 bits")
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if c == 0 && shift > 0 {
				r.fail("varint not minimal") // one encoding per value
				return 0
			}
			return v
		}
	}
}

func (r *setReader) varint() int64 {
	u := r.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (r *setReader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("bad bool")
	return false
}

func (r *setReader) text() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.s)-r.off) {
		r.fail("text past the end")
		return ""
	}
	t := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return t
}

// minStringBytes is the smallest encoding of one string: an offset and
// three empty texts. It bounds a declared count by the bytes left.
const minStringBytes = 4

// decodeSets reads exactly n sets from block.
func decodeSets(block string, n int) ([]*pe.StringSet, error) {
	r := &setReader{s: block}
	sets := make([]*pe.StringSet, n)
	for i := range sets {
		tag := r.byte()
		if r.err != nil || tag == setNil {
			continue
		}
		if tag != setNoList && tag != setListing {
			r.fail(fmt.Sprintf("bad set tag %#x", tag))
			break
		}
		count := r.varint()
		if int64(int(count)) != count {
			r.fail("count overflows int")
		}
		s := &pe.StringSet{Count: int(count), Truncated: r.bool()}
		if tag == setListing {
			k := r.uvarint()
			if r.err == nil && k > uint64((len(block)-r.off)/minStringBytes) {
				r.fail("more strings than bytes")
			}
			if r.err != nil {
				break
			}
			s.Strings = make([]pe.String, k)
			for j := range s.Strings {
				s.Strings[j] = pe.String{Offset: r.varint(), Encoding: r.text(), Value: r.text(), Where: r.text()}
			}
		}
		sets[i] = s
	}
	if r.err == nil && r.off != len(block) {
		r.fail("bytes after the last set")
	}
	if r.err != nil {
		return nil, r.err
	}
	return sets, nil
}

// detachStrings takes every node's string set off the tree (Walk order)
// for encodeEntry; attachStrings puts them back.
func detachStrings(root *artifact.Node) []*pe.StringSet {
	var sets []*pe.StringSet
	_ = root.Walk(func(n *artifact.Node) error {
		sets = append(sets, n.Strings)
		n.Strings = nil
		return nil
	})
	return sets
}

func attachStrings(root *artifact.Node, sets []*pe.StringSet) {
	i := 0
	_ = root.Walk(func(n *artifact.Node) error {
		n.Strings = sets[i]
		i++
		return nil
	})
}

// stringSetFields are the fields the codec writes, by type: a field added
// to either type needs the codec (and treeFormat) to change with it.
var stringSetFields = map[reflect.Type][]string{
	reflect.TypeOf(pe.StringSet{}): {"Count", "Truncated", "Strings"},
	reflect.TypeOf(pe.String{}):    {"Offset", "Encoding", "Value", "Where"},
}
