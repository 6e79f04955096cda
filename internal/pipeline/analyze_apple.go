package pipeline

import (
	"context"
	"errors"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/ios"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/macho"
	"github.com/tomscan/tomscan/pe"
)

// machoStage analyses a Mach-O node (thin or universal). Problems inside
// the file are issues on the node; an encrypted range is an `encrypted`
// issue, since the strings, rules and analysers cannot see into it.
func (a *analyzer) machoStage(ctx context.Context, n *artifact.Node, data []byte) {
	if n.Type != filetype.MachO {
		return
	}
	sum, err := macho.Analyze(ctx, data, macho.Options{MaxBytes: a.limits.MaxPEBytes})
	if err != nil {
		kind := artifact.KindParse
		switch {
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
			kind = artifact.KindTimeout
		case errors.Is(err, macho.ErrTooLarge):
			kind = artifact.KindLimit
		}
		n.AddIssue(kind, "macho", err.Error())
	}
	if sum == nil {
		return
	}
	for _, is := range sum.Issues {
		kind := is.Kind
		switch kind {
		case macho.IssueEncrypted:
			kind = artifact.KindEncrypted
		case macho.IssueLimit:
			kind = artifact.KindLimit
		default:
			kind = artifact.KindParse
		}
		n.AddIssue(kind, "macho", is.Message)
	}
	n.MachO = sum
}

// machoStrings: the byte scan over the file with encrypted ranges zeroed,
// plus the strings the sections declare (UTF-8 C strings, CFStrings), each
// named by its section.
func machoStrings(ctx context.Context, sum *macho.Summary, data []byte, l limits.Limits) *pe.StringSet {
	set := pe.ExtractStrings(ctx, sum.Masked(data), pe.StringOptions{MinLength: l.MinStringLength, Max: l.MaxStringsPerNode})
	return sum.MergeStrings(set, macho.SectionStrings(ctx, data, sum, l.MinStringLength), l.MaxStringsPerNode)
}

// iosStage recognises an IPA among ZIPs (an app bundle under Payload/) and
// reads what the bundle declares. The node's type becomes "ipa" before the
// rules run, so rules see filetype "ipa"; the zip extractor still unpacks it.
func iosStage(ctx context.Context, n *artifact.Node, data []byte) {
	if n.Type != filetype.ZIP {
		return
	}
	app, err := ios.Analyze(ctx, data)
	if err != nil {
		n.AddIssue(artifact.KindTimeout, "ios", err.Error())
	}
	if app == nil {
		return
	}
	n.Type = filetype.IPA
	n.IOS = app
	for _, is := range app.Issues {
		kind := artifact.KindParse
		if is.Kind == "limit" {
			kind = artifact.KindLimit
		}
		n.AddIssue(kind, "ios", is.Message)
	}
}
