package pe

import (
	"bytes"
	"context"
	"encoding/binary"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sameStrings fails t unless the one-pass extractor and the reference (the
// four-pass extractor it replaced, strings_ref_test.go) agree exactly.
func sameStrings(t *testing.T, name string, b []byte, opts StringOptions) {
	t.Helper()
	got := ExtractStrings(context.Background(), b, opts)
	want := refExtractStrings(context.Background(), b, opts)
	if got.Count != want.Count || got.Truncated != want.Truncated || !slices.Equal(got.Strings, want.Strings) {
		t.Errorf("%s (min %d, max %d): count %d/%d truncated %v/%v, %d/%d strings (got/want)",
			name, opts.MinLength, opts.Max, got.Count, want.Count, got.Truncated, want.Truncated, len(got.Strings), len(want.Strings))
		for i := 0; i < min(len(got.Strings), len(want.Strings)); i++ {
			if got.Strings[i] != want.Strings[i] {
				t.Errorf("  first difference at %d: got %+v, want %+v", i, got.Strings[i], want.Strings[i])
				break
			}
		}
	}
}

// TestExtractStringsMatchesReference: on the real corpus (every PE, with its
// layout, as the pipeline calls it; a sample under the race detector), the
// synthetic corpus's files as they are, the fixture PEs and mixtures of text
// in all three encodings with binary noise, the one-pass extractor returns
// what the four-pass one did, to the byte.
func TestExtractStringsMatchesReference(t *testing.T) {
	opts := func(min, max int, l *Summary) StringOptions {
		return StringOptions{MinLength: min, Max: max, Layout: l}
	}
	// Mixtures: short and long text runs in every encoding between random
	// bytes, NULs and runs of one byte.
	rng := rand.New(rand.NewPCG(16, 2))
	pieces := [][]byte{
		[]byte("hello world\x00"), utf16z("关于 TOM-Skype"), utf16z("Ünïcödé text"), utf16zNoNul("第 %d 页，共 %d 页"),
		append(gbkBytes(t, "一号过滤器TOM\r\n内容过滤"), 0), gbkBytes(t, "宋体"), {0, 0, 0, 0}, bytes.Repeat([]byte{0xCA}, 40),
		[]byte("\t\tindented\x00"), utf16z("a要b低c烊"), utf16z(string(bytes.Repeat([]byte("x"), 5000))),
		bytes.Repeat([]byte("y"), 5000), append(gbkBytes(t, "中文"+string(bytes.Repeat([]byte("字"), 3000))), 0),
		// Runs about as long as the skips' 64-unit and 64-byte chunks, ASCII
		// that reads as hanzi at either alignment, short CJK between NULs,
		// Latin-1 against CJK.
		utf16z(strings.Repeat("abcdefgh", 9)), utf16zNoNul(strings.Repeat("x", 63)),
		[]byte(strings.Repeat("_ZNSt7__cxx1112basic_string", 5) + "\x00"), utf16z("确定"), utf16zNoNul("Ünï关于本软件"),
		append(gbkBytes(t, strings.Repeat("过滤", 17)), 0), append(gbkBytes(t, "删除"), '\r', '\n'),
	}
	for n := range 40 {
		var b []byte
		for range 30 {
			switch rng.IntN(3) {
			case 0:
				b = append(b, pieces[rng.IntN(len(pieces))]...)
			case 1:
				for range rng.IntN(64) {
					b = append(b, byte(rng.Uint32()))
				}
			default:
				if len(b) > 0 { // an odd shift moves UTF-16 to the other alignment
					b = append(b, b[rng.IntN(len(b)):][:rng.IntN(min(len(b), 9))]...)
				}
			}
		}
		for _, min := range []int{1, 3, 4, 6} {
			sameStrings(t, "mixture "+string(rune('A'+n%26)), b, opts(min, 1<<20, nil))
		}
		sameStrings(t, "mixture, max 5", b, opts(4, 5, nil))
	}
	random := make([]byte, 1<<20)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	sameStrings(t, "random", random, opts(6, 1<<20, nil))
	sameStrings(t, "random, max 100", random, opts(4, 100, nil))

	if fx := buildFixtures(t); fx != nil {
		for _, b := range [][]byte{fx.exe, fx.signed} {
			s, err := Analyze(context.Background(), b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			sameStrings(t, "fixture", b, opts(6, 1<<20, s))
			sameStrings(t, "fixture, min 4", b, opts(4, 1<<20, s))
		}
	}

	if dir := os.Getenv("TOMSCAN_CORPUS"); dir != "" {
		n := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil || len(b) > 16<<20 {
				return err
			}
			sameStrings(t, p, b, opts(6, 1<<20, nil))
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("synthetic corpus: %d files", n)
	} else {
		t.Log("TOMSCAN_CORPUS not set: synthetic corpus not compared")
	}

	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set: real corpus not compared")
	}
	pes := realPEs(t, dir)
	step := 1
	if raceEnabled || testing.Short() {
		step = 25 // ~35 PEs: the race detector slows both extractors ~10x
	}
	var total int64
	checked := 0
	for i := 0; i < len(pes); i += step {
		b, err := os.ReadFile(pes[i])
		if err != nil {
			t.Fatal(err)
		}
		s, err := Analyze(context.Background(), b, Options{})
		if err != nil {
			s = nil // strings are still extracted from PEs the parser rejects
		}
		sameStrings(t, pes[i], b, opts(6, 1<<20, s))
		sameStrings(t, pes[i]+" (max 5000)", b, opts(6, 5000, s))
		total += int64(len(b))
		checked++
	}
	t.Logf("real corpus: %d of %d PEs, %.1f MiB", checked, len(pes), float64(total)/(1<<20))
}

// FuzzExtractStringsReference: on any input the one-pass extractor returns
// what the four-pass one did.
func FuzzExtractStringsReference(f *testing.F) {
	f.Add([]byte("hello\x00world wide\x00"), 4, 100)
	f.Add(append(gbkBytes(f, "一号过滤器TOM\r\n内容过滤"), 0), 6, 100)
	f.Add(utf16z("关于 TOM-Skype"), 3, 2)
	f.Add(append([]byte{'x'}, utf16z("第 %d 页，共 %d 页 Ünï")...), 1, 100)
	f.Fuzz(func(t *testing.T, data []byte, min, max int) {
		if min < 0 || min > 64 {
			min = 4
		}
		sameStrings(t, "fuzz", data, StringOptions{MinLength: min, Max: max})
		// Repeated past a few hundred bytes, the input reaches the 64-unit
		// and 64-byte chunks the scanners skip by.
		if len(data) > 0 && len(data) < 256 {
			sameStrings(t, "fuzz, repeated", bytes.Repeat(data, 512/len(data)+1), StringOptions{MinLength: min, Max: max})
		}
	})
}

// The benchmarks: PE-like bytes (the fixture PE repeated to 4 MiB) and the
// largest PE of the real corpus, each with its layout as the pipeline calls
// it; the Reference variants run the four-pass extractor on the same bytes.
func benchStrings(b *testing.B, extract func(context.Context, []byte, StringOptions) *StringSet, real bool) {
	var data []byte
	if real {
		benchRealOnce.Do(func() { benchReal = largestRealPE() })
		if benchReal == nil {
			b.Skip("TOMSCAN_REAL_CORPUS not set or without PEs")
		}
		data = benchReal
	} else {
		fx := buildFixtures(b)
		for len(data) < 4<<20 { // a few MiB of PE-like bytes
			data = append(data, fx.exe...)
		}
	}
	s, err := Analyze(context.Background(), data, Options{})
	if err != nil {
		s = nil
	}
	b.SetBytes(int64(len(data)))
	cpu0 := cpuTime()
	for b.Loop() {
		extract(context.Background(), data, StringOptions{MinLength: 6, Max: 5000, Layout: s})
	}
	// The machine is shared: wall time counts the waits for a core, CPU
	// time (user+system of the process, so GC included) does not.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(data))*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkExtractStringsRealPE(b *testing.B) { benchStrings(b, ExtractStrings, true) }
func BenchmarkExtractStringsRealPEReference(b *testing.B) {
	benchStrings(b, refExtractStrings, true)
}
func BenchmarkExtractStringsReference(b *testing.B) { benchStrings(b, refExtractStrings, false) }

var (
	benchRealOnce sync.Once
	benchReal     []byte
)

// largestRealPE reads the largest PE of the real corpus (libstdc++-6.dll, 23 MB).
func largestRealPE() []byte {
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		return nil
	}
	var best string
	var size int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil && info.Size() > size && info.Size() < 64<<20 {
				best, size = p, info.Size()
			}
		}
		return nil
	})
	b, err := os.ReadFile(best)
	if err != nil || !IsPE(b) {
		return nil
	}
	return b
}

// TestPrintMask8: the eight-byte printable test agrees with isPrint for
// every byte value in every lane, next to every neighbour class (a carry
// between lanes would show as a wrong bit).
func TestPrintMask8(t *testing.T) {
	for _, fill := range []byte{0x00, 0x09, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff} {
		for lane := range 8 {
			for c := range 256 {
				var p [8]byte
				for k := range p {
					p[k] = fill
				}
				p[lane] = byte(c)
				got := printMask8(binary.LittleEndian.Uint64(p[:]))
				for k := range p {
					if want := isPrint(p[k]); (got>>k&1 == 1) != want {
						t.Fatalf("fill %#x lane %d byte %#x: bit %d = %v, want %v", fill, lane, c, k, !want, want)
					}
				}
			}
		}
	}
}
