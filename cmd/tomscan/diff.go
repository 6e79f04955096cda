package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/diff"
)

// cmdDiff compares two builds: each named by a sha256 prefix in the archive
// (--out) or by the path of a report.json.
func cmdDiff(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		out    = fs.String("out", "", "archive folder that sha256 prefixes are looked up in")
		format = fs.String("format", "text", "text, json or html")
	)
	names, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, nil
		}
		return exitUsage, usagef("diff: %v", err)
	}
	if len(names) != 2 {
		return exitUsage, usagef("diff: usage: tomscan diff A B [--out DIR] [--format text|json|html]")
	}
	switch *format {
	case "text", "json", "html":
	default:
		return exitUsage, usagef("diff: unknown format %q (text, json, html)", *format)
	}
	var keys [2]string
	var reps [2]*reports.Report
	for i, name := range names {
		keys[i], reps[i], err = loadBuild(*out, name)
		if err != nil {
			return exitUsage, usagef("diff: %v", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return exitRuntime, err
	}
	d := diff.Compare(keys[0], reps[0], keys[1], reps[1])
	var b []byte
	switch *format {
	case "json":
		b, err = d.JSON()
	case "html":
		b, err = d.HTML()
	default:
		b = d.Text()
	}
	if err != nil {
		return exitRuntime, fmt.Errorf("diff: %w", err)
	}
	if _, err := stdout.Write(b); err != nil {
		return exitRuntime, fmt.Errorf("diff: write: %w", err)
	}
	return exitOK, nil
}

// loadBuild reads a build's report: a path to a report.json (or to a build
// folder), else a sha256 prefix in the archive.
func loadBuild(out, name string) (string, *reports.Report, error) {
	if st, err := os.Stat(name); err == nil && (strings.HasSuffix(name, ".json") || st.IsDir()) {
		path := name
		if st.IsDir() {
			path = filepath.Join(name, archive.ReportJSON)
		}
		r, err := reports.ReadFile(path)
		if err != nil {
			return "", nil, err
		}
		key := r.Build.SHA256
		if key == "" {
			key = path
		}
		return key, r, nil
	}
	if out == "" {
		return "", nil, fmt.Errorf("%q is not a report.json; give --out DIR to look up sha256 prefixes", name)
	}
	key, err := archive.Resolve(out, name)
	if err != nil {
		return "", nil, err
	}
	r, err := reports.ReadFile(filepath.Join(reports.BuildDir(out, key), archive.ReportJSON))
	if err != nil {
		return "", nil, err
	}
	return key, r, nil
}
