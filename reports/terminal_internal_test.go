package reports

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// referenceTerminal is Terminal without its ASCII fast path: the oracle.
func referenceTerminal(s string) string {
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

// TestTerminalFastPath: every single byte, and strings mixing printable
// ASCII with the bytes around it, escape as without the fast path.
func TestTerminalFastPath(t *testing.T) {
	for c := 0; c < 256; c++ {
		for _, s := range []string{string(rune(c)), string([]byte{byte(c)}), "a" + string([]byte{byte(c)}) + "b\t"} {
			if got, want := Terminal(s), referenceTerminal(s); got != want {
				t.Fatalf("Terminal(%q) = %q, reference %q", s, got, want)
			}
		}
	}
}

func FuzzTerminalFastPath(f *testing.F) {
	f.Add("TOM-Skype 3.6.0.248\t(c)")
	f.Add("\x1b[31mred\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Terminal(s), referenceTerminal(s); got != want {
			t.Fatalf("Terminal(%q) = %q, reference %q", s, got, want)
		}
	})
}

// referenceMarkdown is markdown without its fast path for plain strings.
func referenceMarkdown(s string, lineStart bool) string {
	s = referenceTerminal(s)
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

func checkMarkdown(t *testing.T, s string) {
	for _, lineStart := range []bool{false, true} {
		if got, want := markdown(s, lineStart), referenceMarkdown(s, lineStart); got != want {
			t.Fatalf("markdown(%q, %v) = %q, reference %q", s, lineStart, got, want)
		}
	}
}

// TestMarkdownFastPath: strings built from block markers, digits, spaces,
// the characters Markdown escapes and others, around the 16 characters the
// fast path looks at, escape as without it.
func TestMarkdownFastPath(t *testing.T) {
	pieces := []string{" ", "   ", "1", "123456789", "0", ".", ")", "#", "-", "+", "=", ">", "a", "x_y", "_", "*", "|", "<", "&", "\t", "5.1.4.10", "tom", "\u00e9", "\x00"}
	rng := rand.New(rand.NewPCG(3, 3))
	plain := 0
	for range 100000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		checkMarkdown(t, s)
		if plainMarkdown(s, true) {
			plain++
		}
	}
	if plain == 0 {
		t.Fatal("the fast path never ran: the test proves nothing")
	}
}

func FuzzMarkdownFastPath(f *testing.F) {
	f.Add("1. item")
	f.Add("   123456789) x")
	f.Add("5.1.4.10")
	f.Fuzz(func(t *testing.T, s string) { checkMarkdown(t, s) })
}
