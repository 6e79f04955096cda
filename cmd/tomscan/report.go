package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
)

// cmdReport re-renders every build's Markdown and HTML page and the archive
// index (index.sqlite, index.html) from the archived JSON, without
// rescanning, one report at a time. A report that cannot be read is skipped
// with a warning. With --check it changes nothing: it lists the reports that
// cannot be read and where the index and the reports disagree, and exits 1
// when it found any (README "Exit codes").
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	installHelp(fs, "report", stdout)
	out := fs.String("out", "", "archive folder (required)")
	check := fs.Bool("check", false, "change nothing: list unreadable reports and index disagreements on stdout; exit 1 if any")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, nil
		}
		return exitUsage, usagef("report: %v", err)
	}
	if *out == "" || fs.NArg() > 0 {
		return exitUsage, usagef("report: usage: tomscan report --out DIR [--check]")
	}
	if err := checkReportOut(*out); err != nil {
		return exitUsage, err
	}
	if *check {
		probs, err := archive.Check(ctx, *out)
		if err != nil {
			return exitRuntime, fmt.Errorf("report: check: %w", err)
		}
		for _, p := range probs {
			fmt.Fprintln(stdout, reports.Terminal(p.String()))
		}
		if len(probs) > 0 {
			fmt.Fprintf(stderr, "tomscan: %d problems in %s\n", len(probs), reports.Terminal(*out))
			return exitBuildFailed, nil
		}
		return exitOK, nil
	}
	keys, err := archive.Keys(*out)
	if err != nil {
		return exitRuntime, fmt.Errorf("report: %w", err)
	}
	skipped, err := archive.Rebuild(ctx, *out)
	if err != nil {
		return exitRuntime, fmt.Errorf("report: %w", err)
	}
	for _, s := range skipped {
		fmt.Fprintf(stderr, "tomscan: warning: report skipped (run 'tomscan report --check'): %s\n", reports.Terminal(s.String()))
	}
	index, err := filepath.Abs(filepath.Join(*out, archive.IndexHTML))
	if err != nil {
		return exitRuntime, fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(stderr, "tomscan: %d builds re-rendered, %d skipped\n", len(keys)-len(skipped), len(skipped))
	fmt.Fprintln(stdout, reports.Terminal(index))
	return exitOK, nil
}
