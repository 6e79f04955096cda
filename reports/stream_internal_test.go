package reports

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// indentChunked runs compact through a fresh indenter, cut into writes at
// the offsets cuts gives (each byte of cuts is the length of the next
// write, 0 meaning 1), as WriteJSON feeds it node by node.
func indentChunked(t *testing.T, compact []byte, cuts []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	d := newIndenter(&out)
	for i := 0; len(compact) > 0; i++ {
		n := len(compact)
		if len(cuts) > 0 {
			n = min(n, max(1, int(cuts[i%len(cuts)])))
		}
		d.write(compact[:n])
		compact = compact[n:]
	}
	if d.flush(); d.err != nil {
		t.Fatal(d.err)
	}
	return out.Bytes()
}

// FuzzIndenterChunks: the indenter gives json.Indent's bytes for any
// compact JSON value however it is cut into writes: a cut may fall inside
// a string, between a backslash and the byte it escapes, inside a number.
func FuzzIndenterChunks(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":"x\"y\\"},[],{}],"c":null}`, `[[[]],[{}],"\u2028<&>"]`,
		`"s"`, `1.5e3`, `["\\\\\\\"\\","\"\"",""]`, `{"k\"":{"":[true,false,-0.5E+7]}}`} {
		f.Add(s, []byte{1})
		f.Add(s, []byte{3, 1, 2})
		f.Add(s, []byte(nil))
	}
	f.Fuzz(func(t *testing.T, s string, cuts []byte) {
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(s)); err != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := indentChunked(t, compact.Bytes(), cuts); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("indented %q (cuts %v) differs:\n got %q\nwant %q", s, cuts, got, want.Bytes())
		}
	})
}

// TestIndenterLargeValues: strings of many escapes and of none, longer
// than a flush, nesting deeper than the precomputed indents, and output
// past several flushes, all as json.Indent has them.
func TestIndenterLargeValues(t *testing.T) {
	deep := strings.Repeat(`[{"a":`, 100) + `1` + strings.Repeat(`}]`, 100)
	values := []string{
		`["` + strings.Repeat(`\\`, 1<<20) + `"]`,
		`["` + strings.Repeat(`\"`, 1<<20) + `",1]`,
		`{"x":"` + strings.Repeat("abcdefgh", 1<<18) + `"}`,
		deep,
		`[` + strings.Repeat(`{"offset":1,"value":"a\\b\"c"},`, 1<<16) + `{}]`,
	}
	for _, v := range values {
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(v), "", "  "); err != nil {
			t.Fatal(err)
		}
		for _, cuts := range [][]byte{nil, {255, 7, 1}} {
			if got := indentChunked(t, []byte(v), cuts); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%.40q… (cuts %v): differs from json.Indent (%d vs %d bytes)", v, cuts, len(got), want.Len())
			}
		}
	}
}

// TestStringsDirect: pe.String is still the struct stringList writes, so
// WriteJSON takes its fast path (were it not, the output would stay right
// but slow: update stringList and the field list to the new pe.String).
func TestStringsDirect(t *testing.T) {
	if !stringsDirect {
		t.Fatal("pe.String changed: stringList no longer writes its fields; update it and stringsDirect")
	}
	type withMarshaler struct{ json.RawMessage }
	if stringFieldsAre(reflect.TypeFor[withMarshaler](), []string{"RawMessage json.RawMessage "}) {
		t.Error("a struct with its own MarshalJSON passed for plain fields")
	}
}

// FuzzAppendJSONString: appendJSONString quotes any string as encoding/json
// does without HTML escaping (controls, quotes, invalid UTF-8, U+2028).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `C:\dir\"x"`, "\x00\x01\b\f\n\r\t\x1f\x7f", "<&>", "法轮功", "\xff\xfe", "a\xe2\x80", "\u2028\u2029\u202e", "\U0001F600", "\xed\xa0\x80",
		"plain ascii text, long", "C:\\Program Files\\x.dll", "12345678\"2345678\x1f", "1234567\x80abcdefgh", "abcdefg\u2028hijklmnop"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("x"), s); !bytes.Equal(got[1:], bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("%q: got %s, want %s", s, got[1:], want.Bytes())
		}
	})
}

// TestPlainWord: plainWord agrees with jsonSafe byte by byte: every byte value
// at every position among plain neighbours, and every pair of positions
// holding bytes at the edges of the tests (where a borrow could carry).
func TestPlainWord(t *testing.T) {
	check := func(w []byte) {
		want := true
		for _, b := range w {
			want = want && b < utf8.RuneSelf && jsonSafe[b]
		}
		if got := plainWord(binary.LittleEndian.Uint64(w)); got != want {
			t.Errorf("% x: plainWord %v, want %v", w, got, want)
		}
	}
	for pos := 0; pos < 8; pos++ {
		for b := 0; b < 256; b++ {
			w := []byte("abcdefgh")
			w[pos] = byte(b)
			check(w)
		}
	}
	edges := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0x81, 0xa2, 0xdc, 0xff}
	for i := 0; i < 8; i++ {
		for j := i + 1; j < 8; j++ {
			for _, a := range edges {
				for _, b := range edges {
					w := []byte(" ~ ~ ~ ~")
					w[i], w[j] = a, b
					check(w)
				}
			}
		}
	}
}
