// Package lists decides whether bytes are a TOM-Skype keyword list (GBK or
// UTF-8 text, one keyword per line) and compares recovered lists with the
// Citizen Lab snapshots.
//
// The plausibility test is the only judge of a key guess, so it is strict:
// every byte must decode, no control character may appear besides tab, CR
// and LF, there must be at least MinLines keywords, each at most
// MaxLineRunes long with a median of at most MaxMedianRunes; a quarter of
// the lines must contain a Han character (lists mix in English phrases); a
// line without Han may hold at most MaxLinePunct ASCII punctuation
// characters; 80% of the Han characters must be GB2312 level-1 (common)
// hanzi; at most 10% of all characters may be ASCII punctuation; and every
// character must be one GBK can encode in a keyword (Han, ASCII, CJK and
// full-width punctuation, Latin, Greek, Cyrillic, kana). A wrong XOR, DES or
// AES key yields control bytes or invalid sequences within the first few
// bytes, which Prefix detects before the whole blob is decrypted.
package lists

import (
	"bytes"
	"sort"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tomscan/tomscan/internal/keywords"
)

// Limits of the plausibility test. The Citizen Lab lists (2,599 distinct
// keywords) have lines of at most 27 characters and 93% contain a Han
// character.
const (
	MinLines       = 3
	MaxLineRunes   = 100
	MaxMedianRunes = 24
	// MinHanShare: share of lines with a Han character. Citizen Lab lists:
	// 0.93; the synthetic test lists (half English phrases): 0.30 and up.
	MinHanShare = 0.25
	// MaxLinePunct: ASCII punctuation in a line without Han characters.
	MaxLinePunct = 3
	// MinCommonHanShare: share of Han characters among GB2312's 3,755
	// level-1 (commonest) hanzi. Citizen Lab lists: 0.966 to 0.988; random
	// bytes decoded as GBK: about 0.3.
	MinCommonHanShare = 0.8
	// MaxPunctShare: share of ASCII punctuation among all characters.
	// Citizen Lab lists: at most 0.007; random printable ASCII: about 0.35.
	MaxPunctShare = 0.1
	MaxListBytes  = 8 << 20
)

// Encodings of a decoded list.
const (
	EncUTF8 = "utf-8"
	EncGBK  = "gbk"
)

// Decoded is a plausible keyword list.
type Decoded struct {
	Encoding string // EncUTF8 or EncGBK
	// Lines are the exact entries (keywords.Entries): file order,
	// duplicates and whitespace kept, only terminators and byte-less lines
	// dropped. The plausibility statistics look at each entry trimmed.
	Lines []string
}

// Prefix is the cheap test on the first bytes of a candidate plaintext: no
// control byte but tab, CR and LF, no DEL, no 0xFF (valid in neither GBK nor
// UTF-8). It accepts any prefix of a valid list, so it never rejects a right
// key; a wrong key fails it within a few bytes (about 1 byte in 8 is a
// control byte).
func Prefix(b []byte) bool {
	for _, c := range b {
		switch {
		case c == '\t' || c == '\r' || c == '\n':
		case c < 0x20 || c == 0x7f || c == 0xff:
			return false
		}
	}
	return true
}

// gbkShaped tells whether GBK could decode b without a replacement
// character: every byte from 0x81 to 0xfe leads a pair whose second byte is
// 0x40-0x7e or 0x80-0xfe, and no byte is 0xff. False is certain (the
// decoder would give U+FFFD, which Decode rejects); true still needs the
// decoder (unassigned pairs). The key search tries many keys whose output
// fails here, and the decoder would copy the whole blob to say so.
func gbkShaped(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c <= 0x80: // ASCII, and 0x80 for the euro sign (code page 936)
		case c == 0xff:
			return false
		default:
			if i+1 >= len(b) {
				return false
			}
			if t := b[i+1]; !(0x40 <= t && t <= 0x7e || 0x80 <= t && t <= 0xfe) {
				return false
			}
			i++
		}
	}
	return true
}

