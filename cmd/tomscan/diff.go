package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
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
	installHelp(fs, "diff", stdout)
	var (
		out    = fs.String("out", "", "archive folder that sha256 prefixes are looked up in")
		format = fs.String("format", "text", "text, json or html")
	)
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return parseExit(flagErr("diff", err))
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
	d.A.Report, d.B.Report = reportLink(*out, names[0], keys[0]), reportLink(*out, names[1], keys[1])
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
	if !d.Empty() {
		return exitDiffer, nil // like diff(1): 1 when the builds differ
	}
	return exitOK, nil
}

// exitDiffer is diff's exit code when the two builds differ (diff(1)'s 1).
const exitDiffer = 1

// reportLink is the file:// URL of a build's report.html for the HTML
// diff's links (the page goes to stdout, so no relative path would hold),
// or of its report.json when no page was written; "" when neither exists.
func reportLink(out, name, key string) string {
	dir := ""
	if st, err := os.Stat(name); err == nil {
		dir = name
		if !st.IsDir() {
			dir = filepath.Dir(name)
		}
	} else if out != "" {
		dir = reports.BuildDir(out, key)
	}
	if dir == "" {
		return ""
	}
	for _, f := range []string{archive.ReportHTML, archive.ReportJSON} {
		p, err := filepath.Abs(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
		}
	}
	return ""
}

// loadBuild reads a build's report: a path to a report.json (or to a build
// folder), else a sha256 prefix in the archive. A name that looks like a
// path (it ends in .json or holds a path separator) and does not exist is
// "file not found", not a missing build.
func loadBuild(out, name string) (string, *reports.Report, error) {
	st, err := os.Stat(name)
	if err == nil && (strings.HasSuffix(name, ".json") || st.IsDir()) {
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
	if strings.HasSuffix(strings.ToLower(name), ".json") || strings.ContainsAny(name, `/\`) {
		return "", nil, fmt.Errorf("%s: file not found", name)
	}
	if !isHex(name) {
		return "", nil, fmt.Errorf("%q is neither a report.json nor a sha256 prefix", name)
	}
	if out == "" {
		return "", nil, fmt.Errorf("%q is not a report.json; give --out DIR to look up sha256 prefixes", name)
	}
	if err := checkArchive("diff", out, false); err != nil {
		return "", nil, err
	}
	key, err := resolvePrefix(out, name)
	if err != nil {
		return "", nil, err
	}
	r, err := reports.ReadFile(filepath.Join(reports.BuildDir(out, key), archive.ReportJSON))
	if err != nil {
		return "", nil, err
	}
	return key, r, nil
}

func isHex(s string) bool {
	for _, c := range strings.ToLower(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

// resolvePrefix finds the one build whose sha256 starts with prefix; when
// several do, the error lists every candidate (with its path and version)
// so the user can pick a longer prefix.
func resolvePrefix(out, prefix string) (string, error) {
	key, err := archive.Resolve(out, prefix)
	var amb *archive.AmbiguousError
	if !errors.As(err, &amb) {
		return key, err
	}
	hit := amb.Keys
	var b strings.Builder
	fmt.Fprintf(&b, "%q is ambiguous: %d builds:", prefix, len(hit))
	for _, k := range hit {
		fmt.Fprintf(&b, " %s", k)
		if r, err := reports.ReadFile(filepath.Join(reports.BuildDir(out, k), archive.ReportJSON)); err == nil {
			v := reports.NewView(r)
			fmt.Fprintf(&b, " (%s %s)", reports.Terminal(v.Path), reports.Terminal(v.Version))
		}
		b.WriteString(";")
	}
	b.WriteString(" give a longer prefix")
	return "", errors.New(b.String())
}
