package pe

import (
	"bufio"
	"compress/bzip2"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// commonHanziSource builds hanzi_common.txt from x/text's code tables:
// GB 2312 level 1 is rows 16-55 (lead bytes 0xB0-0xD7), the 3,755 most
// used Simplified characters in pinyin order; Big5 level 1 (0xA440-0xC67E)
// is the 5,401 常用字 of Traditional Chinese, by radical and stroke count.
func commonHanziSource(t testing.TB) string {
	var b strings.Builder
	b.WriteString(`# Common Han characters for tomscan's string extractor (pe/strings.go).
# Generated from golang.org/x/text's GBK and Big5 tables by
#   go test ./pe -run TestCommonHanziData -update
# [gb2312-1]: GB 2312-80 level 1, rows 16-55: 3,755 Simplified characters.
# [big5-1]:   Big5 level 1, 0xA440-0xC67E: 5,401 Traditional characters.
# [frequent]: Unihan kFrequency 1-3 (Unicode 15.0, Debian unicode-data
#             15.0.0: Unihan_DictionaryLikeData.txt), the ~1,300 most
#             frequent characters, plus their kSimplifiedVariant forms
#             (Unihan_Variants.txt), since kFrequency was measured on
#             Traditional text.
`)
	decode := func(dec func([]byte) ([]byte, error), lead, trail int) rune {
		v, err := dec([]byte{byte(lead), byte(trail)})
		if err != nil {
			return 0
		}
		r := []rune(string(v))
		if len(r) != 1 || r[0] == '\ufffd' {
			return 0
		}
		return r[0]
	}
	section := func(name string, runes []rune) {
		fmt.Fprintf(&b, "[%s] %d\n", name, len(runes))
		for i := 0; i < len(runes); i += 64 {
			b.WriteString(string(runes[i:min(i+64, len(runes))]))
			b.WriteByte('\n')
		}
	}
	gb := simplifiedchinese.GBK.NewDecoder()
	var l1 []rune
	for lead := 0xB0; lead <= 0xD7; lead++ {
		for trail := 0xA1; trail <= 0xFE; trail++ {
			if r := decode(gb.Bytes, lead, trail); r != 0 {
				l1 = append(l1, r)
			}
		}
	}
	section("gb2312-1", l1)
	b5 := traditionalchinese.Big5.NewDecoder()
	var big []rune
	for code := 0xA440; code <= 0xC67E; code++ {
		trail := code & 0xFF
		if trail < 0x40 || (trail > 0x7E && trail < 0xA1) || trail == 0xFF {
			continue
		}
		if r := decode(b5.Bytes, code>>8, trail); r != 0 {
			big = append(big, r)
		}
	}
	section("big5-1", big)
	section("frequent", unihanFrequent(t))
	if len(l1) != 3755 || len(big) != 5401 {
		t.Fatalf("x/text tables give %d GB 2312 level-1 and %d Big5 level-1 characters, want 3755 and 5401", len(l1), len(big))
	}
	return b.String()
}

// unihanDir holds Debian unicode-data's Unihan files (scripts/setup.sh installs it).
const unihanDir = "/usr/share/unicode"

// unihanFields reads one bzip2'ed Unihan file: code point -> field -> value.
func unihanFields(t testing.TB, name string, want ...string) map[rune]map[string]string {
	f, err := os.Open(unihanDir + "/" + name)
	if err != nil {
		t.Skipf("%v: install Debian's unicode-data (scripts/setup.sh does)", err)
	}
	defer f.Close()
	out := map[rune]map[string]string{}
	sc := bufio.NewScanner(bzip2.NewReader(f))
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if len(p) != 3 || !strings.HasPrefix(p[0], "U+") {
			continue
		}
		for _, w := range want {
			if p[1] == w {
				cp, err := strconv.ParseUint(p[0][2:], 16, 32)
				if err != nil {
					t.Fatal(err)
				}
				if out[rune(cp)] == nil {
					out[rune(cp)] = map[string]string{}
				}
				out[rune(cp)][w] = p[2]
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// unihanFrequent is kFrequency 1-3 plus the Simplified variants of those
// characters, sorted by code point.
func unihanFrequent(t testing.TB) []rune {
	freq := unihanFields(t, "Unihan_DictionaryLikeData.txt.bz2", "kFrequency")
	variants := unihanFields(t, "Unihan_Variants.txt.bz2", "kSimplifiedVariant")
	set := map[rune]bool{}
	for r, f := range freq {
		if n, err := strconv.Atoi(f["kFrequency"]); err != nil || n > 3 {
			continue
		}
		set[r] = true
		for _, v := range strings.Fields(variants[r]["kSimplifiedVariant"]) {
			if cp, err := strconv.ParseUint(strings.TrimPrefix(v, "U+"), 16, 32); err == nil {
				set[rune(cp)] = true
			}
		}
	}
	var out []rune
	for r := range set {
		if r >= 0x4E00 && r <= 0x9FFF {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestCommonHanziData: the shipped table is exactly what the x/text tables
// give, and the sets loaded from it have the documented sizes.
func TestCommonHanziData(t *testing.T) {
	want := commonHanziSource(t)
	if *update {
		if err := os.WriteFile("hanzi_common.txt", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if hanziCommonText != want {
		t.Fatal("hanzi_common.txt differs from the x/text tables: go test ./pe -run TestCommonHanziData -update")
	}
	if n := loadTextTables().gb2312Level1.count(); n != 3755 {
		t.Errorf("gb2312Level1 has %d characters", n)
	}
	if n := loadTextTables().commonHan.count(); n < 5401 || n > 3755+5401 {
		t.Errorf("commonHan has %d characters", n)
	}
	if n := loadTextTables().frequentHan.count(); n < 1200 || n > 2000 {
		t.Errorf("frequentHan has %d characters", n)
	}
	for _, r := range "的一是这们说国确定除設置" {
		if !loadTextTables().frequentHan.has(r) {
			t.Errorf("%c not frequent", r)
		}
	}
	for _, r := range "确定取消驱动程序诊断屏幕分辨率繁體中文檔案總管" {
		if !loadTextTables().commonHan.has(r) {
			t.Errorf("%c not common", r)
		}
	}
	for _, r := range "艏亍" { // GB 2312 level 2
		if loadTextTables().gb2312Level1.has(r) {
			t.Errorf("%c in level 1", r)
		}
	}
}
