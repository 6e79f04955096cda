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
	if printableASCII(s) {
		return s // most strings of binaries: nothing to escape, nothing to copy
	}
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

// printableASCII tells whether s is only ASCII that Terminal keeps as it
// is: printable characters and tabs.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
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
// terminal-safe first (so it is one line), then only what Markdown or inline
// HTML could act on. Version numbers and names read as written ("5.1.4.10",
// "tom-en-x"); a hostile string still cannot open a tag, a link, emphasis,
// code, a table cell or a block (a heading, quote or list at its start).
func Markdown(s string) string { return markdown(s, true) }

// MarkdownCell escapes s for a table cell, where no block can open: a cell
// of "-" stays "-".
func MarkdownCell(s string) string { return markdown(s, false) }

func markdown(s string, lineStart bool) string {
	if plainMarkdown(s, lineStart) {
		return s // most strings of binaries: nothing to escape, nothing to copy
	}
	s = Terminal(s)
	rs := []rune(s)
	mark := -1
	if lineStart {
		mark = blockMarker(rs)
	}
	var b strings.Builder
	for i, r := range rs {
		switch r {
		case '\\', '`', '*', '[', ']', '|', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '_':
			// intraword underscores never emphasise (CommonMark), so
			// tom_endpoints stays readable; at a word's edge it could
			if i > 0 && i < len(rs)-1 && wordRune(rs[i-1]) && wordRune(rs[i+1]) {
				b.WriteRune(r)
			} else {
				b.WriteString(`\_`)
			}
		case '<':
			b.WriteString("&lt;")
		case '&':
			b.WriteString("&amp;")
		case '\t':
			b.WriteString(" ")
		default:
			if i == mark {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plainMarkdown tells whether markdown would return s as it is: printable
// ASCII with none of the characters it escapes and, at a line's start, no
// block marker. blockMarker looks at most at the first 14 characters (three
// spaces, nine digits, a dot and what follows), so a prefix of 16 tells
// whether the whole string opens a block.
func plainMarkdown(s string, lineStart bool) bool {
	if !printableASCII(s) || strings.ContainsAny(s, "\\`*[]|~_<&\t") {
		return false
	}
	return !lineStart || blockMarker([]rune(s[:min(len(s), 16)])) < 0
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// blockMarker is the index of the rune that would make rs, at the start
// of a line, open a block: a heading (#), a quote (>), a list item (- + or
// "1." "1)"), a thematic break or setext underline (--- ===). -1 when none:
// "-x", "#1" and "5.1.4.10" open nothing, so they are left alone.
func blockMarker(rs []rune) int {
	i := 0
	for i < len(rs) && i < 3 && rs[i] == ' ' {
		i++
	}
	if i == len(rs) {
		return -1
	}
	endsMarker := func(j int) bool { return j >= len(rs) || rs[j] == ' ' }
	switch c := rs[i]; c {
	case '>':
		return i
	case '#', '-', '+', '=':
		if endsMarker(i+1) || rs[i+1] == c {
			return i
		}
		return -1
	}
	j := i
	for j < len(rs) && j-i < 9 && rs[j] >= '0' && rs[j] <= '9' {
		j++
	}
	if j > i && j < len(rs) && (rs[j] == '.' || rs[j] == ')') && endsMarker(j+1) {
		return j
	}
	return -1
}
