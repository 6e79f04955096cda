// Package plist decodes property lists (XML, binary bplist00 and OpenStep
// text) from untrusted bytes, over howett.net/plist. It adds what a hostile
// input needs and the library lacks: a size cap, a nesting-depth check made
// before the library recurses (a deep XML or binary plist would otherwise
// grow the goroutine stack without bound, and a stack overflow cannot be
// recovered), and recover() around the decoder.
package plist

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"

	hplist "howett.net/plist"
)

// Limits.
const (
	MaxBytes = 8 << 20 // larger plists are refused (Info.plist is kilobytes)
	MaxDepth = 128     // nesting of arrays and dicts
)

// Formats.
const (
	FormatXML    = "xml"
	FormatBinary = "binary"
	FormatText   = "openstep"
)

// Errors.
var (
	ErrTooLarge = errors.New("plist: larger than the plist size limit")
	ErrTooDeep  = errors.New("plist: nesting deeper than the limit")
)

// Decode returns the plist's top value: map[string]any, []any, string,
// uint64, int64, float64, bool, time.Time or []byte, and its format.
func Decode(b []byte) (v any, format string, err error) {
	if len(b) > MaxBytes {
		return nil, "", fmt.Errorf("%w: %d bytes", ErrTooLarge, len(b))
	}
	switch {
	case bytes.HasPrefix(b, []byte("bplist00")):
		format = FormatBinary
		if err := binaryDepth(b); err != nil {
			return nil, format, err
		}
	default:
		format = FormatXML
		if !looksXML(b) {
			format = FormatText
			if err := textDepth(b); err != nil {
				return nil, format, err
			}
		} else if err := xmlDepth(b); err != nil {
			return nil, format, err
		}
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("plist: %s decoder panicked: %v", format, r)
		}
	}()
	var out any
	if _, err := hplist.Unmarshal(b, &out); err != nil {
		return nil, format, fmt.Errorf("plist: decode %s: %w", format, err)
	}
	return normalise(out), format, nil
}

func looksXML(b []byte) bool {
	t := bytes.TrimLeft(b, "\xef\xbb\xbf \t\r\n")
	return bytes.HasPrefix(t, []byte("<"))
}

// normalise maps the library's value types to the plain ones Decode
// promises (it already uses them; UID becomes uint64).
func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalise(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalise(e)
		}
		return x
	case hplist.UID:
		return uint64(x)
	case time.Time:
		return x.UTC()
	}
	return v
}

// xmlDepth walks the XML tokens, counting open elements, without building anything.
func xmlDepth(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	depth := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // the library reports syntax errors itself
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			if depth > MaxDepth+2 { // <plist> and the top value do not count
				return fmt.Errorf("%w (%d)", ErrTooDeep, MaxDepth)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// textDepth counts ( and { outside quoted strings.
func textDepth(b []byte) error {
	depth, quote := 0, byte(0)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '{' || c == '<':
			depth++
			if depth > MaxDepth {
				return fmt.Errorf("%w (%d)", ErrTooDeep, MaxDepth)
			}
		case c == ')' || c == '}' || c == '>':
			depth--
		}
	}
	return nil
}

