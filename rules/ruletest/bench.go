package ruletest

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/rules"
	"github.com/tomscan/tomscan/rules/lint"
)

// BenchConfig says what to time.
type BenchConfig struct {
	Sources []rules.Source
	Walker  Walker
	Inputs  []string // files to unpack; their nodes are the benchmark's data
	Rounds  int      // passes per set, interleaved; each set's time is its fastest
	// MaxBytes bounds the node bytes held in memory for the passes; nodes
	// past it are left out and the result says so.
	MaxBytes int64
}

// BenchResult is the cost of each rule, slowest first.
//
// How costs are measured (rules/README.md says the same): every set is timed
// in CPU time of the scanning thread, round by round, and keeps its fastest
// pass. Baseline is the fastest pass of a set with one rule that matches
// nothing and has no strings: what scanning every file costs before any rule
// does work (the scanner call, the external variables, the walk over the
// bytes). Noise is the gap between the two fastest passes of the whole set:
// the same work timed twice, so no difference smaller than it means anything.
// A rule's cost is Full minus the set without it, clamped: a difference below
// Noise is reported as 0 with BelowNoise set, never as a negative time.
type BenchResult struct {
	Nodes     int           `json:"nodes"`
	Bytes     int64         `json:"bytes"`
	Truncated bool          `json:"truncated"` // MaxBytes reached: not every node was kept
	Rounds    int           `json:"rounds"`
	Full      time.Duration `json:"full_ns"`     // one pass of the whole set over every node, thread CPU time
	Baseline  time.Duration `json:"baseline_ns"` // one pass of a set that does nothing, over the same nodes
	Noise     time.Duration `json:"noise_ns"`    // second-fastest minus fastest pass of the whole set
	Rules     []RuleCost    `json:"rules"`
}

// RuleCost is one rule's share: the whole set's time minus the time of the
// set without it, never below zero.
type RuleCost struct {
	Rule      string        `json:"rule"`
	Namespace string        `json:"namespace"`
	Without   time.Duration `json:"without_ns"`
	Cost      time.Duration `json:"cost_ns"`
	// BelowNoise: Full - Without was under the noise floor (possibly
	// negative), so Cost is 0: the rule is too cheap to tell apart.
	BelowNoise bool    `json:"below_noise"`
	Share      float64 `json:"share"`  // Cost / (Full - Baseline): of the time rules add over scanning at all
	Method     string  `json:"method"` // "removed" (recompiled without it) or "disabled" (others depend on it)
}

// baselineRule is the do-nothing set Baseline is timed with.
var baselineRule = []byte("rule tomscan_bench_baseline { condition: false }\n")

type benchNode struct {
	data []byte
	vars rules.Variables
}

