package reports

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
)

// EncodeMarkdown renders r for people: verdict first, then the tree with each
// node's matches and issues. Every string that came from a binary is escaped.
func EncodeMarkdown(r *Report) []byte {
	var b bytes.Buffer
	e := Markdown
	fmt.Fprintf(&b, "# tomscan report: %s\n\n", e(r.Build.Path))
	fmt.Fprintf(&b, "| field | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| status | %s |\n", e(r.Status))
	if r.StatusReason != "" {
		fmt.Fprintf(&b, "| status reason | %s |\n", e(r.StatusReason))
	}
	if r.TOM != nil {
		fmt.Fprintf(&b, "| verdict | %s (confidence %.2f) |\n", e(r.TOM.Verdict.Kind), r.TOM.Verdict.Confidence)
	}
	fmt.Fprintf(&b, "| sha256 | `%s` |\n| size | %d |\n| type | %s |\n", r.Build.SHA256, r.Build.Size, e(r.Build.Type))
	fmt.Fprintf(&b, "| nodes | %d (%d PE, %d duplicates) |\n| matches | %d |\n| issues | %d |\n", r.Summary.Nodes, r.Summary.PEs, r.Summary.Duplicates, r.Summary.Matches, r.Summary.Issues)
	fmt.Fprintf(&b, "| tool | %s %s |\n| rules digest | `%s` |\n\n", e(r.Tool.Name), e(r.Tool.Version), r.Rules.Digest)

	if r.TOM != nil && len(r.TOM.Verdict.Evidence) > 0 {
		b.WriteString("## Evidence\n\n| node | source | detail |\n|---|---|---|\n")
		for _, ev := range r.TOM.Verdict.Evidence {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", e(ev.Node), e(ev.Source), e(ev.Detail))
		}
		b.WriteString("\n")
	}
	if len(r.Summary.Rules) > 0 {
		b.WriteString("## Rules that matched\n\n")
		for _, rule := range r.Summary.Rules {
			fmt.Fprintf(&b, "- %s\n", e(rule))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Tree\n\n")
	if r.Tree != nil {
		writeNode(&b, r.Tree)
	}
	return b.Bytes()
}

func writeNode(b *bytes.Buffer, n *artifact.Node) {
	e := Markdown
	indent := strings.Repeat("  ", n.Depth)
	fmt.Fprintf(b, "%s- **%s** (%s, %d bytes, sha256 `%s`", indent, e(n.Name), e(n.Type), n.Size, n.SHA256)
	if n.Extractor != "" {
		fmt.Fprintf(b, ", via %s", e(n.Extractor))
	}
	if n.DuplicateOf != "" {
		fmt.Fprintf(b, ", same bytes as %s", e(n.DuplicateOf))
	}
	b.WriteString(")\n")
	for _, m := range n.Matches {
		fmt.Fprintf(b, "%s  - match: %s:%s\n", indent, e(m.Namespace), e(m.Rule))
	}
	for _, is := range n.Issues {
		fmt.Fprintf(b, "%s  - issue [%s] %s: %s\n", indent, e(is.Kind), e(is.Stage), e(is.Message))
	}
	for _, c := range n.Children {
		writeNode(b, c)
	}
}
