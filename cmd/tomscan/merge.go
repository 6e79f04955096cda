package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
)

// cmdMerge is `tomscan merge OUT SHARD...`: the builds of every shard
// archive (made by `scan --shard i/n`, or any archive) go into OUT, report
// files copied byte for byte and each build upserted into OUT's index, which
// is then written canonically with index.html: the result is the archive one
// scan of all the inputs would have written. OUT may already be an archive
// (a shard's build replaces OUT's); two shards holding the same build with
// different reports is an error (exit 3), since one of them would be lost.
func cmdMerge(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := helpFlagSet("merge", stdout)
	quiet := fs.Bool("quiet", false, "no summary line")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return parseExit(flagErr("merge", err))
	}
	if len(pos) < 2 {
		return exitUsage, usagef("merge: give the archive to write and at least one shard archive: tomscan merge OUT SHARD...")
	}
	out, shards := pos[0], pos[1:]
	outAbs, err := filepath.Abs(out)
	if err != nil {
		return exitUsage, usagef("merge: %s: %v", esc(out), err)
	}
	for _, s := range shards {
		abs, err := filepath.Abs(s)
		if err != nil {
			return exitUsage, usagef("merge: %s: %v", esc(s), err)
		}
		if abs == outAbs {
			return exitUsage, usagef("merge: %s is both the output and a shard: name another OUT", esc(s))
		}
		if st, err := os.Stat(filepath.Join(s, archive.BuildsDir)); err != nil || !st.IsDir() {
			return exitUsage, usagef("merge: %s is not a tomscan archive (no %s/ folder): name the --out folders of the shard scans", esc(s), archive.BuildsDir)
		}
	}
	lock, err := openArchive("merge", out, stderr)
	if err != nil {
		return exitUsage, err
	}
	defer lock.Release()
	index, err := archive.Open(ctx, out)
	if err != nil {
		return exitRuntime, fmt.Errorf("merge: %w", err)
	}
	defer index.Close()

	from := map[string]string{} // build key -> the shard it came from in this merge
	var merged, unreadable int
	var firstErr error
	for _, s := range shards {
		keys, err := archive.Keys(s)
		if err != nil {
			return exitRuntime, fmt.Errorf("merge: %s: %w", esc(s), err)
		}
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				return exitRuntime, fmt.Errorf("merge: interrupted: %d builds merged; run the same command again", merged)
			}
			if prev, ok := from[k]; ok {
				same, err := sameFile(filepath.Join(reports.BuildDir(prev, k), archive.ReportJSON), filepath.Join(reports.BuildDir(s, k), archive.ReportJSON))
				if err != nil || !same {
					return exitRuntime, fmt.Errorf("merge: build %s is in %s and in %s with different reports: merge shards of one scan (same tomscan, rules, limits and inputs)", k, esc(prev), esc(s))
				}
				continue
			}
			err := mergeBuild(ctx, index, s, out, k)
			if err != nil {
				var rerr readError
				if errors.As(err, &rerr) {
					// One damaged report does not stop the merge; the run
					// still ends with exit 3 and says which.
					fmt.Fprintf(stderr, "tomscan: merge: %s: build %s left out: %v\n", esc(s), k, reports.Terminal(err.Error()))
					unreadable++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				return exitRuntime, fmt.Errorf("merge: %w", err)
			}
			from[k] = s
			merged++
		}
	}
	if err := index.FlushClose(context.WithoutCancel(ctx)); err != nil {
		return exitRuntime, fmt.Errorf("merge: %w", err)
	}
	if !*quiet {
		fmt.Fprintf(stderr, "tomscan: merged %d builds from %d archives into %s; %d unreadable\n", merged, len(shards), esc(out), unreadable)
	}
	if unreadable > 0 {
		return exitRuntime, fmt.Errorf("merge: %d reports could not be read and were left out (first: %v); run 'tomscan report --check --out SHARD'", unreadable, firstErr)
	}
	return exitOK, nil
}

// readError is a shard's report.json that cannot be read or decoded.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }
func (e readError) Unwrap() error { return e.err }

// mergeBuild copies build k's report files from shard into out, byte for
// byte (each written atomically), and upserts the report into the index.
func mergeBuild(ctx context.Context, index *archive.Index, shard, out, k string) error {
	src, dst := reports.BuildDir(shard, k), reports.BuildDir(out, k)
	js, err := os.ReadFile(filepath.Join(src, archive.ReportJSON))
	if err != nil {
		return readError{fmt.Errorf("read %s: %w", archive.ReportJSON, err)}
	}
	r, err := reports.DecodeJSON(js)
	if err != nil {
		return readError{fmt.Errorf("decode %s: %w", archive.ReportJSON, err)}
	}
	// Pages first, the record last: a merge killed half-way leaves no
	// report.json whose pages are missing. A page the shard does not have
	// (scanned without that --format) and an earlier scan left in OUT is
	// removed first: it renders another report.
	pages := map[string][]byte{}
	for _, name := range []string{archive.ReportMD, archive.ReportHTML} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: read %s: %w", k, name, err)
		}
		pages[name] = b
	}
	removed, err := archive.RemoveStalePages(dst, pages[archive.ReportMD] != nil, pages[archive.ReportHTML] != nil)
	if err != nil {
		return err
	}
	for _, name := range []string{archive.ReportMD, archive.ReportHTML} {
		if b, ok := pages[name]; ok {
			if err := reports.WriteAtomic(filepath.Join(dst, name), b); err != nil {
				return err
			}
		}
	}
	if err := reports.WriteAtomic(filepath.Join(dst, archive.ReportJSON), js); err != nil {
		return err
	}
	return index.UpsertBatch(context.WithoutCancel(ctx), []archive.Keyed{{Key: k, Report: r, PageRemoved: removed}})
}

// sameFile tells whether two files hold the same bytes.
func sameFile(a, b string) (bool, error) {
	x, err := os.ReadFile(a)
	if err != nil {
		return false, err
	}
	y, err := os.ReadFile(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(x, y), nil
}
