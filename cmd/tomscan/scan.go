package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/registry"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/rules"
)

// limitFlags binds every field of limits.Limits to a flag.
func limitFlags(fs *flag.FlagSet, l *limits.Limits) {
	fs.IntVar(&l.MaxDepth, "max-depth", l.MaxDepth, "containers nested below the build root")
	fs.IntVar(&l.MaxEntries, "max-entries", l.MaxEntries, "children listed per container")
	fs.Int64Var(&l.MaxEntryBytes, "max-entry-bytes", l.MaxEntryBytes, "bytes of one extracted child")
	fs.Int64Var(&l.MaxTotalBytes, "max-total-bytes", l.MaxTotalBytes, "bytes extracted per build")
	fs.Float64Var(&l.MaxRatio, "max-ratio", l.MaxRatio, "extracted bytes per container byte")
	fs.IntVar(&l.MaxNodes, "max-nodes", l.MaxNodes, "nodes in one build's tree")
	fs.DurationVar(&l.BuildTimeout, "build-timeout", l.BuildTimeout, "wall-clock time per build")
	fs.Int64Var(&l.InMemoryBytes, "in-memory-bytes", l.InMemoryBytes, "children up to this size stay in memory")
	fs.Int64Var(&l.MaxPEBytes, "max-pe-bytes", l.MaxPEBytes, "larger PEs are not parsed")
	fs.IntVar(&l.MaxStringsPerNode, "max-strings", l.MaxStringsPerNode, "strings kept per node")
	fs.IntVar(&l.MinStringLength, "min-string-length", l.MinStringLength, "shortest string extracted, in characters")
	fs.Int64Var(&l.MaxYARAMatchesBytes, "max-yara-bytes", l.MaxYARAMatchesBytes, "larger nodes are not YARA-scanned")
	fs.DurationVar(&l.ToolTimeout, "tool-timeout", l.ToolTimeout, "one run of an external tool (7z, innoextract)")
}

// loadRules compiles the shipped pack plus every --rules folder.
func loadRules(ctx context.Context, dirs []string, noBuiltin bool) (*rules.Set, error) {
	var srcs []rules.Source
	if !noBuiltin {
		b, err := rules.Builtin()
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, b...)
	}
	for _, d := range dirs {
		s, err := rules.LoadDir(d)
		if err != nil {
			return nil, usagef("%v", err)
		}
		srcs = append(srcs, s...)
	}
	set, err := rules.Compile(ctx, srcs)
	if err != nil {
		var ce *rules.CompileError
		if errors.As(err, &ce) {
			return nil, usagef("%v", err)
		}
		return nil, err
	}
	return set, nil
}

