package reports_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/keywords"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/internal/tom/lists"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// TestViewOfTOMStructIsViewOfItsJSON: a report made in this process (its
// TOM section a struct, no TOMRaw) has the same view as the same report
// whose section is its JSON (what NewView read for both before it took the
// verdict and the keyword lists from the struct), for every fixture and for
// verdicts and lists whose strings JSON changes (invalid UTF-8), escapes
// (HTML, U+2028, controls) or cannot write (NaN).
func TestViewOfTOMStructIsViewOfItsJSON(t *testing.T) {
	cases := map[string]*reports.Report{}
	for name, r := range reportstest.All() {
		cases[name] = r
	}
	odd := "bad\xff\xfe utf-8 \xe4\xb8 cut, <b>&amp;</b> \u2028 \x00\x1b[31m " + reportstest.Hostile
	tricky := reportstest.TOM()
	v := &tricky.TOM.Verdict
	v.Kind, v.Reason, v.Language, v.ProductNode, v.LanguageNode = odd, odd, odd, odd+"x", odd+"y"
	v.EvidenceOmitted = 3
	v.Evidence = append(v.Evidence,
		tom.Evidence{Node: odd, Source: odd, Provenance: odd, Detail: odd, Weight: 0.125, Offset: 1 << 40, Count: 3,
			Locations: []tom.Location{{Node: odd, Offset: 7}, {Node: "other\xc0", Offset: 0, Encoding: "ascii"}}},
		tom.Evidence{Node: "n", Source: "s", Weight: -0.5, Count: 2, Locations: []tom.Location{}},
		tom.Evidence{Node: "n", Detail: strings.Repeat("長", 300), Weight: 1e-9, Count: 0})
	tricky.TOM.KeywordLists = append(tricky.TOM.KeywordLists,
		tom.KeywordList{Cipher: odd, KeyHex: "6b\xff", Location: "", Node: odd, Resource: "res\xfe", Count: 9, EntriesTotal: 11,
			SHA256: odd, NormalizedCount: 3, Keywords: []string{}, Duplicates: []keywords.Duplicate{{Entry: " x\xff ", Count: 2}, {Entry: "", Count: 5}},
			Snapshot: &lists.Match{Family: "", Name: "", Date: "2008-13-99\xff", Jaccard: 0.33333, Added: []string{}, Removed: []string{odd, "达赖"}}},
		tom.KeywordList{Cipher: "des", Location: "cache-file", Keywords: []string{"a\xc3", " 六四 ", odd}, Count: 3, EntriesTotal: 3},
		tom.KeywordList{Location: "rcdata"})
	cases["tricky strings"] = tricky
	nanJaccard := reportstest.TOM()
	nanJaccard.TOM.KeywordLists[0].Snapshot.Jaccard = math.NaN()
	cases["NaN jaccard"] = nanJaccard
	noLists := reportstest.TOM()
	noLists.TOM.KeywordLists = []tom.KeywordList{}
	cases["no keyword lists"] = noLists
	empty := reportstest.TOM()
	empty.TOM.Verdict.Evidence = []tom.Evidence{}
	cases["empty evidence"] = empty
	none := reportstest.TOM()
	none.TOM.Verdict.Evidence = nil
	cases["no evidence"] = none
	nan := reportstest.TOM()
	nan.TOM.Verdict.Evidence[0].Weight = math.NaN()
	cases["NaN weight"] = nan
	inf := reportstest.TOM()
	inf.TOM.Verdict.Confidence = math.Inf(1)
	cases["infinite confidence"] = inf

	for name, r := range cases {
		if r.TOM == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			typed := *r
			typed.TOMRaw = nil
			viaJSON := *r
			raw, err := json.Marshal(r.TOM)
			viaJSON.TOMRaw = raw
			if err != nil {
				viaJSON.TOMRaw, viaJSON.TOM = nil, nil // JSON refuses it: no section, as NewView did then
			}
			got, want := reports.NewView(&typed), reports.NewView(&viaJSON)
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Fatalf("view of the struct differs from the view of its JSON:\n got %s\nwant %s", g, w)
			}
			if name == "tricky strings" && !strings.Contains(got.Reason, "bad\uFFFD\uFFFD utf-8 \uFFFD\uFFFD cut") {
				t.Fatalf("reason %q: invalid UTF-8 not replaced byte by byte as encoding/json does", got.Reason)
			}
		})
	}
}

// TestVerdictOfKnowsEveryField: verdictOf and keywordListsOf read the TOM
// structs as decoding their JSON would, field by field. A field added to
// the verdict, its evidence, their locations, a keyword list, its
// duplicates or its snapshot match fails this test: check that they give
// what the JSON of the new field would (a verdict key matching a field of
// tomVerdict, tomEvidence or tomLocation without regard to case, or a list
// key decodeKeywordLists looks up), then add it here.
func TestVerdictOfKnowsEveryField(t *testing.T) {
	keys := func(v any) []string {
		var out []string
		ty := reflect.TypeOf(v)
		for i := 0; i < ty.NumField(); i++ {
			name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
		return out
	}
	for _, c := range []struct {
		v    any
		want []string
	}{
		{tom.Verdict{}, []string{"kind", "confidence", "reason", "language", "product_node", "language_node", "evidence", "evidence_omitted"}},
		{tom.Evidence{}, []string{"node", "source", "provenance", "weight", "decides", "family", "detail", "offset", "count", "locations"}},
		{tom.Location{}, []string{"node", "offset", "encoding"}},
		{tom.KeywordList{}, []string{"cipher", "key_hex", "key_node", "key_offset", "key_encoding", "location", "node", "resource",
			"offset", "encoding", "count", "entries_total", "sha256", "keywords", "duplicates", "normalized_count", "normalized_sha256", "snapshot"}},
		{keywords.Duplicate{}, []string{"entry", "count"}},
		{lists.Match{}, []string{"family", "name", "date", "jaccard", "ties", "unknown", "added", "removed", "common"}},
	} {
		if got := keys(c.v); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%T's JSON keys are %q, verdictOf was written for %q", c.v, got, c.want)
		}
	}
}
