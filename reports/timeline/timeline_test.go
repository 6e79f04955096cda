package timeline

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"3.8.0.188", "3.8.0.188", 0},
		{"3.6.0.248", "3.8.0.139", -1},
		{"5.10.0.1", "5.9.0.1", 1},
		{"5.1", "5.1.0.1", -1},
		{"5.1.4.10", "", -1},
		{"", "1.0", 1},
		{"1.0beta", "1.0", 1},
		{"1.a", "1.b", -1},
		{"1.2", "1.a", -1},
	} {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := CompareVersions(tc.b, tc.a); got != -tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d (antisymmetry)", tc.b, tc.a, got, -tc.want)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, 4}, {3, 4}, {5, 8}, {9, 20}, {421, 800}, {1134, 2000}, {4000, 4000}} {
		if got := niceCeil(tc.in); got != tc.want || got < tc.in {
			t.Errorf("niceCeil(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestSVG(t *testing.T) {
	pts := []Point{{Label: "3.6.0.248", Title: "a", Keywords: 0, Endpoints: 3}, {Label: "3.8.0.188", Title: "<b>&", Keywords: 421, Endpoints: 4}, {Label: "5.1.4.10", Keywords: 2000, Endpoints: 5}}
	svg := SVG(pts)
	if svg != SVG(pts) {
		t.Error("same points, different SVG")
	}
	// well-formed XML, so browsers render it inline and standalone
	d := xml.NewDecoder(strings.NewReader(svg))
	circles, polylines := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "circle":
				circles++
			case "polyline":
				polylines++
			}
		}
	}
	if circles != 6 || polylines != 2 {
		t.Errorf("%d circles and %d polylines, want 6 and 2", circles, polylines)
	}
	if strings.Contains(svg, "<b>") || !strings.Contains(svg, "&lt;b&gt;&amp;") {
		t.Error("titles must be escaped")
	}
	// the largest keyword count sits on the top grid line (y = top), zero on the axis
	if !strings.Contains(svg, `cy="40.0"`) || !strings.Contains(svg, `cy="270.0"`) {
		t.Errorf("points are not scaled to the plot area:\n%s", svg)
	}
	if !strings.Contains(SVG(nil), "no builds") {
		t.Error("an empty plot should say so")
	}
}
