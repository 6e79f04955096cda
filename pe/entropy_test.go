package pe

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	peparser "github.com/saferwall/pe"
)

// analyzeBothEntropies analyses b with tomscan's section entropy and with saferwall's
// own pass and returns both summaries as JSON (or the error, up to the
// stack frames a recovered panic names, which differ by where it struck).
func analyzeBothEntropies(t *testing.T, b []byte) (ours, theirs string) {
	t.Helper()
	run := func(saferwall bool) string {
		saferwallEntropy = saferwall
		defer func() { saferwallEntropy = false }()
		sum, err := Analyze(context.Background(), b, Options{MaxBytes: 64 << 20})
		if err != nil {
			msg, _, _ := strings.Cut(err.Error(), " (")
			return "error: " + msg
		}
		out, err := json.Marshal(sum)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	return run(false), run(true)
}

// TestSectionEntropyAsSaferwall: the summary with tomscan's entropy pass is
// saferwall's own, entropies and anomalies alike, on the fixtures, on header
// mutations of them, on the alignments that make saferwall note anomalies
// as it reads sections, and on the real corpus's PEs when it is there.
func TestSectionEntropyAsSaferwall(t *testing.T) {
	fx := buildFixtures(t)
	inputs := map[string][]byte{"exe": fx.exe, "signed": fx.signed}

	// SectionAlignment and FileAlignment sit at 0x20 and 0x24 of the
	// optional header (PE32 and PE32+ alike), after the 4-byte signature
	// and the 20-byte file header.
	nt := int(binary.LittleEndian.Uint32(fx.exe[0x3c:]))
	aligned := func(file, section uint32) []byte {
		b := bytes.Clone(fx.exe)
		binary.LittleEndian.PutUint32(b[nt+24+0x20:], section)
		binary.LittleEndian.PutUint32(b[nt+24+0x24:], file)
		return b
	}
	inputs["odd file alignment"] = aligned(0x201, 0x1000)
	inputs["small file alignment"] = aligned(0x100, 0x1000)
	inputs["equal small alignments"] = aligned(0x100, 0x100)
	inputs["large file alignment"] = aligned(0x1000, 0x1000)

	rng := rand.New(rand.NewPCG(11, 13))
	for i := range 300 {
		b := bytes.Clone(fx.signed)
		for range 1 + rng.IntN(4) {
			b[nt+rng.IntN(0x200)] = byte(rng.Uint32()) // headers and section table
		}
		inputs[fmt.Sprintf("mutation %d", i)] = b
	}
	if dir := os.Getenv("TOMSCAN_REAL_CORPUS"); dir != "" {
		for _, p := range realPEs(t, dir) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			inputs[p] = b
		}
	}

	anomalous := 0
	for name, b := range inputs {
		ours, theirs := analyzeBothEntropies(t, b)
		if ours != theirs {
			t.Errorf("%s: summary differs from saferwall's entropy pass:\nours:   %.400s\ntheirs: %.400s", name, ours, theirs)
		}
		if strings.Contains(theirs, "FileAlignment") || strings.Contains(theirs, "SectionAlignment") {
			anomalous++
		}
	}
	if anomalous < 2 {
		t.Errorf("only %d inputs had alignment anomalies: the re-parse path was not exercised", anomalous)
	}
}

// TestEntropy: known values, and the count loop's tail.
func TestEntropy(t *testing.T) {
	for _, c := range []struct {
		data []byte
		want float64
	}{
		{nil, 0},
		{[]byte{7}, 0},
		{[]byte{0, 1}, 1},
		{[]byte{0, 1, 2, 3, 4, 5, 6, 7}, 3},
		{[]byte{0, 0, 0, 1, 1, 1}, 1}, // 6 bytes: two in the tail
		{bytes.Repeat([]byte{0, 1, 2, 3}, 1000), 2},
	} {
		if got := entropy(c.data); got != c.want {
			t.Errorf("entropy(% x) = %v, want %v", c.data[:min(len(c.data), 8)], got, c.want)
		}
	}
}

func BenchmarkEntropy(b *testing.B) {
	data := make([]byte, 4<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		if i%3 != 0 { // a PE's mix: zero padding beside code-like bytes
			data[i] = byte(rng.Uint32())
		}
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		entropy(data)
	}
}

// TestAlignmentsQuiet: the alignments saferwall notes, and an optional
// header of a type Is64 does not name, send a PE to saferwall's own pass.
func TestAlignmentsQuiet(t *testing.T) {
	file := func(is64 bool, oh any) *peparser.File {
		f := &peparser.File{}
		f.Is64 = is64
		f.NtHeader.OptionalHeader = oh
		return f
	}
	for _, c := range []struct {
		name string
		f    *peparser.File
		want bool
	}{
		{"PE32, 0x200 / 0x1000", file(false, peparser.ImageOptionalHeader32{FileAlignment: 0x200, SectionAlignment: 0x1000}), true},
		{"PE32+, 0x1000 / 0x1000", file(true, peparser.ImageOptionalHeader64{FileAlignment: 0x1000, SectionAlignment: 0x1000}), true},
		{"small equal alignments", file(false, peparser.ImageOptionalHeader32{FileAlignment: 0x80, SectionAlignment: 0x80}), true},
		{"odd file alignment", file(false, peparser.ImageOptionalHeader32{FileAlignment: 0x201, SectionAlignment: 0x1000}), false},
		{"small file alignment", file(true, peparser.ImageOptionalHeader64{FileAlignment: 0x100, SectionAlignment: 0x1000}), false},
		{"PE32+ with a PE32 header", file(true, peparser.ImageOptionalHeader32{FileAlignment: 0x200, SectionAlignment: 0x1000}), false},
		{"PE32 with a PE32+ header", file(false, peparser.ImageOptionalHeader64{FileAlignment: 0x200, SectionAlignment: 0x1000}), false},
		{"no optional header", file(false, nil), false},
	} {
		if got := alignmentsQuiet(c.f); got != c.want {
			t.Errorf("%s: alignmentsQuiet = %v, want %v", c.name, got, c.want)
		}
	}
}
