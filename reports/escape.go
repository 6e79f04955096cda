package reports

import (
	"strconv"
	"strings"
	"unicode"
)

// Terminal makes a string from a binary safe to print on a terminal: control
// characters (ANSI escapes included), bidi overrides and invalid UTF-8 are
// shown as Go escapes instead of acting on the screen.
func Terminal(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unsafeRune(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case r == '\t':
		return false
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true // bidi controls can reorder what a reader sees
	case unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
		return true // invisible format characters and line separators hide or split text
	}
	return false
}

// Markdown escapes a string from a binary for Markdown text and table cells:
// terminal-safe first, then every character Markdown or inline HTML could act on.
func Markdown(s string) string {
	s = Terminal(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '{', '}', '[', ']', '(', ')', '#', '+', '-', '.', '!', '|', '~', '>', '"', '\'':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '&':
			b.WriteString("&amp;")
		case '\t':
			b.WriteString(" ")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
