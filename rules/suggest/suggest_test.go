package suggest

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/registry"
	"github.com/tomscan/tomscan/rules"
	"github.com/tomscan/tomscan/rules/lint"
	"github.com/tomscan/tomscan/rules/ruletest"
)

func wide(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), 0)
	}
	return b
}

func TestStrings(t *testing.T) {
	data := append([]byte("\x00\x01http://skypetools.tom.com/agent/keyfile\x00ab\x00\x00\x00"), wide("TOM-Skype (TM)")...)
	got := map[string]int{}
	Strings(data, 6, func(s string, enc int) { got[s] |= enc })
	want := map[string]int{
		"http://skypetools.tom.com/agent/keyfile": ASCII,
		"skypetools.tom.com":                      ASCII,
		"keyfile":                                 ASCII,
		"TOM-Skype (TM)":                          Wide,
		"TOM-Skype":                               Wide,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// zipFile writes a ZIP with one entry, so Suggest must unpack to see it.
func zipFile(t *testing.T, path, entry string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(entry)
	w.Write(body)
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSuggestCommonToPositivesAbsentFromNegatives(t *testing.T) {
	dir := t.TempDir()
	pos1, pos2, neg := filepath.Join(dir, "p1.zip"), filepath.Join(dir, "p2.zip"), filepath.Join(dir, "n1.bin")
	zipFile(t, pos1, "Skype.exe", append([]byte("MZ http://skypetools.tom.com/agent/keyfile Skype Technologies S.A. build-one-only "), wide("TOM-Skype (TM)")...))
	zipFile(t, pos2, "bin/Skype.exe", append([]byte("MZ skypetools.tom.com/agent/skypever.php Skype Technologies S.A. "), wide("TOM-Skype (TM)")...))
	os.WriteFile(neg, append([]byte("MZ Skype Technologies S.A. "), wide("Skype Technologies")...), 0o644)

	l := limits.Default()
	l.BuildTimeout = time.Minute
	cfg := Config{
		Walker:   ruletest.Walker{Engine: unpack.New(registry.All(), registry.Tools()), Limits: l},
		Positive: []string{pos1, pos2}, Negative: []string{neg}, MinLen: 6,
	}
	cands, err := Suggest(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range cands {
		texts = append(texts, c.Text)
	}
	sort.Strings(texts)
	want := []string{"TOM-Skype", "TOM-Skype (TM)", "skypetools.tom.com"}
	if !reflect.DeepEqual(texts, want) {
		t.Errorf("candidates %q, want %q", texts, want)
	}

	var out bytes.Buffer
	if err := WriteRule(&out, Draft{Name: "Draft_Test", Date: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), Positives: cfg.Positive, Negatives: 1, Max: 10}, cands); err != nil {
		t.Fatal(err)
	}
	draft := out.String()
	if _, err := rules.Compile(context.Background(), []rules.Source{{Namespace: "draft", Path: "draft.yar", Text: out.Bytes()}}); err != nil {
		t.Fatalf("draft does not compile: %v\n%s", err, draft)
	}
	f, err := lint.Parse("draft.yar", out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if fs := lint.Check([]*lint.File{f}, lint.DefaultOptions()); len(fs) != 0 {
		t.Errorf("draft lint findings: %v\n%s", fs, draft)
	}
	// "TOM-Skype" is inside "TOM-Skype (TM)": only one of them goes in.
	if strings.Count(draft, "TOM-Skype") != 1 || !strings.Contains(draft, `example = "p1"`) || !strings.Contains(draft, `"skypetools.tom.com" ascii`) {
		t.Errorf("draft:\n%s", draft)
	}
}

// FuzzStrings: the extractor sees hostile bytes; every string it reports
// must be a printable run of the asked length, present in the input.
func FuzzStrings(f *testing.F) {
	f.Add([]byte("MZ\x00http://skypetools.tom.com/agent/keyfile\x00"), 6)
	f.Add(wide("TOM-Skype (TM)"), 4)
	f.Fuzz(func(t *testing.T, data []byte, min int) {
		if min < 1 || min > 300 {
			return
		}
		Strings(data, min, func(s string, enc int) {
			if len(s) < min || len(s) > maxRun {
				t.Fatalf("%q: length outside [%d,%d]", s, min, maxRun)
			}
			needle := []byte(s)
			if enc == Wide {
				needle = wide(s)
			}
			if !bytes.Contains(data, needle) {
				t.Fatalf("%q (enc %d) is not in the input", s, enc)
			}
		})
	})
}
