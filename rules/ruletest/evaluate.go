package ruletest

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tomscan/tomscan/corpus/manifest"
	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/rules"
)

// Config says what to measure.
type Config struct {
	Rules      *rules.Set
	CorpusDir  string // synthetic corpus with manifest.json; "" to skip
	RealDir    string // real third-party files (goodware); "" to skip
	Engine     *unpack.Engine
	Limits     limits.Limits
	Jobs       int
	ScratchDir string
}

// Result is the outcome of one rules test run.
type Result struct {
	Corpus    string      `json:"corpus,omitempty"`
	Real      string      `json:"real,omitempty"`
	Builds    int         `json:"builds"`
	RealFiles int         `json:"real_files"`
	Rules     []RuleStats `json:"rules"`
	// MissingRules are rules the manifest expects that the set does not have.
	MissingRules []string `json:"missing_rules,omitempty"`
	// Incomplete lists inputs whose scan failed or stopped short: their
	// misses may be the scan's fault rather than the rule's.
	Incomplete []string `json:"incomplete,omitempty"`
	FP         int      `json:"fp"`
	FN         int      `json:"fn"`
	ExampleErr int      `json:"example_errors"`
}

// OK is true when no rule has a false positive, a false negative or an
// example that it fails to match.
func (r *Result) OK() bool { return r.FP == 0 && r.FN == 0 && r.ExampleErr == 0 }

// RuleStats are one rule's numbers. Builds are named by manifest id; real
// files by their path relative to the real corpus, prefixed "real:".
type RuleStats struct {
	Rule      string   `json:"rule"`
	Namespace string   `json:"namespace"`
	Category  string   `json:"category,omitempty"`
	TP        int      `json:"tp"`
	FP        int      `json:"fp"`
	FN        int      `json:"fn"`
	TN        int      `json:"tn"`
	Precision *float64 `json:"precision"` // nil when the rule never matched
	Recall    *float64 `json:"recall"`    // nil when no build expects it
	// FalsePositives are the inputs it matched but must not, each with the
	// nodes that matched.
	FalsePositives []Hit `json:"false_positives,omitempty"`
	// FalseNegatives are the builds it must match but did not.
	FalseNegatives []string        `json:"false_negatives,omitempty"`
	Examples       []ExampleResult `json:"examples,omitempty"`
}

// Hit is one input and the nodes of it that a rule matched.
type Hit struct {
	Input string   `json:"input"`
	Nodes []string `json:"nodes"`
}

// ExampleResult is one "example" meta value checked against the corpus.
type ExampleResult struct {
	Example string `json:"example"`
	Build   string `json:"build,omitempty"` // manifest id it resolved to
	Matched bool   `json:"matched"`
	Problem string `json:"problem,omitempty"`
}

// input is one scanned file and what it must match.
type input struct {
	name     string // manifest id or "real:<rel>"
	path     string
	expected map[string]bool // nil for goodware: nothing may match
	build    *manifest.Build
}

// Run scans every build and real file with the pipeline and compares.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	res := &Result{Corpus: cfg.CorpusDir, Real: cfg.RealDir}
	var inputs []input
	if cfg.CorpusDir != "" {
		m, err := manifest.Load(cfg.CorpusDir)
		if err != nil {
			return nil, err
		}
		for i := range m.Builds {
			b := &m.Builds[i]
			exp := map[string]bool{}
			for _, r := range b.ExpectedRules {
				exp[r] = true
			}
			inputs = append(inputs, input{name: b.ID, path: filepath.Join(cfg.CorpusDir, filepath.FromSlash(b.File)), expected: exp, build: b})
		}
		res.Builds = len(m.Builds)
	}
	if cfg.RealDir != "" {
		files, err := RealFiles(cfg.RealDir)
		if err != nil {
			return nil, err
		}
		for _, p := range files {
			rel, _ := filepath.Rel(cfg.RealDir, p)
			inputs = append(inputs, input{name: "real:" + filepath.ToSlash(rel), path: p})
		}
		res.RealFiles = len(files)
	}
	if len(inputs) == 0 {
		return nil, fmt.Errorf("ruletest: nothing to test: give a corpus or a real folder")
	}

	matched, incomplete, err := scanAll(ctx, cfg, inputs)
	if err != nil {
		return nil, err
	}
	res.Incomplete = incomplete
	compare(res, cfg.Rules, inputs, matched)
	return res, nil
}

