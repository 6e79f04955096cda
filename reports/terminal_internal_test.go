package reports

import (
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
