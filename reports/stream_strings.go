package reports

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/tomscan/tomscan/pe"
)

// stringsDirect: a node's strings are written straight in their indented
// form (stringList) rather than encoded by encoding/json and then indented,
// which was most of WriteJSON's time on a large report. It holds while
// pe.String is the struct strings knows, encoded by its fields alone;
// were it to change, WriteJSON would fall back to encoding/json rather
// than drop a field (a test fails then too, to update stringList).
var stringsDirect = stringFieldsAre(reflect.TypeFor[pe.String](), []string{"Offset int64 offset", "Encoding string encoding", "Value string value", "Where string where,omitempty"})

// stringFieldsAre tells whether t is a struct of exactly the given fields
// ("Name type tag", in order) with no JSON or text marshaler of its own.
func stringFieldsAre(t reflect.Type, fields []string) bool {
	for _, m := range []reflect.Type{reflect.TypeFor[json.Marshaler](), reflect.TypeFor[encoding.TextMarshaler]()} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return false
		}
	}
	if t.Kind() != reflect.Struct || t.NumField() != len(fields) {
		return false
	}
	for i, want := range fields {
		f := t.Field(i)
		if f.Name+" "+f.Type.String()+" "+f.Tag.Get("json") != want {
			return false
		}
	}
	return true
}

// stringList writes list, a non-empty strings list, as encoding/json and
// then the indenter would, where the indenter stands after a key's colon
// (outside strings, nothing pending): the same brackets, indents, keys in
// field order, a where only when set.
func (d *indenter) stringList(list []pe.String) {
	if d.err != nil {
		return
	}
	// what comes between the values, indents included, made once per list
	outer, inner := d.indent(d.depth+1), d.indent(d.depth+2)
	offset := outer + "{" + inner + `"offset": `
	encoding := "," + inner + `"encoding": `
	value := "," + inner + `"value": `
	where := "," + inner + `"where": `
	end := outer + "}"
	d.buf = append(d.buf, '[')
	for i := range list {
		s := &list[i]
		if i > 0 {
			d.buf = append(d.buf, ',')
		}
		d.buf = append(d.buf, offset...)
		d.buf = strconv.AppendInt(d.buf, s.Offset, 10)
		d.buf = append(d.buf, encoding...)
		d.buf = appendJSONString(d.buf, s.Encoding)
		d.buf = append(d.buf, value...)
		d.buf = appendJSONString(d.buf, s.Value)
		if s.Where != "" {
			d.buf = append(d.buf, where...)
			d.buf = appendJSONString(d.buf, s.Where)
		}
		d.buf = append(d.buf, end...)
		if len(d.buf) >= flushSize {
			if d.flush(); d.err != nil {
				return
			}
		}
	}
	d.buf = append(d.buf, d.indent(d.depth)...)
	d.buf = append(d.buf, ']')
}

// indent is a newline and the indent of depth.
func (d *indenter) indent(depth int) string {
	if n := 1 + 2*depth; n <= len(indents) {
		return indents[:n]
	}
	b := []byte(indents)
	for n := 1 + 2*depth - len(indents); n > 0; n-- {
		b = append(b, ' ')
	}
	return string(b)
}

// jsonSafe marks the ASCII bytes encoding/json copies into a string as
// they are when it does not escape HTML: all but controls, quote and
// backslash.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendJSONString appends s quoted as encoding/json quotes a string with
// SetEscapeHTML(false): quote and backslash escaped, controls as \n, \t,
// \r, \b, \f or \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 as
// \u2028 and \u2029; everything else as it is.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			w := s[i : i+8]
			if plainWord(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56) {
				i += 8
				continue
			}
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plainWord tells whether all 8 bytes of w (a string's bytes, little
// endian) are ASCII that appendJSONString copies as they are (no control,
// quote, backslash): most strings of binaries are plain ASCII, checked
// eight bytes at a time. Each term has a byte's top bit set where that
// byte is ≥ 0x80, < 0x20, a quote or a backslash (exactly so once no byte
// is ≥ 0x80, which the last term covers).
func plainWord(w uint64) bool {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	control := (w - 0x20*ones) &^ w
	q := w ^ '"'*ones
	bs := w ^ '\\'*ones
	return (control|(q-ones)&^q|(bs-ones)&^bs|w)&tops == 0
}
