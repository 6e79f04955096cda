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

// TestMarkersHoldAnAnchor: mayHoldMarker looks for "tom" and "skype" only,
// which holds while every marker contains one of them.
func TestMarkersHoldAnAnchor(t *testing.T) {
	for _, m := range markers {
		l := strings.ToLower(m.text)
		if !strings.Contains(l, "tom") && !strings.Contains(l, "skype") {
			t.Errorf("marker %q holds neither tom nor skype: mayHoldMarker would miss it", m.text)
		}
	}
}

// TestMayHoldMarker: when mayHoldMarker says no, no marker is in the
// string (the reference finds none), on random strings built from the
// markers' pieces, case changes and non-ASCII letters.
func TestMayHoldMarker(t *testing.T) {
	pieces := []string{"t", "T", "o", "O", "m", "M", "s", "S", "k", "K", "y", "p", "e", "E", "-", " ", ".", "gmw", "cn", "Online", "Technologies",
		"Word Review", "\u212Aype", "İ", "在线", "1", "_", "x"}
	for _, m := range markers {
		pieces = append(pieces, m.text)
	}
	rng := rand.New(rand.NewPCG(5, 9))
	no := 0
	for range 200000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		if s := b.String(); !checkMayHoldMarker(t, s) {
			no++
		}
	}
	if no == 0 {
		t.Fatal("mayHoldMarker never said no: the test proves nothing")
	}
}

func FuzzMayHoldMarker(f *testing.F) {
	f.Add("TOM-Skype 3.6")
	f.Add("S\u212Aype Technologies")
	f.Add("tomato sKyPe")
	f.Fuzz(func(t *testing.T, s string) { checkMayHoldMarker(t, s) })
}

// checkMayHoldMarker fails t when mayHoldMarker(s) is false and a marker
// is in s; it returns mayHoldMarker(s).
func checkMayHoldMarker(t *testing.T, s string) bool {
	may := mayHoldMarker(s)
	if !may {
		for _, m := range markers {
			if refHasMarker(s, m.text) {
				t.Fatalf("mayHoldMarker(%q) = false, but it holds %q", s, m.text)
			}
		}
	}
	return may
}
