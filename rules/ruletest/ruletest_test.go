package ruletest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/corpus/manifest"
	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/rules"
)

const abRules = `
rule Alpha { meta: example = "b1" strings: $a = "alpha-marker" condition: $a }
rule Beta { meta: example = "b2" example = "no-such-build" strings: $b = "beta-marker" wide condition: $b }
rule Gamma { strings: $g = "gamma-marker" condition: $g }
`

func TestRunCountsAgainstManifest(t *testing.T) {
	wide := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return b
	}
	corpus := writeCorpus(t, []fixtureBuild{
		{id: "b1", entries: map[string][]byte{"a.bin": []byte("xx alpha-marker xx")}, expected: []string{"Alpha"}},
		{id: "b2", nested: true, entries: map[string][]byte{"b.bin": wide("beta-marker")}, expected: []string{"Alpha", "Beta"}},
		{id: "b3", entries: map[string][]byte{"c.bin": []byte("alpha-marker")}},
		{id: "b4", entries: map[string][]byte{"d.bin": []byte("nothing")}, expected: []string{"Delta"}},
	})
	real := t.TempDir()
	os.MkdirAll(filepath.Join(real, "files", "pkg"), 0o755)
	os.WriteFile(filepath.Join(real, "files", "pkg", "good.dll"), wide("beta-marker"), 0o644)
	os.WriteFile(filepath.Join(real, "files", "pkg", "clean.dll"), []byte("clean"), 0o644)

	res, err := Run(context.Background(), Config{
		Rules: compileText(t, "ab", abRules), CorpusDir: corpus, RealDir: real,
		Engine: testEngine(), Limits: testLimits(), Jobs: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Builds != 4 || res.RealFiles != 2 {
		t.Fatalf("builds %d real %d", res.Builds, res.RealFiles)
	}
	byRule := map[string]RuleStats{}
	for _, st := range res.Rules {
		byRule[st.Rule] = st
	}
	alpha, beta, gamma := byRule["Alpha"], byRule["Beta"], byRule["Gamma"]
	if alpha.TP != 1 || alpha.FP != 1 || alpha.FN != 1 || alpha.TN != 3 {
		t.Errorf("Alpha: %+v", alpha)
	}
	if *alpha.Precision != 0.5 || *alpha.Recall != 0.5 {
		t.Errorf("Alpha precision %v recall %v", *alpha.Precision, *alpha.Recall)
	}
	if !reflect.DeepEqual(alpha.FalseNegatives, []string{"b2"}) {
		t.Errorf("Alpha FN %v", alpha.FalseNegatives)
	}
	if !reflect.DeepEqual(alpha.FalsePositives, []Hit{{Input: "b3", Nodes: []string{"b3.zip!c.bin"}}}) {
		t.Errorf("Alpha FP %+v", alpha.FalsePositives)
	}
	if beta.TP != 1 || beta.FP != 1 || beta.FN != 0 {
		t.Errorf("Beta: %+v", beta)
	}
	if !reflect.DeepEqual(beta.FalsePositives, []Hit{{Input: "real:files/pkg/good.dll", Nodes: []string{"good.dll"}}}) {
		t.Errorf("Beta FP %+v", beta.FalsePositives)
	}
	if gamma.TP+gamma.FP+gamma.FN != 0 || gamma.Precision != nil || gamma.Recall != nil {
		t.Errorf("Gamma: %+v", gamma)
	}
	wantEx := []ExampleResult{
		{Example: "b2", Build: "b2", Matched: true},
		{Example: "no-such-build", Problem: "not a build id or sha256 of this corpus"},
	}
	if !reflect.DeepEqual(beta.Examples, wantEx) {
		t.Errorf("Beta examples %+v", beta.Examples)
	}
	if !reflect.DeepEqual(res.MissingRules, []string{"Delta"}) {
		t.Errorf("missing %v", res.MissingRules)
	}
	// FP: Alpha b3, Beta good.dll; FN: Alpha b2, Delta b4.
	if res.FP != 2 || res.FN != 2 || res.ExampleErr != 1 || res.OK() {
		t.Errorf("totals FP %d FN %d examples %d ok %v", res.FP, res.FN, res.ExampleErr, res.OK())
	}
	var out bytes.Buffer
	if err := WriteTable(&out, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FP Alpha: b3: b3.zip!c.bin", "FN Alpha: b2", "FP Beta: real:files/pkg/good.dll: good.dll", "MISSING Delta", "FAIL: 4 builds, 2 real files"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestShippedPackOnFixture(t *testing.T) {
	corpus := tomFixture(t)
	set := builtinSet(t)
	res, err := Run(context.Background(), Config{Rules: set, CorpusDir: corpus, Engine: testEngine(), Limits: testLimits(), Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, st := range res.Rules {
		for _, h := range st.FalsePositives { // the fixture manifest expects nothing: every hit shows here
			got[h.Input] = append(got[h.Input], st.Rule)
		}
	}
	want := map[string][]string{
		"fixture-tom": {"TOMSkype_ContentFilter", "TOMSkype_DES_UploadKey", "TOMSkype_Endpoint_Agent", "TOMSkype_Endpoint_KeyfileU",
			"TOMSkype_Endpoint_UploadIP", "TOMSkype_Identity"},
		"fixture-gmw": {"Skype_JointVenture_GMW"},
	}
	if len(res.Rules) > 0 && res.Builds == 5 { // the mingw PE fixtures are there
		want["fixture-regular"] = []string{"Skype_Regular_Identity"}
		want["fixture-tom-en"] = []string{"TOMSkype_Identity"}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("matches per build:\n got %v\nwant %v", got, want)
	}
}

// TestShippedPackOnCorpus is the pack's acceptance test: zero FP and zero FN
// on the synthetic corpus, and no hit on the real goodware.
func TestShippedPackOnCorpus(t *testing.T) {
	corpus := os.Getenv("TOMSCAN_CORPUS")
	if corpus == "" {
		t.Skip("TOMSCAN_CORPUS not set")
	}
	cfg := Config{Rules: builtinSet(t), CorpusDir: corpus, RealDir: os.Getenv("TOMSCAN_REAL_CORPUS"), Engine: testEngine(), Limits: testLimits(), Jobs: 2}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	WriteTable(&out, res)
	t.Logf("\n%s", out.String())
	if res.FP != 0 || res.ExampleErr != 0 || len(res.MissingRules) != 0 {
		t.Errorf("shipped pack: %d FP, %d example errors, missing rules %v", res.FP, res.ExampleErr, res.MissingRules)
	}
	for _, st := range res.Rules {
		if st.FN == 0 {
			continue
		}
		t.Errorf("%s: false negatives %v", st.Rule, st.FalseNegatives)
	}
}

func builtinSet(t *testing.T) *rules.Set {
	t.Helper()
	srcs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Compile(context.Background(), srcs)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestBenchRanksEveryRule(t *testing.T) {
	corpus := tomFixture(t)
	m, err := manifest.Load(corpus)
	if err != nil {
		t.Fatal(err)
	}
	srcs, _ := rules.Builtin()
	cfg := BenchConfig{Sources: srcs, Rounds: 2, MaxBytes: 1 << 20, Walker: Walker{Engine: testEngine(), Limits: testLimits()}}
	for _, b := range m.Builds {
		cfg.Inputs = append(cfg.Inputs, filepath.Join(corpus, b.File))
	}
	res, err := Bench(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	set := builtinSet(t)
	if len(res.Rules) != len(set.Names) {
		t.Fatalf("%d rules timed, set has %d", len(res.Rules), len(set.Names))
	}
	// Bench must time exactly the nodes the pipeline scans: count them apart.
	nodes := 0
	for _, in := range cfg.Inputs {
		if _, err := cfg.Walker.Walk(context.Background(), in, func(*artifact.Node, []byte, rules.Variables) error { nodes++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if res.Nodes != nodes || nodes < 9 || res.Full <= 0 || res.Truncated {
		t.Errorf("nodes %d (walk: %d) full %s truncated %v", res.Nodes, nodes, res.Full, res.Truncated)
	}
	for i := 1; i < len(res.Rules); i++ {
		if res.Rules[i].Cost > res.Rules[i-1].Cost {
			t.Errorf("not slowest first at %d: %v", i, res.Rules)
		}
	}
	for _, r := range res.Rules {
		if r.Method != "removed" || r.Without <= 0 || r.Cost < 0 || (r.BelowNoise && r.Cost != 0) || r.Share < 0 {
			t.Errorf("rule %s: %+v", r.Rule, r)
		}
	}
	if res.Baseline <= 0 || res.Noise < 0 {
		t.Errorf("baseline %s noise %s", res.Baseline, res.Noise)
	}
}

// settle never gives a negative cost: a set without a rule timed slower than
// the whole set (timer noise) and a difference under the noise floor are 0.
func TestBenchSettleClampsAtNoise(t *testing.T) {
	ms := time.Millisecond
	full, noise := fastestTwo([]time.Duration{14 * ms, 10 * ms, 11 * ms})
	if full != 10*ms || noise != ms {
		t.Fatalf("fastestTwo: %s %s", full, noise)
	}
	res := &BenchResult{Full: full, Noise: noise, Baseline: 2 * ms, Rules: []RuleCost{
		{Rule: "slow", Without: 6 * ms},                  // 4ms: real
		{Rule: "faster-without", Without: 11 * ms},       // -1ms: noise
		{Rule: "tiny", Without: 9500 * time.Microsecond}, // 0.5ms < 1ms noise
	}}
	settle(res)
	want := []struct {
		cost  time.Duration
		below bool
		share float64
	}{{4 * ms, false, 0.5}, {0, true, 0}, {0, true, 0}}
	for i, w := range want {
		r := res.Rules[i]
		if r.Cost != w.cost || r.BelowNoise != w.below || r.Share != w.share {
			t.Errorf("%s: cost %s below %v share %v, want %s %v %v", r.Rule, r.Cost, r.BelowNoise, r.Share, w.cost, w.below, w.share)
		}
	}
}
