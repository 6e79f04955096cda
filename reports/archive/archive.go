// Package archive manages the folder scans write into:
//
//	OUT/builds/<sha256>/report.{json,md,html}
//	OUT/index.sqlite   tables builds, nodes, matches, endpoints, build_lists, list_keywords; view keywords
//	OUT/index.html     every build in one table, and the timeline plot
//
// The JSON reports are the record. A scan upserts each build into the index
// as its report is written (Index); `tomscan report` rebuilds pages and index
// from the JSON, a few reports at a time (Rebuild), and `tomscan report --check`
// lists reports that cannot be read (Check). A report that cannot be read is
// skipped with a warning, never a reason to stop.
package archive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tomscan/tomscan/reports"
)

// File names inside the archive.
const (
	BuildsDir  = "builds"
	ReportJSON = "report.json"
	ReportMD   = "report.md"
	ReportHTML = "report.html"
	IndexDB    = "index.sqlite"
	IndexHTML  = "index.html"
)

// Entry is one archived build.
type Entry struct {
	Key    string // folder name under builds/: the sha256 of the build
	Dir    string
	Report *reports.Report
}

// Keys lists the archived builds' folder names, sorted. A folder without a
// report.json (a scan still writing, a stray folder) is not a build.
func Keys(out string) ([]string, error) {
	des, err := os.ReadDir(filepath.Join(out, BuildsDir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("archive: list builds: %w", err)
	}
	var keys []string
	for _, de := range des {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(out, BuildsDir, de.Name(), ReportJSON)); err == nil {
			keys = append(keys, de.Name())
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Load reads every archived report, sorted by key. It holds them all in
// memory and fails on the first unreadable one: for tests and small tools,
// never for the archive's own upkeep (see Rebuild).
func Load(ctx context.Context, out string) ([]Entry, error) {
	keys, err := Keys(out)
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir := reports.BuildDir(out, k)
		r, err := reports.ReadFile(filepath.Join(dir, ReportJSON))
		if err != nil {
			return nil, fmt.Errorf("archive: %w", err)
		}
		entries = append(entries, Entry{Key: k, Dir: dir, Report: r})
	}
	return entries, nil
}

// AmbiguousError says a sha256 prefix matches more than one build; Keys
// lists every one of them, sorted.
type AmbiguousError struct {
	Prefix string
	Keys   []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("archive: %q is ambiguous: %d builds (%s)", e.Prefix, len(e.Keys), strings.Join(e.Keys, ", "))
}

// Resolve finds one build by a sha256 prefix of its key. It fails when the
// prefix matches no build, or more than one (an *AmbiguousError naming all).
func Resolve(out, prefix string) (string, error) {
	keys, err := Keys(out)
	if err != nil {
		return "", err
	}
	prefix = strings.ToLower(prefix)
	var hit []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			hit = append(hit, k)
		}
	}
	switch len(hit) {
	case 0:
		return "", fmt.Errorf("no build %q in %s", prefix, out)
	case 1:
		return hit[0], nil
	}
	return "", &AmbiguousError{Prefix: prefix, Keys: hit}
}

// RemoveStalePages removes the pages of build folder dir that the write
// about to replace its report.json does not make (md, html: whether it
// makes report.md, report.html), and tells whether it removed a
// report.html (the pages of the build's neighbours link it: Keyed.
// PageRemoved). Every page is a rendering of the report
// beside it: a page left from an earlier scan would show that scan's
// results (another rules pack's matches, another verdict) beside the new
// record, and be quoted as such. Called before report.json is replaced, so
// a run killed in between leaves the earlier report without some of its
// pages, never a page of another report.
func RemoveStalePages(dir string, md, html bool) (htmlRemoved bool, err error) {
	for _, p := range []struct {
		name  string
		wrote bool
	}{{ReportMD, md}, {ReportHTML, html}} {
		if p.wrote {
			continue
		}
		switch err := os.Remove(filepath.Join(dir, p.name)); {
		case err == nil:
			htmlRemoved = htmlRemoved || p.name == ReportHTML
		case !errors.Is(err, os.ErrNotExist):
			return htmlRemoved, fmt.Errorf("archive: remove stale %s: %w", p.name, err)
		}
	}
	return htmlRemoved, nil
}

// Formats a build's pages may be written in, besides the JSON record.
var Formats = []string{"md", "html"}

// WriteBuild writes r's JSON and the pages asked for into the build's
// folder; a page of an earlier report that is not asked for is removed
// (RemoveStalePages).
func WriteBuild(out, key string, r *reports.Report, formats map[string]bool) error {
	dir := reports.BuildDir(out, key)
	js, err := reports.EncodeJSON(r)
	if err != nil {
		return err
	}
	if _, err := RemoveStalePages(dir, formats["md"], formats["html"]); err != nil {
		return err
	}
	if err := reports.WriteAtomic(filepath.Join(dir, ReportJSON), js); err != nil {
		return err
	}
	return WritePages(dir, r, formats)
}
