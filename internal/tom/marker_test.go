package tom

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// refHasMarker is hasMarker as it was before the ASCII fold: the reference
// of TestHasMarkerMatchesReference and FuzzHasMarker.
func refHasMarker(s, marker string) bool {
	ls, lm := strings.ToLower(s), strings.ToLower(marker)
	for from := 0; ; {
		i := strings.Index(ls[from:], lm)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(lm)
		if !wordByte(ls, i-1) && !wordByte(ls, end) {
			return true
		}
		from = i + 1
	}
}

// TestHasMarkerMatchesReference: the ASCII fold finds what the lower-cased
// copies did, on the markers in use and random strings built from their
// pieces, word bytes, separators and non-ASCII letters (the Kelvin sign
// lower-cases to k).
func TestHasMarkerMatchesReference(t *testing.T) {
	var ms []string
	for _, m := range markers {
		ms = append(ms, m.text)
	}
	ms = append(ms, "TOM", "Skype Technologies", "TOM在线", "gmw", "a", "-x_")
	pieces := append(append([]string{}, ms...), "t", "O", "m", "-", "_", " ", "1", "S", "\u212Aype", "İ", "ß", "在线", ".", "Z")
	rng := rand.New(rand.NewPCG(16, 3))
	for range 200000 {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s, m := b.String(), ms[rng.IntN(len(ms))]
		if got, want := hasMarker(s, m), refHasMarker(s, m); got != want {
			t.Fatalf("hasMarker(%q, %q) = %v, reference %v", s, m, got, want)
		}
	}
}

func FuzzHasMarker(f *testing.F) {
	f.Add("TOM-Skype 3.6", "TOM")
	f.Add("atom tom_", "tom")
	f.Add("S\u212Aype Technologies", "Skype Technologies")
	f.Fuzz(func(t *testing.T, s, m string) {
		if m == "" {
			return // no marker is empty; the reference slices past the end on one
		}
		if got, want := hasMarker(s, m), refHasMarker(s, m); got != want {
			t.Fatalf("hasMarker(%q, %q) = %v, reference %v", s, m, got, want)
		}
	})
}
