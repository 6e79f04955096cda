package lint

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func parseFixture(t *testing.T, rel string) *File {
	t.Helper()
	path := filepath.Join("..", "testdata", "lint", rel)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(rel, src)
	if err != nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
	return f
}

// got lists "line code" pairs, sorted, for comparison with a table.
func got(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, strings.Join([]string{itoa(f.Line), f.Code}, " "))
	}
	sort.Strings(out)
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestCheckFixtures(t *testing.T) {
	tests := []struct {
		files []string
		want  []string // "line code", sorted
	}{
		{[]string{"clean.yar"}, nil},
		{[]string{"unbounded.yar"}, []string{
			"11 unbounded-regex", "12 unbounded-regex", "13 unbounded-regex", "14 unbounded-regex", "15 unbounded-jump",
		}},
		{[]string{"short.yar"}, []string{"11 short-atom", "12 short-atom", "13 short-atom"}},
		{[]string{"meta.yar"}, []string{
			"1 missing-meta", "1 missing-meta", "1 missing-meta", "1 missing-meta", "1 missing-meta", "1 missing-meta",
			"14 bad-meta", "15 bad-meta", "16 bad-meta",
		}},
		{[]string{"unused.yar"}, []string{"12 unused-string"}},
		{[]string{"dup/one.yar", "dup/two.yar"}, []string{"1 duplicate-rule"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.files, "+"), func(t *testing.T) {
			var files []*File
			for _, f := range tc.files {
				files = append(files, parseFixture(t, f))
			}
			fs := Check(files, DefaultOptions())
			if g := got(fs); !reflect.DeepEqual(g, tc.want) {
				t.Errorf("findings:\n got %q\nwant %q\n%v", g, tc.want, fs)
			}
		})
	}
}

func TestDuplicateNamesTheSecondFile(t *testing.T) {
	fs := Check([]*File{parseFixture(t, "dup/one.yar"), parseFixture(t, "dup/two.yar")}, DefaultOptions())
	if len(fs) != 1 || fs[0].File != "dup/two.yar" || !strings.Contains(fs[0].Message, "dup/one.yar:1") {
		t.Fatalf("want one finding on dup/two.yar pointing at dup/one.yar:1, got %v", fs)
	}
}

func TestParseStructure(t *testing.T) {
	f := parseFixture(t, "clean.yar")
	if len(f.Rules) != 1 {
		t.Fatalf("rules: %d", len(f.Rules))
	}
	r := f.Rules[0]
	if r.Name != "Fixture_Clean" || r.Line != 2 || !reflect.DeepEqual(r.Tags, []string{"endpoint"}) {
		t.Errorf("rule header: %q line %d tags %v", r.Name, r.Line, r.Tags)
	}
	if len(r.Meta) != 6 || r.Meta[5].Key != "example" || r.Meta[5].Value != "tom-en-5.1.4.10-nsis" {
		t.Errorf("meta: %+v", r.Meta)
	}
	wantStrings := []String{
		{ID: "$host", Kind: KindText, Value: "skypetools.tom.com", Modifiers: []string{"ascii", "wide", "nocase"}, Line: 12},
		{ID: "$re", Kind: KindRegex, Value: `\/agent\/keyfile(_u)?[^a-z]{0,8}`, Modifiers: []string{"ascii"}, Line: 13},
		{ID: "$hex", Kind: KindHex, Value: "4D 5A 90 00 [0-16] 50 45 00 00", Line: 14},
	}
	if !reflect.DeepEqual(r.Strings, wantStrings) {
		t.Errorf("strings:\n got %+v\nwant %+v", r.Strings, wantStrings)
	}
	var refs []string
	for _, ref := range r.Refs {
		refs = append(refs, ref.Text)
	}
	if !reflect.DeepEqual(refs, []string{"$host", "$re", "#hex"}) {
		t.Errorf("refs: %v", refs)
	}
	if r.Condition != "$host and ($re or #hex > 0)" || r.CondLine != 16 {
		t.Errorf("condition %q at %d", r.Condition, r.CondLine)
	}
}

