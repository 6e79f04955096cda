package reports_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/reportstest"
)

// TestViewOfTOMStructIsViewOfItsJSON: a report made in this process (its
// TOM section a struct, no TOMRaw) has the same view as the same report
// whose section is its JSON (what NewView read for both before it took the
// verdict from the struct), for every fixture and for verdicts whose
// strings JSON changes (invalid UTF-8), escapes (HTML, U+2028, controls)
// or cannot write (NaN).
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
	cases["tricky strings"] = tricky
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

// TestVerdictOfKnowsEveryField: verdictOf reads tom.Verdict as decoding its
// JSON would, field by field. A field added to the verdict, its evidence or
// their locations fails this test: check that verdictOf gives what the JSON
// of the new field would (a key matching a field of tomVerdict, tomEvidence
// or tomLocation without regard to case would be read from the JSON), then
// add it here.
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
	} {
		if got := keys(c.v); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%T's JSON keys are %q, verdictOf was written for %q", c.v, got, c.want)
		}
	}
}
