package cab

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/cab/cabfile"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

func gcabFixture(t *testing.T, compress bool) []byte {
	t.Helper()
	big := make([]byte, 100000)
	rand.Read(big)
	files := map[string][]byte{"a.txt": []byte(strings.Repeat("hello cabinet\r\n", 5000)), "b.bin": big}
	args := []string{"-c"}
	if compress {
		args = append(args, "-z")
	}
	return unpacktest.Build(t, files, "x.cab", "gcab", append(args, "x.cab", "a.txt", "b.bin")...)
}

func kinds(issues []string, kind, field string) bool {
	for _, is := range issues {
		if strings.HasPrefix(is, kind+": ") && strings.Contains(is, field) {
			return true
		}
	}
	return false
}

// TestHeaderLies: cbCabinet and cCFData that disagree with the file are
// malformed issues naming the field; short tail cuts are truncated; the
// files that fit are still read; a sound cabinet has no issue.
func TestHeaderLies(t *testing.T) {
	for _, compress := range []bool{false, true} {
		data := gcabFixture(t, compress)
		if o, err := extract(t, data); err != nil || len(o.issues) != 0 || len(o.entries) != 2 {
			t.Fatalf("sound cabinet: %v %v %v", err, o.issues, o.entries)
		}
		lie := func(off int, v []byte) []byte {
			b := bytes.Clone(data)
			copy(b[off:], v)
			return b
		}
		for _, tc := range []struct {
			name, kind, field string
			data              []byte
		}{
			{"cbCabinet 4 GiB", "malformed", "cbCabinet", lie(8, []byte{0xFF, 0xFF, 0xFF, 0xFF})},
			{"cbCabinet short", "malformed", "cbCabinet", lie(8, binary.LittleEndian.AppendUint32(nil, uint32(len(data)/2)))},
			{"cCFData 65535", "malformed", "cCFData", lie(36+4, []byte{0xFF, 0xFF})},
			{"cut 1", "truncated", "cbCabinet", data[:len(data)-1]},
			{"cut 64", "truncated", "cbCabinet", data[:len(data)-64]},
		} {
			o, err := extract(t, tc.data)
			if !kinds(o.issues, tc.kind, tc.field) {
				t.Errorf("compress %v: %s: issues %v (err %v), want %s naming %s", compress, tc.name, o.issues, err, tc.kind, tc.field)
			}
		}
	}
}

// TestCorpusCabinetsSound: no cabinet of the corpora trips the check.
func TestCorpusCabinetsSound(t *testing.T) {
	for _, f := range unpacktest.CorpusFiles(t, []byte("MSCF")) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cabfile.Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if p := c.Check(); len(p) > 0 {
			t.Errorf("%s: %v", f, p)
		}
	}
}

// TestCutInsideHeader: a cabinet cut inside its 36-byte header is matched
// and truncated, not left as unknown data.
func TestCutInsideHeader(t *testing.T) {
	data := gcabFixture(t, false)
	for _, n := range []int{8, 20, 35} {
		if !(Extractor{}).Match(data[:n], int64(n)) {
			t.Errorf("%d bytes: not matched", n)
			continue
		}
		res := unpacktest.Run(t, Extractor{}, data[:n], unpacktest.Options{})
		if !errors.Is(res.Err, unpack.ErrTruncated) {
			t.Errorf("%d bytes: %v", n, res.Err)
		}
	}
	if (Extractor{}).Match([]byte("MSCF\x00\x00\x00\x00short"), 4096) {
		t.Error("matched a short head of a larger file")
	}
}
