// Package timeline draws the archive's timeline plot: keyword-list size and
// endpoint count per build, builds ordered by version, as a standalone SVG
// drawn here so the index page needs no plotting library and no script.
package timeline

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Point is one build on the plot.
type Point struct {
	Label     string // the build's version, or a short sha256 when it has none
	Title     string // hover text: the build's path
	Keywords  int    // keywords over all recovered lists
	Endpoints int
}

// Geometry of the plot, in SVG user units.
const (
	width   = 1000
	height  = 380
	left    = 60
	right   = 60
	top     = 40
	bottom  = 110
	plotW   = width - left - right
	plotH   = height - top - bottom
	kwColor = "#1f77b4"
	epColor = "#d62728"
)

// SVG draws the points in the order given. The same points give the same bytes.
func SVG(points []Point) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="timeline" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="keyword-list size and endpoint count by build version">`, width, height, width, height)
	b.WriteString("\n<title>keyword-list size and endpoint count by build version</title>\n")
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	kwMax, epMax := 0, 0
	for _, p := range points {
		kwMax = max(kwMax, p.Keywords)
		epMax = max(epMax, p.Endpoints)
	}
	kwTop, epTop := niceCeil(kwMax), niceCeil(epMax)
	// axes and grid: 4 intervals on both y axes
	for i := 0; i <= 4; i++ {
		y := top + plotH - plotH*i/4
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#e0e0e0"/>`+"\n", left, y, left+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end" fill="%s">%d</text>`+"\n", left-6, y+4, kwColor, kwTop*i/4)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="start" fill="%s">%d</text>`+"\n", left+plotW+6, y+4, epColor, epTop*i/4)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, top+plotH, left+plotW, top+plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" fill="%s">keywords (left axis)</text>`+"\n", left, top-14, kwColor)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" text-anchor="end" fill="%s">endpoints (right axis)</text>`+"\n", left+plotW, top-14, epColor)
	if len(points) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="14" text-anchor="middle">no builds</text>`+"\n", width/2, top+plotH/2)
		b.WriteString("</svg>")
		return b.String()
	}
	xs := make([]float64, len(points))
	for i := range points {
		if len(points) == 1 {
			xs[i] = left + plotW/2
		} else {
			xs[i] = left + 20 + float64(plotW-40)*float64(i)/float64(len(points)-1)
		}
	}
	yOf := func(v, top_ int) float64 { return float64(top+plotH) - float64(plotH)*float64(v)/float64(top_) }
	series := func(color string, val func(Point) int, top_ int, class string) {
		var pts []string
		for i, p := range points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xs[i], yOf(val(p), top_)))
		}
		fmt.Fprintf(&b, `<polyline class="%s" fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", class, color, strings.Join(pts, " "))
		for i, p := range points {
			title := p.Title
			if title == "" {
				title = p.Label
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s: %d %s</title></circle>`+"\n",
				xs[i], yOf(val(p), top_), color, html.EscapeString(title), val(p), class)
		}
	}
	series(kwColor, func(p Point) int { return p.Keywords }, kwTop, "keywords")
	series(epColor, func(p Point) int { return p.Endpoints }, epTop, "endpoints")
	for i, p := range points {
		fmt.Fprintf(&b, `<text font-size="11" text-anchor="end" transform="translate(%.1f,%d) rotate(-45)">%s</text>`+"\n",
			xs[i], top+plotH+14, html.EscapeString(shorten(p.Label, 24)))
	}
	b.WriteString("</svg>")
	return b.String()
}

// niceCeil rounds n up to 4 times 1, 2 or 5 times a power of ten, so the
// four grid lines fall on round numbers. It is at least 4.
func niceCeil(n int) int {
	if n <= 4 {
		return 4
	}
	step := float64(n) / 4
	mag := math.Pow(10, math.Floor(math.Log10(step)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= step {
			return int(m*mag) * 4
		}
	}
	return int(10*mag) * 4
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// CompareVersions orders dotted versions numerically ("5.10" after "5.9");
// non-numeric parts compare as text, and "" sorts last.
func CompareVersions(a, b string) int {
	if a == b {
		return 0
	}
	if a == "" {
		return 1
	}
	if b == "" {
		return -1
	}
	pa, pb := strings.FieldsFunc(a, isSep), strings.FieldsFunc(b, isSep)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		switch {
		case ea == nil && eb == nil:
			if na != nb {
				return cmpInt(na, nb)
			}
		case ea == nil:
			return -1 // numbers before words
		case eb == nil:
			return 1
		default:
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
		}
	}
	if c := cmpInt(len(pa), len(pb)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isSep(r rune) bool { return r == '.' || r == ',' || r == ' ' || r == '-' }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SortByVersion orders items by version (CompareVersions), then by tie.
func SortByVersion[T any](items []T, version func(T) string, tie func(T) string) {
	sort.SliceStable(items, func(i, j int) bool {
		if c := CompareVersions(version(items[i]), version(items[j])); c != 0 {
			return c < 0
		}
		return tie(items[i]) < tie(items[j])
	})
}
