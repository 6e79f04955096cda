package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/export"
)

// cmdExport writes the archive's builds to stdout as CSV, NDJSON or STIX.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	installHelp(fs, "export", stdout)
	var (
		out        = fs.String("out", "", "archive folder (required)")
		format     = fs.String("format", "", "csv, ndjson or stix (required)")
		kws        = fs.Bool("keywords", false, "csv: one row per keyword (build, list role, keyword, status against the closest snapshot: known, added, removed) instead of one per build")
		snapshots  = fs.String("keyword-lists", "", "with --keywords: the keyword-list snapshots folder the scan compared with (default $TOMSCAN_KEYWORD_LISTS)")
		timestamps = fs.Bool("timestamps", false, "stix: date objects by the builds' scan time (else the fixed epoch 1970-01-01T00:00:00.000Z, for byte-identical output)")
		verdicts   multiFlag
	)
	fs.Var(&verdicts, "verdict", "only builds with this verdict kind (repeatable, or comma-separated): "+strings.Join(export.Kinds, ", "))
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return parseExit(flagErr("export", err))
	}
	if len(rest) > 0 {
		return exitUsage, usagef("export: unexpected argument %q", rest[0])
	}
	if *out == "" {
		return exitUsage, usagef("export: --out DIR is required: the archive a scan wrote")
	}
	switch *format {
	case "csv", "ndjson", "stix":
	case "":
		return exitUsage, usagef("export: --format is required: csv, ndjson or stix")
	default:
		return exitUsage, usagef("export: unknown --format %q: csv, ndjson or stix", *format)
	}
	var kinds []string
	for _, v := range verdicts {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); !validKind(k) {
				return exitUsage, usagef("export: --verdict %q is not a verdict kind; valid: %s", k, strings.Join(export.Kinds, ", "))
			}
			kinds = append(kinds, k)
		}
	}
	if *kws && *format != "csv" {
		return exitUsage, usagef("export: --keywords goes with --format csv")
	}
	if *timestamps && *format != "stix" {
		return exitUsage, usagef("export: --timestamps goes with --format stix")
	}
	dir := envDefault(*snapshots, "TOMSCAN_KEYWORD_LISTS")
	if *kws {
		if dir == "" {
			return exitUsage, usagef("export: --keywords needs --keyword-lists DIR (or $TOMSCAN_KEYWORD_LISTS): the snapshots the scan compared lists with")
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return exitUsage, usagef("export: --keyword-lists %s: not a folder", dir)
		}
	}
	if err := checkArchive("export", *out, false); err != nil {
		return exitUsage, err
	}
	entries, err := archive.Load(ctx, *out)
	if err != nil {
		return exitRuntime, fmt.Errorf("export: %w", err)
	}
	in := make([]export.Input, len(entries))
	for i, e := range entries {
		in[i] = export.Input{Key: e.Key, Report: e.Report}
	}
	recs := export.Records(in, kinds)
	var dst io.Writer = stdout
	if isTerminal(stdout) {
		// names and keywords come from hostile files: on a screen their
		// control and bidi characters are shown escaped, never acted on;
		// a file or a pipe gets the bytes
		tw := &termWriter{w: stdout}
		defer tw.Flush()
		dst = tw
	}
	w := bufio.NewWriter(dst)
	switch {
	case *format == "csv" && *kws:
		err = export.WriteKeywordsCSV(ctx, w, recs, dir)
	case *format == "csv":
		err = export.WriteCSV(w, recs)
	case *format == "ndjson":
		err = export.WriteNDJSON(w, recs)
	default:
		err = export.WriteSTIX(w, recs, export.STIXOptions{Timestamps: *timestamps, Now: time.Now()})
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return exitRuntime, fmt.Errorf("export: %w", err)
	}
	if *format == "stix" {
		tom := 0
		for _, r := range recs {
			if export.IsTOM(r.Verdict) {
				tom++
			}
		}
		fmt.Fprintf(stderr, "tomscan: %d builds selected, %d TOM-Skype builds in the STIX bundle (the others are not threat indicators)\n", len(recs), tom)
		return exitOK, nil
	}
	fmt.Fprintf(stderr, "tomscan: exported %d builds as %s\n", len(recs), *format)
	return exitOK, nil
}

// ndjsonStream is `scan --ndjson`: one JSON line per finished build on
// stdout, in the order builds finish, so a pipeline can act on each build
// while the scan goes on. scan.go calls Write from its per-build callback.
type ndjsonStream struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

// newNDJSONStream returns nil when the flag is off: Write on nil is a no-op.
func newNDJSONStream(on bool, stdout io.Writer) *ndjsonStream {
	if !on {
		return nil
	}
	return &ndjsonStream{w: stdout}
}

// Write prints the build's record line; the first write error is kept
// (Err) and later lines are dropped.
func (s *ndjsonStream) Write(key string, r *reports.Report) {
	if s == nil || r == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = export.WriteLine(s.w, export.NewRecord(key, r))
	}
}

// WriteLine prints a build's line as a worker made it (archivePreparer).
func (s *ndjsonStream) WriteLine(line []byte) {
	if s == nil || line == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		if _, err := s.w.Write(line); err != nil {
			s.err = fmt.Errorf("export: ndjson: %w", err)
		}
	}
}

// WriteReused prints the record line of a build the scan reused, marked so.
func (s *ndjsonStream) WriteReused(key string, r *reports.Report) {
	if s == nil || r == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		rec := export.NewRecord(key, r)
		rec.Reused = true
		s.err = export.WriteLine(s.w, rec)
	}
}

// Err is the first write error, nil when all lines were written.
func (s *ndjsonStream) Err() error {
	if s == nil {
		return nil
	}
	return s.err
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// termWriter escapes every line with reports.Terminal before it reaches a
// terminal.
type termWriter struct {
	w   io.Writer
	buf []byte
}

func (t *termWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if _, err := io.WriteString(t.w, reports.Terminal(string(t.buf[:i]))+"\n"); err != nil {
			return 0, err
		}
		t.buf = t.buf[i+1:]
	}
}

// Flush writes a last line without a newline.
func (t *termWriter) Flush() {
	if len(t.buf) > 0 {
		_, _ = io.WriteString(t.w, reports.Terminal(string(t.buf)))
		t.buf = nil
	}
}