// scanAll runs the pipeline and returns, per input name, rule -> matching
// node IDs (sorted), plus the inputs whose scan was not complete.
func scanAll(ctx context.Context, cfg Config, inputs []input) (map[string]map[string][]string, []string, error) {
	// The Ref is the file's own path so that node IDs start with its base
	// name, as in scan reports; nameOf maps it back to the input's name.
	var pin []pipeline.Input
	nameOf := map[string]string{}
	for _, in := range inputs {
		pin = append(pin, pipeline.Input{Path: in.path, Ref: filepath.ToSlash(in.path)})
		nameOf[filepath.ToSlash(in.path)] = in.name
	}
	builds, skipped, err := pipeline.Group(ctx, pin)
	if err != nil {
		return nil, nil, err
	}
	var incomplete []string
	for _, s := range skipped {
		incomplete = append(incomplete, fmt.Sprintf("%s: skipped (%s)", nameOf[filepath.ToSlash(s.Path)], s.Reason))
	}
	pcfg := pipeline.Config{
		Limits: cfg.Limits, Rules: cfg.Rules, Engine: cfg.Engine, Jobs: cfg.Jobs,
		ScratchDir: cfg.ScratchDir, TOM: tom.Options{}, Tool: reports.Tool{Name: "tomscan rules test"},
	}
	matched := map[string]map[string][]string{}
	err = pipeline.Run(ctx, pcfg, builds, func(r pipeline.Result) {
		if r.Report == nil { // interrupted, or the scratch folder failed
			for _, in := range r.Build.Inputs {
				incomplete = append(incomplete, fmt.Sprintf("%s: not scanned (%v)", nameOf[in.Ref], r.Err))
			}
			return
		}
		hits := map[string][]string{}
		_ = r.Report.Tree.Walk(func(n *artifact.Node) error {
			for _, m := range n.Matches {
				hits[m.Rule] = append(hits[m.Rule], n.ID)
			}
			return nil
		})
		for rule := range hits {
			sort.Strings(hits[rule])
		}
		for _, in := range r.Build.Inputs {
			name := nameOf[in.Ref]
			matched[name] = hits
			if r.Report.Status != reports.StatusSucceeded {
				incomplete = append(incomplete, fmt.Sprintf("%s: %s (%s)", name, r.Report.Status, r.Report.StatusReason))
			}
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("ruletest: scan: %w", err)
	}
	sort.Strings(incomplete)
	return matched, incomplete, nil
}

func compare(res *Result, set *rules.Set, inputs []input, matched map[string]map[string][]string) {
	infos := set.Rules()
	have := map[string]bool{}
	byID := map[string]*manifest.Build{}
	bySHA := map[string]*manifest.Build{}
	for _, in := range inputs {
		if in.build != nil {
			byID[in.build.ID] = in.build
			if in.build.SHA256 != "" {
				bySHA[strings.ToLower(in.build.SHA256)] = in.build
			}
		}
	}
	for _, ri := range infos {
		if ri.Private {
			continue
		}
		have[ri.Name] = true
		st := RuleStats{Rule: ri.Name, Namespace: ri.Namespace}
		if c := ri.Meta["category"]; len(c) > 0 {
			st.Category = c[0]
		}
		for _, in := range inputs {
			nodes := matched[in.name][ri.Name]
			want := in.expected[ri.Name]
			switch {
			case want && len(nodes) > 0:
				st.TP++
			case want:
				st.FN++
				st.FalseNegatives = append(st.FalseNegatives, in.name)
			case len(nodes) > 0:
				st.FP++
				st.FalsePositives = append(st.FalsePositives, Hit{Input: in.name, Nodes: nodes})
			default:
				st.TN++
			}
		}
		if st.TP+st.FP > 0 {
			p := float64(st.TP) / float64(st.TP+st.FP)
			st.Precision = &p
		}
		if st.TP+st.FN > 0 {
			r := float64(st.TP) / float64(st.TP+st.FN)
			st.Recall = &r
		}
		for _, ex := range examples(ri.Meta["example"]) {
			er := ExampleResult{Example: ex}
			b := byID[ex]
			if b == nil {
				b = bySHA[strings.ToLower(ex)]
			}
			switch {
			case b == nil && res.Builds == 0:
				er.Problem = "no corpus given: not checked"
			case b == nil:
				er.Problem = "not a build id or sha256 of this corpus"
				res.ExampleErr++
			default:
				er.Build = b.ID
				er.Matched = len(matched[b.ID][ri.Name]) > 0
				if !er.Matched {
					er.Problem = "the rule does not match its example"
					res.ExampleErr++
				}
			}
			st.Examples = append(st.Examples, er)
		}
		res.FP += st.FP
		res.FN += st.FN
		res.Rules = append(res.Rules, st)
	}
	missing := map[string]bool{}
	for _, in := range inputs {
		for r := range in.expected {
			if !have[r] {
				missing[r] = true
			}
		}
	}
	for r := range missing {
		res.MissingRules = append(res.MissingRules, r)
		for _, in := range inputs {
			if in.expected[r] {
				res.FN++
			}
		}
	}
	sort.Strings(res.MissingRules)
	sort.Slice(res.Rules, func(i, j int) bool { return res.Rules[i].Rule < res.Rules[j].Rule })
}

// examples splits example meta values; one value may list several,
// separated by commas or spaces.
func examples(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
	}
	return out
}
