package pipeline

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime/debug"

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
		if msg := pe.Truncated(data); msg != "" {
			n.AddIssue(artifact.KindTruncated, "pe", "pe: "+msg)
		}
		n.PE = sum
	})
	stage(n, "strings", func() {
		// --max-strings trims only the listing kept in the report: the set
		// says so itself (truncated, and count of all distinct strings), and
		// YARA and the TOM analysers read the node's bytes, not this list.
		// So a trimmed listing is not an issue and does not make the build
		// partial; large real PEs (tens of thousands of strings) would
		// otherwise all be reported as incompletely analysed.
		n.Strings = pe.ExtractStrings(ctx, data, pe.StringOptions{MinLength: a.limits.MinStringLength, Max: a.limits.MaxStringsPerNode, Layout: n.PE})
	})
	stage(n, "yara", func() {
		if a.scanner == nil {
			return
		}
		if int64(len(data)) > a.limits.MaxYARAMatchesBytes {
			n.AddIssue(artifact.KindLimit, "yara", fmt.Sprintf("%d bytes exceeds max YARA scan bytes %d: not scanned", len(data), a.limits.MaxYARAMatchesBytes))
			return
		}
		m, err := a.scanner.Scan(ctx, data, rules.NodeVariables(n, parent))
		if err != nil {
			n.AddIssue(artifact.KindScan, "yara", err.Error())
		}
		n.Matches = m
	})
	stage(n, "tom", func() {
		if a.tom != nil {
			a.tom.Visit(ctx, n, data)
		}
	})
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
