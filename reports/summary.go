package reports

import (
	"sort"

	"github.com/tomscan/tomscan/internal/artifact"
)

// Summarize counts the tree and decides the build status.
func Summarize(root *artifact.Node) (Summary, string, string) {
	var s Summary
	rules := map[string]bool{}
	_ = root.Walk(func(n *artifact.Node) error {
		s.Nodes++
		if n.PE != nil {
			s.PEs++
		}
		if n.DuplicateOf != "" {
			s.Duplicates++
		}
		if n.Depth > s.MaxDepth {
			s.MaxDepth = n.Depth
		}
		s.Matches += len(n.Matches)
		for _, m := range n.Matches {
			rules[m.Namespace+":"+m.Rule] = true
		}
		for _, is := range n.Issues {
			s.Issues++
			if s.IssueKinds == nil {
				s.IssueKinds = map[string]int{}
			}
			s.IssueKinds[is.Kind]++
		}
		return nil
	})
	for r := range rules {
		s.Rules = append(s.Rules, r)
	}
	sort.Strings(s.Rules)
	status, reason := status(root, s)
	return s, status, reason
}

// status: failed when the build itself could not be read, is empty, or is a
// format we recognise but could not parse at all and nothing was recovered
// from it; partial when anything anywhere has an issue; else succeeded.
func status(root *artifact.Node, s Summary) (string, string) {
	for _, is := range root.Issues {
		if is.Kind == artifact.KindRead {
			return StatusFailed, "unreadable: " + is.Message
		}
		if is.Kind == artifact.KindWorkerCrashed {
			return StatusFailed, "worker crashed: " + is.Message
		}
	}
	if root.Size == 0 && root.SHA256 != "" || root.Type == "empty" {
		return StatusFailed, "empty file"
	}
	if len(root.Children) == 0 && root.PE == nil && root.MachO == nil {
		for _, is := range root.Issues {
			switch is.Kind {
			case artifact.KindParse, artifact.KindExtract, artifact.KindPanic, artifact.KindMalformed, artifact.KindTruncated:
				return StatusFailed, "corrupt: " + is.Stage + ": " + is.Message
			}
		}
	}
	if s.Issues > 0 {
		return StatusPartial, "issues on some nodes: see summary.issue_kinds"
	}
	return StatusSucceeded, ""
}