func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		out        = fs.String("out", "", "archive folder the reports go to (required)")
		jobs       = fs.Int("jobs", runtime.NumCPU(), "builds scanned at once")
		quiet      = fs.Bool("quiet", false, "no progress bar and no summary line")
		formats    = fs.String("format", "json,md,html", "report formats, comma-separated: json, md, html")
		noBuiltin  = fs.Bool("no-builtin-rules", false, "apply only the --rules folders, not the shipped pack")
		timestamps = fs.Bool("timestamps", false, "record the wall-clock scan time in reports (breaks byte-identical reruns)")
		scratchDir = fs.String("scratch", "", "parent folder of per-build scratch roots (default: the system temp folder)")
		keywords   = fs.String("keyword-lists", "", "folder of known keyword-list snapshots to compare recovered lists with")
		trustStore = fs.String("trust-store", "", "PEM file of root certificates Authenticode chains are checked against (default: chains are not judged)")
		ruleDirs   multiFlag
	)
	fs.Var(&ruleDirs, "rules", "extra folder of .yar rules (repeatable)")
	lim := limits.Default()
	limitFlags(fs, &lim)
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, nil
		}
		return exitUsage, usagef("scan: %v", err)
	}
	if *out == "" {
		return exitUsage, usagef("scan: --out DIR is required")
	}
	if len(paths) == 0 {
		return exitUsage, usagef("scan: no input paths")
	}
	if *jobs < 1 {
		return exitUsage, usagef("scan: --jobs must be >= 1")
	}
	if err := lim.Validate(); err != nil {
		return exitUsage, usagef("scan: %v", err)
	}
	want := map[string]bool{}
	for _, f := range strings.Split(*formats, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case "json", "md", "html":
			want[f] = true
		default:
			return exitUsage, usagef("scan: unknown format %q (json, md, html)", f)
		}
	}
	want["json"] = true // the archive's record: other formats are rendered from it

	trust, err := loadTrustStore(*trustStore)
	if err != nil {
		return exitUsage, err
	}
	set, err := loadRules(ctx, ruleDirs, *noBuiltin)
	if err != nil {
		return exitUsage, err
	}
	inputs, err := pipeline.Discover(paths)
	if err != nil {
		return exitUsage, usagef("scan: %v", err)
	}
	builds, err := pipeline.Group(ctx, inputs)
	if err != nil {
		return exitRuntime, err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return exitRuntime, fmt.Errorf("scan: create output folder: %w", err)
	}
	index, err := archive.Open(ctx, *out) // the index heals itself: see archive.Open
	if err != nil {
		return exitRuntime, fmt.Errorf("scan: %w", err)
	}
	defer index.Close()

	cfg := pipeline.Config{
		Limits:     lim,
		Rules:      set,
		Engine:     unpack.New(registry.All(), registry.Tools()),
		Jobs:       *jobs,
		ScratchDir: *scratchDir,
		TOM:        tom.Options{KeywordListsDir: *keywords},
		TrustRoots: trust,
		Tool:       toolInfo(),
	}
	if *timestamps {
		cfg.Now = time.Now
	}

	var total int64
	for _, b := range builds {
		total += b.Size
	}
	bar := newBar(stderr, *quiet, total, len(builds))
	start := time.Now()
	var (
		counts   = map[string]int{}
		matches  int
		writeErr error
	)
	err = pipeline.Run(ctx, cfg, builds, func(r pipeline.Result) {
		counts[r.Report.Status]++
		matches += r.Report.Summary.Matches
		if err := writeReport(ctx, *out, index, r, want); err != nil && writeErr == nil {
			writeErr = err
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("%d/%d builds", counts[reports.StatusSucceeded]+counts[reports.StatusPartial]+counts[reports.StatusFailed], len(builds)))
			_ = bar.Add64(r.Build.Size)
		}
	})
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	if !*quiet {
		fmt.Fprintf(stderr, "tomscan: %d builds: %d succeeded, %d partial, %d failed; %d matches; %s; reports in %s\n",
			len(builds), counts[reports.StatusSucceeded], counts[reports.StatusPartial], counts[reports.StatusFailed],
			matches, time.Since(start).Round(time.Millisecond), *out)
	}
	if writeErr != nil {
		return exitRuntime, writeErr
	}
	// The index covers every build in the archive, this run's (upserted one by
	// one above) and earlier ones.
	for _, s := range index.Skipped() {
		fmt.Fprintf(stderr, "tomscan: warning: report left out of the index (run 'tomscan report --check'): %s\n", reports.Terminal(s.String()))
	}
	if err := index.Flush(context.WithoutCancel(ctx)); err != nil {
		return exitRuntime, fmt.Errorf("scan: %w", err)
	}
	if err != nil {
		return exitRuntime, fmt.Errorf("scan: %w", err)
	}
	if counts[reports.StatusFailed] > 0 {
		return exitBuildFailed, nil
	}
	return exitOK, nil
}

// newBar returns a progress bar on stderr when it is a terminal, else nil.
func newBar(stderr io.Writer, quiet bool, total int64, builds int) *progressbar.ProgressBar {
	if quiet {
		return nil
	}
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetDescription(fmt.Sprintf("0/%d builds", builds)),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
	)
}

// writeReport archives one build's report and upserts it into the index.
func writeReport(ctx context.Context, out string, index *archive.Index, r pipeline.Result, want map[string]bool) error {
	if err := archive.WriteBuild(out, r.Build.Key, r.Report, want); err != nil {
		return err
	}
	// A finished build is indexed even when the run is being interrupted.
	return index.Upsert(context.WithoutCancel(ctx), r.Build.Key, r.Report)
}

// loadTrustStore reads a PEM bundle of trusted roots; "" means no store, so
// reports never depend on the host's certificates.
func loadTrustStore(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("scan: --trust-store: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, usagef("scan: --trust-store %s: no PEM certificate in it", path)
	}
	return pool, nil
}