// binaryDepth reads the bplist00 trailer and offset table and measures the
// deepest chain of container references from the top object, iteratively,
// with cycles cut (the library reports those). Anything it cannot read is
// left for the library to reject.
func binaryDepth(b []byte) error {
	if len(b) < 8+32 {
		return nil
	}
	tr := b[len(b)-32:]
	offSize, refSize := int(tr[6]), int(tr[7])
	numObj, top, tableOff := binary.BigEndian.Uint64(tr[8:]), binary.BigEndian.Uint64(tr[16:]), binary.BigEndian.Uint64(tr[24:])
	if offSize < 1 || offSize > 8 || refSize < 1 || refSize > 8 || numObj == 0 || top >= numObj ||
		tableOff >= uint64(len(b)) || numObj > (uint64(len(b))-tableOff)/uint64(offSize) {
		return nil
	}
	readN := func(p []byte, n int) uint64 {
		var v uint64
		for i := 0; i < n; i++ {
			v = v<<8 | uint64(p[i])
		}
		return v
	}
	objOff := func(i uint64) (uint64, bool) {
		o := readN(b[tableOff+i*uint64(offSize):], offSize)
		return o, o >= 8 && o < tableOff
	}
	// children returns the refs of a container object, or nil.
	children := func(i uint64) []uint64 {
		o, ok := objOff(i)
		if !ok {
			return nil
		}
		marker := b[o]
		kind, n := marker>>4, uint64(marker&0xf)
		if kind != 0xa && kind != 0xc && kind != 0xd {
			return nil
		}
		p := o + 1
		if n == 0xf {
			if p >= tableOff || b[p]>>4 != 1 {
				return nil
			}
			w := 1 << (b[p] & 0xf)
			if w > 8 || p+1+uint64(w) > tableOff {
				return nil
			}
			n = readN(b[p+1:], w)
			p += 1 + uint64(w)
		}
		count := n
		if kind == 0xd {
			count = 2 * n // keys, then values
		}
		if count > (tableOff-p)/uint64(refSize) {
			return nil
		}
		refs := make([]uint64, 0, count)
		for k := uint64(0); k < count; k++ {
			r := readN(b[p+k*uint64(refSize):], refSize)
			if r < numObj {
				refs = append(refs, r)
			}
		}
		return refs
	}
	// Iterative DFS with an explicit stack; onPath cuts cycles, depthDone
	// memoises the depth below an object.
	type frame struct {
		obj  uint64
		kids []uint64
		next int
		max  int
	}
	depthBelow := map[uint64]int{}
	onPath := map[uint64]bool{top: true}
	stack := []frame{{obj: top, kids: children(top)}}
	for len(stack) > 0 {
		if len(stack) > MaxDepth+1 {
			return fmt.Errorf("%w (%d)", ErrTooDeep, MaxDepth)
		}
		f := &stack[len(stack)-1]
		if f.next < len(f.kids) {
			k := f.kids[f.next]
			f.next++
			if d, ok := depthBelow[k]; ok {
				f.max = max(f.max, d+1)
				continue
			}
			if onPath[k] {
				continue
			}
			kids := children(k)
			if len(kids) == 0 {
				depthBelow[k] = 0
				f.max = max(f.max, 1)
				continue
			}
			onPath[k] = true
			stack = append(stack, frame{obj: k, kids: kids})
			continue
		}
		depthBelow[f.obj] = f.max
		delete(onPath, f.obj)
		done := f.max
		stack = stack[:len(stack)-1]
		if len(stack) > 0 {
			p := &stack[len(stack)-1]
			p.max = max(p.max, done+1)
		}
		if done > MaxDepth {
			return fmt.Errorf("%w (%d)", ErrTooDeep, MaxDepth)
		}
	}
	return nil
}

// Dict is a decoded plist dictionary with typed lookups that never panic.
type Dict map[string]any

// AsDict returns v as a Dict, or nil.
func AsDict(v any) Dict {
	if m, ok := v.(map[string]any); ok {
		return Dict(m)
	}
	return nil
}

// String returns d[key] when it is a string (numbers are formatted: some
// iTunesMetadata fields are numbers in one build and strings in another).
func (d Dict) String(key string) string {
	switch x := d[key].(type) {
	case string:
		return x
	case uint64, int64:
		return fmt.Sprintf("%d", x)
	case float64:
		return fmt.Sprintf("%g", x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return ""
}

// Strings returns the string elements of an array at key.
func (d Dict) Strings(key string) []string {
	a, _ := d[key].([]any)
	var out []string
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Dict returns the dictionary at key, or nil.
func (d Dict) Dict(key string) Dict { return AsDict(d[key]) }

// Array returns the array at key, or nil.
func (d Dict) Array(key string) []any { a, _ := d[key].([]any); return a }

// Bool returns d[key] when it is a boolean.
func (d Dict) Bool(key string) (bool, bool) { b, ok := d[key].(bool); return b, ok }