func TestParseErrorsHaveLines(t *testing.T) {
	tests := []struct {
		src  string
		line int
	}{
		{"rule a {\n condition:\n true\n", 1},                   // unterminated rule
		{"rule a {\n strings:\n $a = \"x\n condition: $a }", 3}, // unterminated string
		{"rule a {\n meta:\n x = \n}", 4},                       // meta without a value
		{"\n\nfoo", 3},                                          // stray word
		{"rule {\n condition: true }", 1},                       // no name
		{"rule a {\n strings:\n $a = /abc\n condition: $a }", 3},
		{"rule a { strings: $a = \"x\" }", 1}, // no condition
	}
	for _, tc := range tests {
		_, err := Parse("x.yar", []byte(tc.src))
		pe, ok := err.(*ParseError)
		if !ok {
			t.Errorf("%q: want a ParseError, got %v", tc.src, err)
			continue
		}
		if pe.Line != tc.line {
			t.Errorf("%q: line %d, want %d (%v)", tc.src, pe.Line, tc.line, pe)
		}
	}
}

func TestConditionSkipsQuotedAndRegex(t *testing.T) {
	src := `rule a {
 strings:
  $a = "skypetools"
 condition:
  $a and filename matches /\$b}/ and filepath contains "$c}"
}`
	f, err := Parse("x.yar", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rules[0].Refs) != 1 || f.Rules[0].Refs[0].Text != "$a" {
		t.Errorf("refs: %+v", f.Rules[0].Refs)
	}
}

func TestAtomLength(t *testing.T) {
	tests := []struct {
		s    String
		want int
	}{
		{String{Kind: KindText, Value: "TOM-Skype"}, 9},
		{String{Kind: KindText, Value: "ab", Modifiers: []string{"wide"}}, 4},
		{String{Kind: KindText, Value: "ab", Modifiers: []string{"ascii", "wide"}}, 2},
		{String{Kind: KindHex, Value: "4D 5A ?? 00 01 02 [2-4] 03"}, 3},
		{String{Kind: KindHex, Value: "(4D 5A 90 | 4D 5A 91) 00"}, 1},
		{String{Kind: KindRegex, Value: `skypetools\.tom\.com`}, 18},
		{String{Kind: KindRegex, Value: `ab?cde`}, 3},
		{String{Kind: KindRegex, Value: `abcd+e`}, 4},
		{String{Kind: KindRegex, Value: `\d{1,3}\.\d{1,3}`}, 1},
		{String{Kind: KindRegex, Value: `keyfile|keyfile_u`}, 7},
		{String{Kind: KindRegex, Value: `ab|cdefgh`}, 2},
		{String{Kind: KindRegex, Value: `[a-z]{4}tom`}, 3},
	}
	for _, tc := range tests {
		if got := AtomLength(tc.s); got != tc.want {
			t.Errorf("%s %q: %d, want %d", tc.s.Kind, tc.s.Value, got, tc.want)
		}
	}
}

func TestUnboundedRepetitions(t *testing.T) {
	tests := []struct {
		re   string
		want []string
	}{
		{`tom\.com.*agent`, []string{"`.*`"}},
		{`[^\x00]*`, []string{"`[^\\x00]*`"}},
		{`(ab)+c`, []string{"`(ab)+`"}},
		{`a{2,}`, []string{"`a{2,}`"}},
		{`a{2,8}b{0,3}\*\+`, nil},
		{`[*+]{1,4}`, nil},
	}
	for _, tc := range tests {
		if got := UnboundedRepetitions(tc.re); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.re, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "testdata", "lint", "*.yar"))
	more, _ := filepath.Glob(filepath.Join("..", "*.yar"))
	for _, p := range append(seeds, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("rule a { strings: $a = { 4D [-] 5A } $b = /x+/ condition: any of them }"))
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse("fuzz.yar", src)
		if file == nil {
			t.Fatal("nil file")
		}
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, r := range file.Rules {
			if r.Start < 0 || r.End > len(src) || r.Start > r.End {
				t.Fatalf("rule %s span [%d,%d) outside [0,%d)", r.Name, r.Start, r.End, len(src))
			}
		}
		_ = Check([]*File{file}, DefaultOptions())
	})
}

// TestShippedPackIsClean holds the pack to its own standard.
func TestShippedPackIsClean(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "*.yar"))
	if len(paths) == 0 {
		t.Fatal("no shipped rule files")
	}
	var files []*File
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(p, src)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if fs := Check(files, DefaultOptions()); len(fs) != 0 {
		for _, f := range fs {
			t.Error(f)
		}
	}
}
