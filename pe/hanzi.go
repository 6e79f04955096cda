package pe

import (
	_ "embed"
	"math/bits"
	"strings"
	"sync"

	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// hanziCommonText is the shipped frequency table (see its header): GB 2312
// level 1 and Big5 level 1, generated from golang.org/x/text's code tables
// by TestCommonHanziData, which also checks the file against them.
//
//go:embed hanzi_common.txt
var hanziCommonText string

// hanziSet is a bitset over the CJK Unified Ideographs block U+4E00..U+9FFF:
// the extractor asks for every candidate character, so no map lookups.
type hanziSet [(0x9FFF - 0x4E00 + 64) / 64]uint64

func (h *hanziSet) has(r rune) bool {
	if r < 0x4E00 || r > 0x9FFF {
		return false
	}
	i := r - 0x4E00
	return h[i/64]&(1<<(i%64)) != 0
}

func (h *hanziSet) add(r rune) {
	if r >= 0x4E00 && r <= 0x9FFF {
		i := r - 0x4E00
		h[i/64] |= 1 << (i % 64)
	}
}

func (h *hanziSet) count() int {
	n := 0
	for _, w := range h {
		n += bits.OnesCount64(w)
	}
	return n
}

// gb2312Level1 holds the 3,755 level-1 characters of GB 2312: modern
// Simplified text draws over 99% of its characters from them, random GB
// byte pairs only about half. commonHan adds Big5 level 1 (5,401
// characters, Traditional), for UTF-16 text, which is either script.
// frequentHan holds the ~1,300 most frequent characters (Unihan kFrequency
// 1-3) in both scripts: a GBK run of two or three hanzi, where GB 2312
// level 1 alone lets one random pair in ten through, must be made of them.

func loadCommonHanzi(text string) (gb, common, frequent *hanziSet) {
	gb, common, frequent = new(hanziSet), new(hanziSet), new(hanziSet)
	var cur *hanziSet
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "#"), line == "":
		case strings.HasPrefix(line, "[gb2312-1]"):
			cur = gb
		case strings.HasPrefix(line, "[big5-1]"):
			cur = nil
		case strings.HasPrefix(line, "[frequent]"):
			cur = frequent
		default:
			for _, r := range line {
				if cur == frequent {
					frequent.add(r)
					continue
				}
				if cur != nil {
					cur.add(r)
				}
				common.add(r)
			}
		}
	}
	return gb, common, frequent
}

// makeGB2312Hanzi fills t, which maps a GB2312 hanzi pair (lead
// 0xB0..0xF7, trail 0xA1..0xFE) to its rune, decoding each pair with
// x/text's GB18030 decoder.
func makeGB2312Hanzi(t *[72 * 94]rune) {
	dec := simplifiedchinese.GB18030.NewDecoder()
	for lead := 0xB0; lead <= 0xF7; lead++ {
		for trail := 0xA1; trail <= 0xFE; trail++ {
			v, err := dec.Bytes([]byte{byte(lead), byte(trail)})
			if err != nil {
				continue
			}
			for _, r := range string(v) {
				t[(lead-0xB0)*94+trail-0xA1] = r
				break
			}
		}
	}
}

func gbkHanzi(lead, trail byte) rune {
	return tabs.gb2312Hanzi[(int(lead)-0xB0)*94+int(trail)-0xA1]
}

// hangulSet is a bitset over the Hangul syllables U+AC00..U+D7A3.
type hangulSet [(0xD7A3 - 0xAC00 + 64) / 64]uint64

func (h *hangulSet) has(r rune) bool {
	if r < 0xAC00 || r > 0xD7A3 {
		return false
	}
	i := r - 0xAC00
	return h[i/64]&(1<<(i%64)) != 0
}

// makeHangulKSX1001 fills h with the 2,350 precomposed syllables of
// KS X 1001 (EUC-KR rows 0xB0-0xC8), decoded with x/text's EUC-KR decoder.
func makeHangulKSX1001(h *hangulSet) {
	dec := korean.EUCKR.NewDecoder()
	for lead := 0xB0; lead <= 0xC8; lead++ {
		for trail := 0xA1; trail <= 0xFE; trail++ {
			v, err := dec.Bytes([]byte{byte(lead), byte(trail)})
			if err != nil {
				continue
			}
			for _, r := range string(v) {
				if r >= 0xAC00 && r <= 0xD7A3 {
					i := r - 0xAC00
					h[i/64] |= 1 << (i % 64)
				}
				break
			}
		}
	}
}

// textTables are string extraction's lookup tables. They are built on
// first use, not at start: building them (decoding every GB 2312 and
// KS X 1001 pair through x/text, classifying every UTF-16 code unit) was
// most of the package's init, about 5 ms, paid by every tomscan process
// (a scan's parent and a rules-only rescan's workers never extract
// strings).
type textTables struct {
	kind16      [1 << 16]uint8 // kind16 of every code unit: the UTF-16 scan's one lookup a unit
	class16     [1 << 16]uint8 // the unit classes of every code unit (makeClass16), for skip16
	gb2312Hanzi [72 * 94]rune  // makeGB2312Hanzi
	hangul      hangulSet      // makeHangulKSX1001

	gb2312Level1, commonHan, frequentHan *hanziSet // loadCommonHanzi
}

// tabs is set by loadTextTables, which ExtractStrings calls before it
// reads any: the scan's loops then read it as they read the package-level
// tables it replaced, with no check of their own.
var (
	tabs     *textTables
	tabsOnce sync.Once
)

func loadTextTables() *textTables {
	tabsOnce.Do(func() {
		t := new(textTables)
		for u := range t.kind16 {
			t.kind16[u] = uint8(kind16(byte(u), byte(u>>8)))
		}
		makeClass16(&t.class16, &t.kind16)
		makeGB2312Hanzi(&t.gb2312Hanzi)
		makeHangulKSX1001(&t.hangul)
		t.gb2312Level1, t.commonHan, t.frequentHan = loadCommonHanzi(hanziCommonText)
		tabs = t
	})
	return tabs
}
