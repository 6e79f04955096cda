package reports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzIndenterPieces: the indenter carries its state (in a string, after
// a backslash, an opening bracket not yet closed) from one write to the
// next, as WriteJSON cuts a report at node boundaries. Fed any compact
// JSON in pieces cut anywhere, it writes json.Indent's bytes.
func FuzzIndenterPieces(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"x\"y\\"},[],{}],"c":null}`, `[[[]],[{}],"\u2028<&>\\\\"]`, `{"deep":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`} {
		f.Add(s, uint8(3), uint8(7))
	}
	f.Fuzz(func(t *testing.T, s string, a, b uint8) {
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(s)); err != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			return
		}
		src := compact.Bytes()
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		d := &indenter{w: w}
		for i, k := 0, 0; i < len(src); k++ {
			n := 1 + int(a)
			if k%2 == 1 {
				n = 1 + int(b)
			}
			n = min(n, len(src)-i)
			d.write(src[i : i+n])
			i += n
		}
		if err := w.Flush(); err != nil || d.err != nil {
			t.Fatal(err, d.err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("indented %q in pieces of %d and %d:\n got %q\nwant %q", src, a+1, b+1, got.Bytes(), want.Bytes())
		}
	})
}
