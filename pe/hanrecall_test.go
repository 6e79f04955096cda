package pe

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// zhScript names the script a Chinese LANGID is written in: PRC and
// Singapore Simplified, Taiwan, Hong Kong and Macau Traditional.
func zhScript(lang uint32) string {
	if lang&0x3ff != 0x04 { // LANG_CHINESE
		return ""
	}
	switch lang >> 10 {
	case 2, 4:
		return "simplified"
	case 1, 3, 5:
		return "traditional"
	}
	return ""
}

// hanPieces splits text into its maximal runs of Han characters and keeps
// those of two or more: the words a reader of the string table would look
// for in a node's strings.
func hanPieces(text string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) >= 2 {
			out = append(out, string(cur))
		}
		cur = cur[:0]
	}
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			cur = append(cur, r)
			continue
		}
		flush()
	}
	flush()
	return out
}

// zhTexts are a summary's zh-CN and zh-TW string-table and dialog texts, by script.
func zhTexts(s *Summary) map[string][]string {
	out := map[string][]string{}
	for _, ts := range s.StringTable {
		if sc := zhScript(ts.Lang); sc != "" {
			out[sc] = append(out[sc], ts.Value)
		}
	}
	for _, d := range s.Dialogs {
		sc := zhScript(d.Lang)
		if sc == "" {
			continue
		}
		out[sc] = append(out[sc], d.Caption)
		for _, c := range d.Controls {
			out[sc] = append(out[sc], c.Text)
		}
	}
	return out
}

// recallTally counts pieces looked for and found, per script.
type recallTally struct {
	pieces, found int
	short         [2]int // 2-3 character pieces: looked for, found
	missed        map[string]int
}

// TestHanRecall is issue 15's recall figure: of the 2+-character Han pieces
// of every zh-CN and zh-TW STRINGTABLE and DIALOG text in the real corpus
// (wine's DLLs carry most), at least 97% must lie inside one of the node's
// extracted strings, Simplified and Traditional each. The texts come from
// our resource decoders, which the pefile cross-check vouches for; the
// strings come from the byte scanner, which knows nothing of resources.
func TestHanRecall(t *testing.T) {
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set")
	}
	tally := map[string]*recallTally{"simplified": {missed: map[string]int{}}, "traditional": {missed: map[string]int{}}}
	files := 0
	for _, p := range realPEs(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Analyze(context.Background(), b, Options{})
		if err != nil {
			continue
		}
		texts := zhTexts(s)
		if len(texts) == 0 {
			continue
		}
		files++
		set := ExtractStrings(context.Background(), b, StringOptions{MinLength: 6, Max: 1 << 20, Layout: s})
		var all strings.Builder
		for _, str := range set.Strings {
			all.WriteString(str.Value)
			all.WriteByte(0) // a piece must lie inside one string
		}
		hay := all.String()
		for sc, list := range texts {
			tl := tally[sc]
			for _, text := range list {
				for _, piece := range hanPieces(text) {
					n := len([]rune(piece))
					ok := strings.Contains(hay, piece)
					tl.pieces++
					if n <= 3 {
						tl.short[0]++
					}
					if ok {
						tl.found++
						if n <= 3 {
							tl.short[1]++
						}
					} else {
						tl.missed[piece]++
					}
				}
			}
		}
	}
	if files == 0 {
		t.Fatal("no real-corpus PE carries zh-CN or zh-TW string tables or dialogs: is libwine in the corpus?")
	}
	for _, sc := range []string{"simplified", "traditional"} {
		tl := tally[sc]
		rate := 100 * float64(tl.found) / float64(max(tl.pieces, 1))
		short := 100 * float64(tl.short[1]) / float64(max(tl.short[0], 1))
		t.Logf("%s: %d of %d pieces found (%.2f%%); 2-3 characters: %d of %d (%.2f%%); over %d files",
			sc, tl.found, tl.pieces, rate, tl.short[1], tl.short[0], short, files)
		var missed []string
		for p := range tl.missed {
			missed = append(missed, p)
		}
		sort.Strings(missed)
		if len(missed) > 40 {
			missed = missed[:40]
		}
		t.Logf("%s missed (first 40, sorted): %s", sc, strings.Join(missed, " | "))
		if tl.pieces < 500 {
			t.Errorf("%s: only %d pieces: the figure needs the wine DLLs' resources", sc, tl.pieces)
		}
		if rate < 97 {
			t.Errorf("%s recall %.2f%% < 97%%", sc, rate)
		}
	}
}
