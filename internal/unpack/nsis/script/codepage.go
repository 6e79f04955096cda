package script

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// ANSI installers (every NSIS 2 installer, the Skype era's) store strings
// in a Windows code page that the header does not name. Language strings
// are in the code page of their language file, and the script's own strings
// in the compiling machine's, which for a localised build is the same; so
// the first language table's LANGID picks the code page. A TOM-Skype
// installer built on a Chinese system reads as GBK, not as Latin-1.

// codepageOf maps a Windows LANGID to its ANSI code page.
func codepageOf(langID uint16) int {
	primary, sub := langID&0x3ff, langID>>10
	switch primary {
	case 0x04: // Chinese
		if sub == 0x02 || sub == 0x04 { // PRC, Singapore
			return 936
		}
		return 950 // Taiwan, Hong Kong, Macao
	case 0x11:
		return 932 // Japanese
	case 0x12:
		return 949 // Korean
	case 0x02, 0x19, 0x22, 0x23, 0x2f, 0x3f, 0x40, 0x44, 0x50: // Bulgarian, Russian, Ukrainian, Belarusian, Macedonian, Kazakh, Kyrgyz, Tatar, Mongolian
		return 1251
	case 0x05, 0x0e, 0x15, 0x18, 0x1b, 0x1c, 0x24: // Czech, Hungarian, Polish, Romanian, Slovak, Albanian, Slovenian
		return 1250
	case 0x1a: // Croatian, Serbian (Latin), Bosnian; Cyrillic sublanguages use 1251
		if sub == 0x03 || sub == 0x07 {
			return 1251
		}
		return 1250
	case 0x08:
		return 1253 // Greek
	case 0x1f, 0x2c, 0x43: // Turkish, Azeri (Latin), Uzbek (Latin)
		return 1254
	case 0x0d:
		return 1255 // Hebrew
	case 0x01, 0x20, 0x29: // Arabic, Urdu, Farsi
		return 1256
	case 0x25, 0x26, 0x27: // Estonian, Latvian, Lithuanian
		return 1257
	case 0x2a:
		return 1258 // Vietnamese
	case 0x1e:
		return 874 // Thai
	}
	return 1252
}

// codepages are the decoders for the code pages codepageOf returns.
var codepages = map[int]encoding.Encoding{
	874: charmap.Windows874, 932: japanese.ShiftJIS, 936: simplifiedchinese.GBK, 949: korean.EUCKR,
	950: traditionalchinese.Big5, 1250: charmap.Windows1250, 1251: charmap.Windows1251,
	1252: charmap.Windows1252, 1253: charmap.Windows1253, 1254: charmap.Windows1254,
	1255: charmap.Windows1255, 1256: charmap.Windows1256, 1257: charmap.Windows1257,
	1258: charmap.Windows1258,
}

// ansiText decodes one run of literal ANSI bytes in code page cp. Bytes the
// code page cannot map stay visible as U+FFFD rather than vanish.
func ansiText(b []byte, cp int) string {
	if len(b) == 0 {
		return ""
	}
	enc, ok := codepages[cp]
	if !ok {
		enc = charmap.Windows1252
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil || !utf8.Valid(out) {
		return strings.ToValidUTF8(string(out), "\uFFFD")
	}
	return string(out)
}
