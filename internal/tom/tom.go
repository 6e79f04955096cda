// Package tom holds the TOM-Skype analysers: the identity verdict with its
// evidence, the upload and keyword-list endpoints, and the decoding of the
// keyword filter lists. They see only the bytes and the tree of a build,
// never file names of the corpus or which spec produced a build.
package tom

import (
	"context"

	"github.com/tomscan/tomscan/internal/artifact"
)

// Verdict kinds.
const (
	KindRegular      = "regular-skype"
	KindTOMEnglish   = "tom-skype-english"
	KindTOMChinese   = "tom-skype-chinese"
	KindJointVenture = "post-tom-joint-venture"
	KindUnrelated    = "unrelated"
	KindUndetermined = "undetermined"
)

// Result is the TOM section of a build's report.
type Result struct {
	Verdict Verdict `json:"verdict"`
}

// Verdict is the answer for one build with the evidence behind it.
type Verdict struct {
	Kind       string     `json:"kind"`
	Confidence float64    `json:"confidence"`
	Evidence   []Evidence `json:"evidence"`
}

// Evidence is one observation behind a verdict.
type Evidence struct {
	Node   string `json:"node"`
	Source string `json:"source"` // "rule", "version-info", "string", "signer"
	Detail string `json:"detail"`
	Offset int64  `json:"offset,omitempty"`
}

// Options configure the analysers.
type Options struct {
	KeywordListsDir string // Citizen Lab snapshots to compare recovered lists with; "" to skip
}

// Build is the analysers' state for one build. The pipeline calls Visit for
// every analysed node while its bytes are still loaded (they are released
// right after), then Finish once the tree is complete.
type Build struct {
	opts Options
}

// NewBuild starts the analysis of one build.
func NewBuild(opts Options) *Build { return &Build{opts: opts} }

// Visit looks at one node's bytes, after PE, strings and YARA have run on it.
// It may add Findings to n and keep small candidates (keys, encrypted blobs)
// for Finish; what it keeps is bounded.
func (b *Build) Visit(ctx context.Context, n *artifact.Node, data []byte) {}

// Finish runs the build-level analysers over the analysed tree.
func (b *Build) Finish(ctx context.Context, root *artifact.Node) *Result {
	v := Verdict{Kind: KindUndetermined}
	_ = root.Walk(func(n *artifact.Node) error {
		for _, m := range n.Matches {
			if m.Meta["category"] == "endpoint" {
				v.Evidence = append(v.Evidence, Evidence{Node: n.ID, Source: "rule", Detail: m.Namespace + ":" + m.Rule})
			}
		}
		return ctx.Err()
	})
	return &Result{Verdict: v}
}
