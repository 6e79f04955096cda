package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
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
