package pe

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// isCJKish reports whether a UTF-16 string carries hanzi.
func isCJKish(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestGBKFalseRunRate measures how many GBK runs (and UTF-16 runs with
// hanzi) the extractor reports on random bytes (at most 2/MiB), and
// requires no false GBK string on the real PEs without Chinese text.
func TestGBKFalseRunRate(t *testing.T) {
	// Random bytes: the worst case, as compressed or encrypted sections are.
	rng := rand.New(rand.NewPCG(1, 2))
	randomSize := 16 << 20
	if raceEnabled {
		randomSize = 4 << 20
	}
	random := make([]byte, randomSize)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	set := ExtractStrings(context.Background(), random, StringOptions{MinLength: 6, Max: 1 << 20})
	gbk, u16 := 0, 0
	for _, s := range set.Strings {
		switch {
		case s.Encoding == EncGBK:
			gbk++
		case s.Encoding == EncUTF16LE && isCJKish(s.Value):
			u16++
		}
	}
	perMB := func(n int, bytes int64) float64 { return float64(n) / (float64(bytes) / (1 << 20)) }
	rs := int64(randomSize)
	t.Logf("random bytes, %d MiB: %d GBK runs (%.2f/MiB), %d UTF-16 hanzi runs (%.2f/MiB)", rs>>20, gbk, perMB(gbk, rs), u16, perMB(u16, rs))
	if perMB(gbk, rs) > 2 || perMB(u16, rs) > 2 {
		t.Errorf("false CJK runs on random bytes above 2/MiB: gbk %d, utf16 %d", gbk, u16)
	}

	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set: real-PE rate not measured")
	}
	// Issue 15's precision figure: no GBK string at all in real PEs that
	// carry no Chinese text in their resources or version info, at least
	// 800 of them, every file (the race detector only slows it down).
	var total int64
	gbk, u16 = 0, 0
	checked := 0
	var bad []string
	u16samples := map[string]int{}
	for _, p := range realPEs(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Analyze(context.Background(), b, Options{})
		if err != nil || carriesChinese(s) {
			continue
		}
		checked++
		total += int64(len(b))
		set := ExtractStrings(context.Background(), b, StringOptions{MinLength: 6, Max: 1 << 20, Layout: s})
		for _, str := range set.Strings {
			switch {
			case str.Encoding == EncGBK:
				gbk++
				if !knownGBKInNonChinese[str.Value] {
					bad = append(bad, fmt.Sprintf("%s@%d %s: %q", filepath.Base(p), str.Offset, str.Where, str.Value))
				}
			case str.Encoding == EncUTF16LE && isCJKish(str.Value):
				u16++
				u16samples[str.Value]++
			}
		}
	}
	t.Logf("%d real PEs without Chinese text, %.1f MiB: %d GBK strings (%d of them known real), %d UTF-16 strings with hanzi (%.3f/MiB)",
		checked, float64(total)/(1<<20), gbk, gbk-len(bad), u16, perMB(u16, total))
	var vals []string
	for v := range u16samples {
		vals = append(vals, v)
	}
	sort.Strings(vals)
	var pick []string
	for i := 0; i < len(vals); i += max(1, len(vals)/20) {
		pick = append(pick, vals[i])
	}
	t.Logf("UTF-16 strings with hanzi in them (%d distinct), sample: %s", len(vals), strings.Join(pick, " | "))
	if checked < 800 {
		t.Errorf("only %d real PEs without Chinese text checked, want at least 800", checked)
	}
	if len(bad) > 0 {
		t.Errorf("%d false GBK strings in files without Chinese text:\n%s", len(bad), strings.Join(bad, "\n"))
	}
}

// knownGBKInNonChinese are GBK strings that really are GBK text in files
// whose resources and version info hold no Chinese: InstallShield's
// setup.exe (clamav's clam_IScab_*.exe) keeps a table of font names in
// .data, where 宋体 (SimSun) sits between the EUC-KR 굴림 (which reads 奔覆
// as GBK and is rejected) and Japanese names.
var knownGBKInNonChinese = map[string]bool{"宋体": true}

// carriesChinese: a resource in a Chinese language, or Han characters in
// the version info, string tables or dialogs.
func carriesChinese(s *Summary) bool {
	for _, r := range s.Resources {
		if r.Lang&0x3ff == 0x04 {
			return true
		}
	}
	if s.Version != nil {
		for _, tb := range s.Version.Tables {
			for _, kv := range tb.Strings {
				if isCJKish(kv.Value) {
					return true
				}
			}
		}
	}
	for _, texts := range zhTexts(s) {
		if len(texts) > 0 {
			return true
		}
	}
	for _, ts := range s.StringTable {
		if isCJKish(ts.Value) {
			return true
		}
	}
	for _, d := range s.Dialogs {
		if isCJKish(d.Caption) {
			return true
		}
		for _, c := range d.Controls {
			if isCJKish(c.Text) {
				return true
			}
		}
	}
	return false
}
