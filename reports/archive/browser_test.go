package archive_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/browsertest"
	"github.com/tomscan/tomscan/reports/diff"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// One Chromium for the whole package: starting it costs seconds under
// -race, opening a page in it milliseconds.
var chromium browsertest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	chromium.Stop()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// pagesArchive is the fixtures' archive the browser tests share (they only
// read it; the diff test adds its page beside the index).
func pagesArchive(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() { shared.dir, shared.err = sharedArchive() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.dir
}

var shared struct {
	once sync.Once
	dir  string
	err  error
}

func sharedArchive() (string, error) {
	out, err := os.MkdirTemp("", "tomscan-pages-")
	if err != nil {
		return "", err
	}
	for key, r := range reportstest.All() {
		if err := archive.WriteBuild(out, key, r, nil); err != nil {
			return "", err
		}
	}
	if _, err := archive.Rebuild(context.Background(), out); err != nil {
		return "", err
	}
	return out, nil
}

// pageWidth is the width the pages are checked and photographed at.
const pageWidth = 1400

// openPage opens a file in the shared browser at pageWidth; the test is
// skipped without Chromium or in -short mode.
func openPage(t *testing.T, file string) *browsertest.Page {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	b, err := chromium.Get()
	if err != nil {
		t.Skip(err)
	}
	p, err := b.NewPage(pageWidth, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if _, err := p.Navigate("file://" + file); err != nil {
		t.Fatal(err)
	}
	return p
}

func eval[T any](t *testing.T, p *browsertest.Page, js string) T {
	t.Helper()
	var v T
	if err := p.Eval(js, &v); err != nil {
		t.Fatalf("%v\nin: %s", err, js)
	}
	return v
}

// artifacts is where screenshots are kept: $TOMSCAN_ARTIFACTS when set.
func artifacts(t *testing.T) string {
	if d := os.Getenv("TOMSCAN_ARTIFACTS"); d != "" {
		d = filepath.Join(d, "reports-browser")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// shoot saves a screenshot of the page and fails when it looks blank.
func shoot(t *testing.T, p *browsertest.Page, name string) {
	t.Helper()
	path := filepath.Join(artifacts(t), name+".png")
	if err := p.Screenshot(path, 3000); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	bd := img.Bounds()
	colours := map[[3]uint32]bool{}
	dark := 0
	for y := bd.Min.Y; y < bd.Max.Y; y += 4 {
		for x := bd.Min.X; x < bd.Max.X; x += 4 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
			if r+g+b < 3*0x8000 {
				dark++
			}
		}
	}
	t.Logf("%s: %dx%d, %d colours, %d dark samples", filepath.Base(path), bd.Dx(), bd.Dy(), len(colours), dark)
	if bd.Dx() != pageWidth {
		t.Errorf("%s is %d px wide, want %d", path, bd.Dx(), pageWidth)
	}
	if len(colours) < 8 || dark < 120 {
		t.Errorf("%s looks blank: %d colours, %d dark samples", path, len(colours), dark)
	}
}

// layout is what checkLayout measures in the page.
type layout struct {
	ScrollWidth, InnerWidth int
	Missing                 []string
	Overlaps                []string
	Scripts                 int
	Alerts                  int
}

// checkLayout asserts that the page has every selector in want, does not
// scroll sideways at pageWidth, that no two elements of box overlap, and
// that it runs no script but its own (plus its inert data block).
func checkLayout(t *testing.T, p *browsertest.Page, box string, scripts int, want ...string) {
	t.Helper()
	sel, _ := json.Marshal(want)
	l := eval[layout](t, p, fmt.Sprintf(`(() => {
  const d = document.documentElement, out = {ScrollWidth: d.scrollWidth, InnerWidth: window.innerWidth, Missing: [], Overlaps: [],
    Scripts: document.scripts.length, Alerts: document.querySelectorAll("img, iframe, object, embed").length};
  for (const s of %s) { if (!document.querySelector(s)) { out.Missing.push(s); } }
  const box = %q ? document.querySelector(%q) : null;
  if (box) {
    const els = Array.from(box.querySelectorAll("*")).filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
    for (let i = 0; i < els.length; i++) for (let j = i + 1; j < els.length; j++) {
      const a = els[i], b = els[j];
      if (a.contains(b) || b.contains(a)) continue;
      const r = a.getBoundingClientRect(), q = b.getBoundingClientRect();
      const w = Math.min(r.right, q.right) - Math.max(r.left, q.left), h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
      if (w > 0.5 && h > 0.5) out.Overlaps.push((a.id || a.className || a.tagName) + " / " + (b.id || b.className || b.tagName));
    }
    const br = box.getBoundingClientRect();
    for (const e of els) { const r = e.getBoundingClientRect(); if (r.right > br.right + 0.5 || r.left < br.left - 0.5) out.Overlaps.push((e.id || e.className || e.tagName) + " leaves the box"); }
  }
  return out;
})()`, sel, box, box))
	if len(l.Missing) > 0 {
		t.Errorf("page lacks %q", l.Missing)
	}
	if l.ScrollWidth > l.InnerWidth {
		wide := eval[[]string](t, p, `Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.closest(".scroll")).slice(0, 5).map(e => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className + ": " + e.textContent.slice(0, 60))`)
		t.Errorf("page overflows: document %d px wide in a %d px viewport; widest: %q", l.ScrollWidth, l.InnerWidth, wide)
	}
	if len(l.Overlaps) > 0 {
		t.Errorf("elements of %s overlap: %q", box, l.Overlaps)
	}
	if l.Scripts != scripts || l.Alerts != 0 {
		t.Errorf("page has %d scripts (want %d) and %d img/iframe/object elements (want 0): a string became markup", l.Scripts, scripts, l.Alerts)
	}
}

// hanGlyphs draws each Han character of the first element matching sel in
// that element's font on a canvas: a character with no glyph in any font
// draws the same box as a codepoint no font has (U+10FFFD), and boxes all
// look alike; real glyphs differ from the box and from each other.
type glyphs struct {
	Chars    string
	Tofu     int // characters drawn exactly like the missing-glyph box
	Distinct int // distinct drawings among the characters
	Font     string
}

func hanGlyphs(t *testing.T, p *browsertest.Page, sel string) glyphs {
	t.Helper()
	return eval[glyphs](t, p, fmt.Sprintf(`(() => {
  const el = document.querySelector(%q);
  if (!el) return {Chars: ""};
  const cs = getComputedStyle(el), c = document.createElement("canvas");
  c.width = 80; c.height = 80;
  const g = c.getContext("2d", {willReadFrequently: true});
  const font = cs.fontSize + " " + cs.fontFamily;
  const draw = ch => { g.clearRect(0, 0, 80, 80); g.font = font; g.fillStyle = "#000"; g.textBaseline = "top"; g.fillText(ch, 8, 8);
    const a = g.getImageData(0, 0, 80, 80).data; let s = ""; for (let i = 3; i < a.length; i += 4) s += a[i] > 127 ? "1" : "0"; return s; };
  const chars = Array.from(new Set(Array.from(el.textContent).filter(ch => /\p{Script=Han}/u.test(ch))));
  const tofu = draw("\u{10FFFD}");
  const seen = new Set(chars.map(draw));
  return {Chars: chars.join(""), Tofu: chars.filter(ch => draw(ch) === tofu).length, Distinct: seen.size, Font: font};
})()`, sel))
}

func TestReportPagesInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	out := pagesArchive(t)
	page := func(key string) string { return filepath.Join(out, archive.BuildsDir, key, archive.ReportHTML) }
	first := []string{"#verdict", "#verdict-kind", "#verdict-status", "#identity", "#links #link-index", "#link-json", "#toc",
		"#sec-keywords", "#sec-installer", "#sec-tree", "#sec-pe", "#sec-rules", "#sec-evidence"}

	t.Run("tom", func(t *testing.T) {
		p := openPage(t, page(reportstest.TOMKey))
		checkLayout(t, p, "#verdict", 1, append(first, "#verdict-confidence", "table#evidence", "table#endpoints", "table#keyword-lists",
			"table#rule-matches", "table#all-evidence", `#kw-keyfile`)...)
		// the first screen holds the verdict, the top evidence, endpoints and keyword lists
		below := eval[[]string](t, p, `["#verdict", "#identity", "#evidence", "#endpoints", "#keyword-lists"].filter(s => document.querySelector(s).getBoundingClientRect().top > 1000)`)
		if len(below) > 0 {
			t.Errorf("not on the first screen (1400x1000): %q", below)
		}
		// a sortable table sorts: weight ascending after one click
		w := eval[[]float64](t, p, `(() => { document.querySelector("#all-evidence th").click();
  return Array.from(document.querySelectorAll("#all-evidence tbody tr")).map(r => parseFloat(r.cells[0].textContent)); })()`)
		for i := 1; i < len(w); i++ {
			if w[i] < w[i-1] {
				t.Errorf("all evidence not sorted by weight after a click: %v", w)
				break
			}
		}
		if len(w) < 2 {
			t.Errorf("all evidence has %d rows", len(w))
		}
		// the TOC stays on screen while scrolling
		top := eval[float64](t, p, `(() => { window.scrollTo(0, document.querySelector("#sec-tree").offsetTop); return document.querySelector("#toc").getBoundingClientRect().top; })()`)
		if top < -1 || top > 5 {
			t.Errorf("the table of contents is not sticky: %v px from the top after scrolling", top)
		}
		_ = eval[int](t, p, `(window.scrollTo(0, 0), 0)`)
		shoot(t, p, "report-tom")
	})
	t.Run("chinese", func(t *testing.T) {
		p := openPage(t, page(reportstest.ChineseKey))
		checkLayout(t, p, "#verdict", 1, first...)
		g := hanGlyphs(t, p, `#sec-keywords ~ details.kw-all li[lang="zh"], ul.kw li[lang="zh"]`)
		t.Logf("Han glyphs %q in %s: %d distinct drawings, %d like the missing-glyph box", g.Chars, g.Font, g.Distinct, g.Tofu)
		if len([]rune(g.Chars)) < 2 {
			t.Fatalf("no Chinese keyword to test (%q)", g.Chars)
		}
		if g.Tofu > 0 || g.Distinct != len([]rune(g.Chars)) {
			t.Errorf("Chinese keywords render as boxes, not glyphs: %d of %q like a missing glyph, %d distinct drawings (make setup installs fonts-wqy-zenhei)", g.Tofu, g.Chars, g.Distinct)
		}
		if n := eval[int](t, p, `document.querySelectorAll('[lang="zh"]').length`); n == 0 {
			t.Error(`no element is marked lang="zh"`)
		}
		shoot(t, p, "report-chinese")
	})
	t.Run("hostile", func(t *testing.T) {
		p := openPage(t, page(reportstest.HostileKey))
		checkLayout(t, p, "", 1, "#verdict", "#toc")
		text := eval[string](t, p, `document.body.innerText`)
		if !strings.Contains(text, "<script>alert(1)</script>") {
			t.Error("the hostile string should show as text")
		}
		if n := eval[int](t, p, `document.querySelectorAll("b, a[href^='http']").length`); n != 0 {
			t.Errorf("%d elements came from a hostile string", n)
		}
	})
}

func TestIndexAndDiffPagesInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	out := pagesArchive(t)
	t.Run("index", func(t *testing.T) {
		p := openPage(t, filepath.Join(out, archive.IndexHTML))
		checkLayout(t, p, "#counts", 2, "#counts .badge.tom", "#timeline circle", "#years rect", "#filters #f-text", "#f-verdict", "#f-family",
			"#f-host", "#f-keyword", "#builds tbody tr a[href$='report.html']", "#timeline a[href$='report.html']")
		rows := func() int { return eval[int](t, p, `document.querySelectorAll("#builds tbody tr").length`) }
		all := rows()
		if all != len(reportstest.All()) {
			t.Errorf("%d rows, want %d", all, len(reportstest.All()))
		}
		n := filterRows(t, p, "#f-keyword", "法轮")
		if n != 2 { // the English and the Chinese TOM builds hold 法轮功
			t.Errorf("keyword filter 法轮: %d rows, want 2", n)
		}
		filterRows(t, p, "#f-keyword", "")
		if n := filterRows(t, p, "#f-host", "skypetools.tom"); n < 1 || n >= all {
			t.Errorf("host filter: %d rows of %d", n, all)
		}
		filterRows(t, p, "#f-host", "")
		if n := eval[int](t, p, `(() => { const s = document.querySelector("#f-verdict"); s.value = "regular-skype"; s.dispatchEvent(new Event("change")); return document.querySelectorAll("#builds tbody tr").length; })()`); n != 1 {
			t.Errorf("verdict filter regular-skype: %d rows, want 1", n)
		}
		shoot(t, p, "index")
	})
	t.Run("diff", func(t *testing.T) {
		d := diff.Compare(reportstest.RegularKey, reportstest.Regular(), reportstest.TOMKey, reportstest.TOM())
		d.A.Report = "builds/" + reportstest.RegularKey + "/report.html"
		d.B.Report = "builds/" + reportstest.TOMKey + "/report.html"
		h, err := d.HTML()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(out, "diff.html")
		if err := os.WriteFile(file, h, 0o644); err != nil {
			t.Fatal(err)
		}
		p := openPage(t, file)
		checkLayout(t, p, "#sides", 0, "#sides a[href$='report.html']", "#keyword-lists", "table.kw-change[data-list='keyfile']", "#files", "#endpoints-added")
		spill := eval[[]string](t, p, `Array.from(document.querySelectorAll(".badge")).filter(b => { const c = b.closest("td").getBoundingClientRect(), r = b.getBoundingClientRect();
  return r.left < c.left || r.right > c.right || r.top < c.top || r.bottom > c.bottom; }).map(b => b.textContent)`)
		if len(spill) > 0 {
			t.Errorf("badges spill over their cells: %q", spill)
		}
		shoot(t, p, "diff")
	})
}

// filterRows types text into a filter box and returns how many rows the
// table shows once the page has applied it.
func filterRows(t *testing.T, p *browsertest.Page, box, text string) int {
	t.Helper()
	q, _ := json.Marshal(text)
	return eval[int](t, p, fmt.Sprintf(`new Promise(done => { const i = document.querySelector(%q); i.value = %s; i.dispatchEvent(new Event("input"));
  setTimeout(() => done(document.querySelectorAll("#builds tbody tr").length), 400); })`, box, q))
}

// bigBuilds is the size of TestBigIndexInChromium's archive: 10,000
// builds, or 300 under the race detector (which slows the pure-Go
// SQLite some 30 times: `make bench-pages` runs the 10,000 without it);
// $TOMSCAN_BIG_INDEX overrides.
func bigBuilds() int {
	if n, err := strconv.Atoi(os.Getenv("TOMSCAN_BIG_INDEX")); err == nil && n > 0 {
		return n
	}
	if raceOn {
		return 300
	}
	return 10000
}

// TestBigIndexInChromium: an archive of 10,000 builds (the fixtures,
// copied in the index with varied keys, versions and dates, not scanned)
// gives an index.html under 5 MB whose keyword filter works in Chromium.
// Its load time is printed; BenchmarkBigIndexLoad measures it.
func TestBigIndexInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if _, err := chromium.Get(); err != nil {
		t.Skip(err)
	}
	out, n := bigArchive(t, bigBuilds())
	st, err := os.Stat(filepath.Join(out, archive.IndexHTML))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("index.html of %d builds: %.2f MB", n, float64(st.Size())/1e6)
	if limit := int64(5_000_000) * int64(n) / 10000; st.Size() >= limit { // 5 MB at 10,000 builds
		t.Errorf("index.html of %d builds is %d bytes, want < %d", n, st.Size(), limit)
	}
	b, _ := chromium.Get()
	p, err := b.NewPage(pageWidth, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	took, err := p.Navigate("file://" + filepath.Join(out, archive.IndexHTML))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded (data parsed, charts and first table page drawn) in %s (target < 2 s; see BenchmarkBigIndexLoad)", took.Round(time.Millisecond))
	info := eval[string](t, p, `document.querySelector("#shown").textContent`)
	if !strings.HasPrefix(info, fmt.Sprintf("%d of %d builds", n, n)) {
		t.Errorf("pager says %q", info)
	}
	if rows := eval[int](t, p, `document.querySelectorAll("#builds tbody tr").length`); rows != 100 {
		t.Errorf("first page shows %d rows, want 100", rows)
	}
	got := filterRows(t, p, "#f-keyword", "法轮")
	info = eval[string](t, p, `document.querySelector("#shown").textContent`)
	want := n / len(reportstest.All()) * 2 // two fixtures in seven hold 法轮功
	if !strings.HasPrefix(info, fmt.Sprintf("%d of %d builds", want, n)) || got != min(want, 100) {
		t.Errorf("keyword filter 法轮: pager %q, %d rows shown; want %d matching builds", info, got, want)
	}
	shoot(t, p, "index-10000")
}

// bigArchive is an archive of about n builds: the fixtures, written and
// indexed as a scan would, copied in the index with varied keys, versions
// and dates (archive.CloneBuilds), and the index page flushed. Only the
// fixtures have report files.
func bigArchive(t testing.TB, n int) (string, int) {
	t.Helper()
	out := t.TempDir()
	ctx := context.Background()
	for key, r := range reportstest.All() {
		if err := archive.WriteBuild(out, key, r, map[string]bool{"html": true}); err != nil {
			t.Fatal(err)
		}
	}
	x, err := archive.Open(ctx, out) // indexes the reports
	if err != nil {
		t.Fatal(err)
	}
	x.Close()
	count, err := archive.CloneBuilds(ctx, out, n)
	if err != nil {
		t.Fatal(err)
	}
	if x, err = archive.Open(ctx, out); err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return out, count
}

// BenchmarkBigIndexLoad: how long Chromium takes to load and draw the
// index page of 10,000 builds (target: under 2 s), from navigation to the
// load event (data parsed, charts and the first page of the table drawn).
func BenchmarkBigIndexLoad(b *testing.B) {
	br, err := chromium.Get()
	if err != nil {
		b.Skip(err)
	}
	out, _ := bigArchive(b, 10000)
	page := "file://" + filepath.Join(out, archive.IndexHTML)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := br.NewPage(pageWidth, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Navigate(page); err != nil {
			b.Fatal(err)
		}
		_ = p.Close()
	}
}

var _ = reports.SortScript // the report pages' one script (checkLayout counts it)
