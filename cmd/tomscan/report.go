package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/tomscan/tomscan/reports/archive"
)

// cmdReport re-renders every build's Markdown and HTML page and the archive
// index (index.sqlite, index.html) from the archived JSON, without rescanning.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	installHelp(fs, "report", stdout)
	out := fs.String("out", "", "archive folder (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, nil
		}
		return exitUsage, usagef("report: %v", err)
	}
	if *out == "" || fs.NArg() > 0 {
		return exitUsage, usagef("report: usage: tomscan report --out DIR")
	}
	if err := checkReportOut(*out); err != nil {
		return exitUsage, err
	}
	entries, err := archive.Render(ctx, *out)
	if err != nil {
		return exitRuntime, fmt.Errorf("report: %w", err)
	}
	if err := archive.WriteIndex(ctx, *out, entries); err != nil {
		return exitRuntime, fmt.Errorf("report: %w", err)
	}
	index, err := filepath.Abs(filepath.Join(*out, archive.IndexHTML))
	if err != nil {
		return exitRuntime, fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(stderr, "tomscan: %d builds re-rendered\n", len(entries))
	fmt.Fprintln(stdout, index)
	return exitOK, nil
}