// Decode returns the list in b when b passes the plausibility test.
func Decode(b []byte) (Decoded, bool) {
	if len(b) < 2*MinLines || len(b) > MaxListBytes || !Prefix(b) {
		return Decoded{}, false
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var text, enc string
	if utf8.Valid(b) {
		text, enc = string(b), EncUTF8
	} else {
		if !gbkShaped(b) {
			return Decoded{}, false // the decoder would give U+FFFD: no copy made to learn it
		}
		out, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
		if err != nil || bytes.ContainsRune(out, utf8.RuneError) {
			return Decoded{}, false
		}
		text, enc = string(out), EncGBK
	}
	var lines []string
	var lengths []int
	stats := 0 // entries with text
	han := 0
	var hanRunes, commonHan, punct, runes int
	for _, exact := range keywords.Entries(text) {
		lines = append(lines, exact)
		l := strings.Trim(exact, " \t")
		if l == "" {
			continue // a blank entry is kept but says nothing about the list
		}
		stats++
		n, linePunct := 0, 0
		hasHan := false
		for _, r := range l {
			if !keywordRune(r) {
				return Decoded{}, false
			}
			switch {
			case unicode.Is(unicode.Han, r):
				hasHan = true
				hanRunes++
				if commonHanzi(r) {
					commonHan++
				}
			case r < 0x80 && r != ' ' && !isAlnum(r):
				punct++
				linePunct++
			}
			n++
		}
		if n > MaxLineRunes {
			return Decoded{}, false
		}
		if hasHan {
			han++
		} else if linePunct > MaxLinePunct {
			return Decoded{}, false // not a phrase: symbols, markup or noise
		}
		lengths = append(lengths, n)
		runes += n
	}
	if stats < MinLines || float64(han) < MinHanShare*float64(stats) {
		return Decoded{}, false
	}
	if float64(commonHan) < MinCommonHanShare*float64(hanRunes) || float64(punct) > MaxPunctShare*float64(runes) {
		return Decoded{}, false
	}
	sort.Ints(lengths)
	if lengths[len(lengths)/2] > MaxMedianRunes {
		return Decoded{}, false
	}
	return Decoded{Encoding: enc, Lines: lines}, true
}

// keywordRune admits what a keyword written in GBK can contain.
func keywordRune(r rune) bool {
	switch {
	case r == '\t':
		return true
	case r < 0x20 || r == 0x7f:
		return false
	case r < 0x7f:
		return true
	case unicode.Is(unicode.Han, r):
		return true
	case r >= 0x00a0 && r <= 0x052f: // Latin-1, Latin Extended, Greek, Cyrillic
		return true
	case r >= 0x2000 && r <= 0x27bf: // punctuation, letterlike, arrows, math, box drawing, shapes, dingbats
		return true
	case r >= 0x3000 && r <= 0x30ff: // CJK symbols and punctuation, kana
		return true
	case r >= 0x3100 && r <= 0x33ff: // bopomofo, enclosed CJK, compatibility
		return true
	case r >= 0xfe30 && r <= 0xfe4f, r >= 0xff00 && r <= 0xffef: // CJK compatibility forms, full-width forms
		return true
	}
	return false
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// commonHanzi tells whether r is a GB2312 level-1 hanzi: its GBK lead byte
// is 0xB0 to 0xD7. A list has thousands of Han characters and the answer
// for a character never changes, so the BMP's answers are kept, computed on
// first use (an encoder per character costs an allocation or three).
func commonHanzi(r rune) bool {
	if r < 0 || int(r) >= len(commonHanziMemo) {
		return gbkCommonHanzi(r)
	}
	switch commonHanziMemo[r].Load() {
	case memoYes:
		return true
	case memoNo:
		return false
	}
	ok := gbkCommonHanzi(r)
	v := uint32(memoNo)
	if ok {
		v = memoYes
	}
	commonHanziMemo[r].Store(v)
	return ok
}

const (
	memoYes = 1
	memoNo  = 2
)

// commonHanziMemo holds commonHanzi's answer for each BMP rune: 0 not yet
// known, memoYes, memoNo. Atomic: lists are decoded from concurrent visits.
var commonHanziMemo [0x10000]atomic.Uint32

// gbkCommonHanzi is commonHanzi computed with the GBK encoder.
func gbkCommonHanzi(r rune) bool {
	var buf [4]byte
	n := utf8.EncodeRune(buf[:], r)
	g, err := simplifiedchinese.GBK.NewEncoder().Bytes(buf[:n])
	return err == nil && len(g) == 2 && g[0] >= 0xb0 && g[0] <= 0xd7
}
