package pe

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAnalyze: no input may crash Analyze or break its promises. A panic in
// saferwall/pe is recovered into an error in production; here it fails the
// fuzz run, so that each one is seen and judged.
func FuzzAnalyze(f *testing.F) {
	fx := buildFixtures(f)
	f.Add(fx.exe)
	f.Add(fx.signed)
	f.Add(fx.exe[:1024])
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Analyze(context.Background(), data, Options{MaxBytes: 4 << 20})
		if err != nil {
			if strings.Contains(err.Error(), "parser panic") {
				t.Fatalf("panic: %v", err)
			}
			return
		}
		for _, r := range s.Resources {
			if !r.OutsideFile && (r.Offset < 0 || r.Offset+r.Size > int64(len(data))) {
				t.Fatalf("resource %+v outside %d bytes", r, len(data))
			}
		}
		if s.Version != nil {
			for _, tb := range s.Version.Tables {
				for _, kv := range tb.Strings {
					if !utf8.ValidString(kv.Key) || !utf8.ValidString(kv.Value) {
						t.Fatalf("invalid UTF-8 in version info")
					}
				}
			}
		}
	})
}

// FuzzExtractStrings: strings are valid UTF-8, inside the data, distinct,
// in offset order, and no more than counted.
func FuzzExtractStrings(f *testing.F) {
	f.Add([]byte("hello\x00world wide\x00"), 4)
	f.Add(append(gbkBytes(f, "一号过滤器TOM\r\n内容过滤"), 0), 6)
	f.Add(utf16z("关于 TOM-Skype"), 3)
	f.Fuzz(func(t *testing.T, data []byte, min int) {
		if min < 0 || min > 64 {
			min = 4
		}
		set := ExtractStrings(context.Background(), data, StringOptions{MinLength: min, Max: 1000})
		if len(set.Strings) > set.Count {
			t.Fatalf("%d strings kept, %d counted", len(set.Strings), set.Count)
		}
		seen := map[string]bool{}
		for i, s := range set.Strings {
			if !utf8.ValidString(s.Value) || s.Offset < 0 || s.Offset >= int64(len(data)) {
				t.Fatalf("bad string %+v", s)
			}
			if i > 0 && set.Strings[i-1].Offset > s.Offset {
				t.Fatalf("not in offset order at %d", i)
			}
			k := s.Encoding + "\x00" + s.Value
			if seen[k] {
				t.Fatalf("duplicate %q", k)
			}
			seen[k] = true
		}
	})
}

func BenchmarkAnalyze(b *testing.B) {
	fx := buildFixtures(b)
	b.SetBytes(int64(len(fx.signed)))
	for b.Loop() {
		if _, err := Analyze(context.Background(), fx.signed, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractStrings: the one-pass extractor on PE-like bytes; see
// strings_diff_test.go for the real PE and the reference variants.
func BenchmarkExtractStrings(b *testing.B) { benchStrings(b, ExtractStrings, false) }