// Bench collects the node bytes of every input, then times the set with and
// without each rule.
func Bench(ctx context.Context, cfg BenchConfig) (*BenchResult, error) {
	if cfg.Rounds < 1 {
		cfg.Rounds = 1
	}
	res := &BenchResult{Rounds: cfg.Rounds}
	var nodes []benchNode
	for _, in := range cfg.Inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, err := cfg.Walker.Walk(ctx, in, func(n *artifact.Node, data []byte, vars rules.Variables) error {
			if res.Bytes+int64(len(data)) > cfg.MaxBytes {
				res.Truncated = true
				return nil
			}
			nodes = append(nodes, benchNode{data: append([]byte(nil), data...), vars: vars})
			res.Bytes += int64(len(data))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	res.Nodes = len(nodes)

	full, err := rules.Compile(ctx, cfg.Sources)
	if err != nil {
		return nil, err
	}
	// One set per rule without it. Timings are interleaved, round by round,
	// so that a change in machine load affects every set alike; each set
	// keeps its fastest pass.
	type variant struct {
		cost    RuleCost
		set     *rules.Set
		disable bool // time full with this rule disabled
		best    time.Duration
	}
	var vs []*variant
	for _, ri := range full.Rules() {
		v := &variant{cost: RuleCost{Rule: ri.Name, Namespace: ri.Namespace, Method: "removed"}, best: -1}
		v.set, err = compileWithout(ctx, cfg.Sources, ri)
		if err != nil {
			// Another rule refers to this one: keep it compiled but disabled.
			v.set, v.disable, v.cost.Method = full, true, "disabled"
		}
		vs = append(vs, v)
	}
	base, err := rules.Compile(ctx, []rules.Source{{Namespace: "baseline", Path: "baseline.yar", Text: baselineRule}})
	if err != nil {
		return nil, fmt.Errorf("ruletest: baseline set: %w", err)
	}
	var fullPasses []time.Duration
	res.Baseline = -1
	for r := 0; r < cfg.Rounds; r++ {
		d, err := timeSet(ctx, base, nodes)
		if err != nil {
			return nil, err
		}
		if res.Baseline < 0 || d < res.Baseline {
			res.Baseline = d
		}
		if d, err = timeSet(ctx, full, nodes); err != nil {
			return nil, err
		}
		fullPasses = append(fullPasses, d)
		for _, v := range vs {
			if v.disable {
				full.SetEnabled(v.cost.Namespace, v.cost.Rule, false)
			}
			d, err := timeSet(ctx, v.set, nodes)
			if v.disable {
				full.SetEnabled(v.cost.Namespace, v.cost.Rule, true)
			}
			if err != nil {
				return nil, err
			}
			if v.best < 0 || d < v.best {
				v.best = d
			}
		}
	}
	res.Full, res.Noise = fastestTwo(fullPasses)
	for _, v := range vs {
		rc := v.cost
		rc.Without = v.best
		res.Rules = append(res.Rules, rc)
	}
	settle(res)
	sort.SliceStable(res.Rules, func(i, j int) bool {
		if res.Rules[i].Cost != res.Rules[j].Cost {
			return res.Rules[i].Cost > res.Rules[j].Cost
		}
		return res.Rules[i].Rule < res.Rules[j].Rule
	})
	return res, nil
}

// fastestTwo returns the fastest pass and the gap to the second fastest (0
// with a single pass: nothing to compare it with).
func fastestTwo(passes []time.Duration) (best, noise time.Duration) {
	s := append([]time.Duration(nil), passes...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0, 0
	}
	if len(s) > 1 {
		noise = s[1] - s[0]
	}
	return s[0], noise
}

// settle turns each rule's Without into its cost: Full - Without, clamped at
// the noise floor (a difference below res.Noise, negative ones included, is 0
// and flagged), and its share of the time rules add over the baseline.
func settle(res *BenchResult) {
	work := res.Full - res.Baseline
	for i := range res.Rules {
		rc := &res.Rules[i]
		d := res.Full - rc.Without
		rc.Cost, rc.BelowNoise = d, false
		if d <= res.Noise || d <= 0 {
			rc.Cost, rc.BelowNoise = 0, true
		}
		rc.Share = 0
		if work > 0 {
			rc.Share = min(float64(rc.Cost)/float64(work), 1)
		}
	}
}

// compileWithout recompiles the sources with one rule's text blanked out
// (newlines kept, so messages keep their lines).
func compileWithout(ctx context.Context, sources []rules.Source, ri rules.RuleInfo) (*rules.Set, error) {
	out := make([]rules.Source, len(sources))
	copy(out, sources)
	found := false
	for i, s := range out {
		if s.Namespace != ri.Namespace {
			continue
		}
		f, err := lint.Parse(s.Path, s.Text)
		if err != nil {
			return nil, err
		}
		for _, r := range f.Rules {
			if r.Name != ri.Name {
				continue
			}
			text := append([]byte(nil), s.Text...)
			for k := r.Start; k < r.End; k++ {
				if text[k] != '\n' {
					text[k] = ' '
				}
			}
			out[i].Text = text
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("ruletest: rule %s:%s not found in its sources", ri.Namespace, ri.Name)
	}
	return rules.Compile(ctx, out)
}

// timeSet is one pass of set over every node, in CPU time of the thread
// that scans: on a shared machine wall time mostly measures the neighbours.
// The goroutine is locked to its thread so that the cgo scans run there.
func timeSet(ctx context.Context, set *rules.Set, nodes []benchNode) (time.Duration, error) {
	sc, err := set.NewScanner(time.Minute)
	if err != nil {
		return 0, err
	}
	defer sc.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	for _, n := range nodes {
		if _, err := sc.Scan(ctx, n.data, n.vars); err != nil {
			return 0, err
		}
	}
	return threadCPU() - start, nil
}
