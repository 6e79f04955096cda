package unpack

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// DecodeLegacyName reads an entry name that is not UTF-8 in the code page
// it most likely came from, and says which: a ZIP entry without the UTF-8
// flag, a CAB file without _A_NAME_IS_UTF or a tar member carry the creating
// system's code page, which for the installers tomscan is for is GBK
// (Chinese Windows) and otherwise CP437 (the ZIP specification's default,
// DOS). GBK is taken when the bytes decode as GBK without a replacement and
// give Han text; else CP437, which maps every byte. Valid UTF-8 comes back
// unchanged with no encoding. The caller keeps the bytes as found beside it.
//
// Decoding comes before "\" becomes "/": GBK's second bytes include 0x5C.
func DecodeLegacyName(raw string) (name, encoding string) {
	if utf8.ValidString(raw) {
		return raw, ""
	}
	if s, ok := DecodeGBK(raw); ok {
		return s, "gbk"
	}
	s, err := charmap.CodePage437.NewDecoder().String(raw)
	if err != nil {
		return raw, ""
	}
	return s, "cp437"
}

// DecodeGBK decodes a name stored in GBK: ok only when every byte decodes
// without a replacement and the result holds Han text, which ISO-8859-1 or
// CP437 names seldom pass for.
func DecodeGBK(raw string) (string, bool) {
	s, err := simplifiedchinese.GBK.NewDecoder().String(raw)
	if err != nil || strings.ContainsRune(s, utf8.RuneError) || !hasHan(s) {
		return "", false
	}
	return s, true
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
