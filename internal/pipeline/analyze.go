package pipeline

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/pe"
	"github.com/tomscan/tomscan/rules"
)

// analyzer runs the per-node stages of one worker: PE, strings, YARA.
type analyzer struct {
	limits  limits.Limits
	trust   *x509.CertPool // explicit Authenticode trust store; nil: chains are not judged
	scanner *rules.Scanner
	tom     *tom.Build // the current build's TOM analysis; set by scanBuild
	rec     *recorder  // with a node cache: what a replay needs (replay.go); nil without
	// treeKey is the current build's tree key under a node cache (set by
	// scanBuildCached), which keys the memo of its TOM result (tommemo.go);
	// "" without.
	treeKey string
	lanes   *lanes // analyse nodes beside the walk (lanes.go); nil: one node at a time
	// laneLimit is how many of its lanes the current build may use (its
	// share of the cores: laneBudget); 0: one node at a time.
	laneLimit int
}

// scanTimeout bounds one YARA scan of one node.
const scanTimeout = time.Minute

// newAnalyzer makes one worker's analyzer, with its own YARA scanner. On a
// scanner error it still returns a usable analyzer (without YARA) and the
// error, which fails the run.
func newAnalyzer(cfg Config) (*analyzer, error) {
	a := &analyzer{limits: cfg.Limits, trust: cfg.TrustRoots}
	if cfg.Rules == nil {
		return a, a.addLanes(cfg)
	}
	s, err := cfg.Rules.NewScanner(scanTimeout)
	if err != nil {
		return a, err
	}
	a.scanner = s
	return a, a.addLanes(cfg)
}

// addLanes gives a the lanes its CPUs allow (none on one CPU).
func (a *analyzer) addLanes(cfg Config) error {
	n := laneCount()
	if n < 1 {
		return nil
	}
	l, err := newLanes(cfg, n)
	if err != nil {
		return err
	}
	a.lanes = l
	return nil
}

func (a *analyzer) close() {
	if a.scanner != nil {
		a.scanner.Close()
	}
	if a.lanes != nil {
		a.lanes.close()
	}
}

// visit is the engine's Visitor. Each stage runs under its own recover so a
// panic costs that stage on that node only.
func (a *analyzer) visit(ctx context.Context, n, parent *artifact.Node) {
	blob := n.Blob()
	if blob == nil {
		return
	}
	max := a.limits.MaxPEBytes
	if a.limits.MaxYARAMatchesBytes > max {
		max = a.limits.MaxYARAMatchesBytes
	}
	data, err := blob.Bytes(max)
	if err != nil {
		n.AddIssue(artifact.KindLimit, "read", fmt.Sprintf("not analysed: %v", err))
		return
	}
	stage(n, "pe", func() {
		if n.Type == filetype.MZ {
			// "MZ" without a reachable PE header: a DOS program, or a PE
			// cut short, which must not pass for clean data.
			if t := pe.CheckMZ(data); t != nil {
				n.AddIssue(artifact.KindTruncated, "pe", t.Error())
			}
			return
		}
		if n.Type != filetype.PE {
			return
		}
		sum, err := pe.Analyze(ctx, data, pe.Options{MaxBytes: a.limits.MaxPEBytes, TrustRoots: a.trust})
		if err != nil {
			kind := artifact.KindParse
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				kind = artifact.KindTimeout
			}
			n.AddIssue(kind, "pe", err.Error())
		}
		if sum != nil && sum.Truncated != nil {
			n.AddIssue(artifact.KindTruncated, "pe", sum.Truncated.Error())
		}
		n.PE = sum
	})
	stage(n, "ios", func() { iosStage(ctx, n, data) })
	stage(n, "macho", func() { a.machoStage(ctx, n, data) })
	if a.lanes != nil {
		a.visitLater(ctx, n, parent, data)
		return
	}
	stage(n, "strings", func() { a.stringsStage(ctx, n, data) })
	at := len(n.Issues)
	a.ruleStages(ctx, n, parent, data)
	if a.rec != nil {
		a.rec.visited(n, parent, at, len(n.Issues)-at, data)
	}
}

// ruleStages are the stages whose results depend on the rules or on what
// the TOM analysers make of the matches: all a replay from the node cache
// runs again (replay.go). They only append to n.Issues, as one run.
func (a *analyzer) ruleStages(ctx context.Context, n, parent *artifact.Node, data []byte) {
	stage(n, "yara", func() { a.yaraStage(ctx, a.scanner, n, parent, data, n) })
	stage(n, "tom", func() {
		if a.tom != nil {
			a.tom.Visit(ctx, n, data)
		}
	})
}

// stringsStage lists n's strings.
func (a *analyzer) stringsStage(ctx context.Context, n *artifact.Node, data []byte) {
	if n.MachO != nil {
		n.Strings = machoStrings(ctx, n.MachO, data, a.limits)
		return
	}
	// --max-strings trims only the listing kept in the report: the set
	// says so itself (truncated, and count of all distinct strings), and
	// YARA and the TOM analysers read the node's bytes, not this list.
	// So a trimmed listing is not an issue and does not make the build
	// partial; large real PEs (tens of thousands of strings) would
	// otherwise all be reported as incompletely analysed.
	n.Strings = pe.ExtractStrings(ctx, data, pe.StringOptions{MinLength: a.limits.MinStringLength, Max: a.limits.MaxStringsPerNode, Layout: n.PE})
}

// yaraStage scans n's bytes with scanner (nil: no rules) and sets
// n.Matches; its issues go to issues (n, or where a lane sets them aside).
func (a *analyzer) yaraStage(ctx context.Context, scanner *rules.Scanner, n, parent *artifact.Node, data []byte, issues *artifact.Node) {
	if scanner == nil {
		return
	}
	if int64(len(data)) > a.limits.MaxYARAMatchesBytes {
		issues.AddIssue(artifact.KindLimit, "yara", fmt.Sprintf("%d bytes exceeds max YARA scan bytes %d: not scanned", len(data), a.limits.MaxYARAMatchesBytes))
		return
	}
	m, err := scanner.Scan(ctx, data, rules.NodeVariables(n, parent))
	if err != nil {
		issues.AddIssue(artifact.KindScan, "yara", err.Error())
	}
	n.Matches = m
}

func stage(n *artifact.Node, name string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			st := debug.Stack()
			if len(st) > 800 {
				st = st[:800]
			}
			n.AddIssue(artifact.KindPanic, name, fmt.Sprintf("panic: %v: %s", r, st))
		}
	}()
	fn()
}
