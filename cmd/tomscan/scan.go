package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/runlock"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/internal/tom/lists"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/worker"
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
	srcs, err := loadRuleSources(dirs, noBuiltin)
	if err != nil {
		return nil, err
	}
	return compileRules(ctx, srcs)
}

// loadRuleSources reads the shipped pack plus every --rules folder.
func loadRuleSources(dirs []string, noBuiltin bool) ([]rules.Source, error) {
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
	return srcs, nil
}

type compiled struct {
	set *rules.Set
	err error
}

// compileAsync compiles srcs in the background (compileRules).
func compileAsync(ctx context.Context, srcs []rules.Source) <-chan compiled {
	ch := make(chan compiled, 1)
	go func() {
		set, err := compileRules(ctx, srcs)
		ch <- compiled{set, err}
	}()
	return ch
}

// discovered is what Discover and Group found.
type discovered struct {
	builds      []*pipeline.Build
	skipped     []pipeline.Skipped
	discoverErr error // a usage error
	groupErr    error
}

// discoverAsync finds the inputs under paths (out left out) and groups
// them into builds, in the background.
func discoverAsync(ctx context.Context, paths []string, out string) <-chan discovered {
	ch := make(chan discovered, 1)
	go func() {
		inputs, skipped, err := pipeline.Discover(paths, pipeline.DiscoverOptions{Exclude: out})
		if err != nil {
			ch <- discovered{discoverErr: err}
			return
		}
		builds, skipped2, err := pipeline.Group(ctx, inputs)
		ch <- discovered{builds: builds, skipped: append(skipped, skipped2...), groupErr: err}
	}()
	return ch
}

// compileRules compiles srcs; a rule that does not compile is a usage error.
func compileRules(ctx context.Context, srcs []rules.Source) (*rules.Set, error) {
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

// defaultMaxWorkerMemory is --max-worker-memory's default: how far one
// worker process may grow its address space while it scans a build.
const defaultMaxWorkerMemory = 2 << 30

// defaultCacheBytes is --cache-bytes' default.
const defaultCacheBytes = 4 << 30

func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	installHelp(fs, "scan", stdout)
	var (
		out        = fs.String("out", "", "archive folder the reports go to (required)")
		jobs       = fs.Int("jobs", runtime.NumCPU(), "builds scanned at once, and the cores used: a build gets the cores of idle jobs for its children")
		quiet      = fs.Bool("quiet", false, "no progress bar and no summary line")
		formats    = fs.String("format", "json,md,html", "report formats, comma-separated: json, md, html")
		noBuiltin  = fs.Bool("no-builtin-rules", false, "apply only the --rules folders, not the shipped pack")
		timestamps = fs.Bool("timestamps", false, "record the wall-clock scan time in reports (breaks byte-identical reruns)")
		scratchDir = fs.String("scratch", "", "parent folder of per-build scratch roots (default: the system temp folder)")
		keywords   = fs.String("keyword-lists", "", "folder of known keyword-list snapshots to compare recovered lists with")
		trustStore = fs.String("trust-store", "", "PEM file of root certificates Authenticode chains are checked against (default: chains are not judged)")
		ndjson     = fs.Bool("ndjson", false, "print one JSON line per finished build on stdout (fields as tomscan export --format ndjson)")
		maxMem     = fs.Int64("max-worker-memory", defaultMaxWorkerMemory, "bytes of address space a worker process may add while scanning a build; past it the worker dies and only its build fails (0: no cap)")
		inProcess  = fs.Bool("in-process", false, "scan in this process, without worker processes (debugging: no memory cap, and a crash ends the run)")
		ruleDirs   multiFlag
		passwords  multiFlag
		pwFile     = fs.String("password-file", "", "file of passwords for encrypted archives, one a line (reports name the line, never the password)")
		rescan     = fs.Bool("rescan", false, "scan every build again, even one whose archived report was made under the same cache key")
		cacheDir   = fs.String("cache", "", "node cache folder: unpacked trees and node bytes by sha256, so a rescan with other rules or keyword lists runs only YARA and the TOM analysers")
		cacheBytes = fs.Int64("cache-bytes", defaultCacheBytes, "size bound of --cache (least recently used entries go first)")
		shardFlag  = fs.String("shard", "", "i/n: scan only the builds whose sha256 falls in shard i of n (0 <= i < n); merge the shard archives with 'tomscan merge'")
	)
	fs.Var(&ruleDirs, "rules", "extra folder of .yar rules (repeatable)")
	fs.Var(&passwords, "password", "password tried on encrypted ZIP/7z archives after infected, malware, virus (repeatable)")
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
		return exitUsage, usagef("scan: no input paths: name the files or folders to scan")
	}
	if *jobs < 1 {
		return exitUsage, usagef("scan: --jobs must be >= 1")
	}
	if *maxMem < 0 {
		return exitUsage, usagef("scan: --max-worker-memory must be >= 0 (0: no cap)")
	}
	if err := lim.Validate(); err != nil {
		return exitUsage, usagef("scan: %v", err)
	}
	if *cacheBytes <= 0 {
		return exitUsage, usagef("scan: --cache-bytes must be > 0")
	}
	shardSel, err := parseShard(*shardFlag)
	if err != nil {
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

	pwList, err := unpack.PasswordList(passwords, *pwFile)
	if err != nil {
		return exitUsage, usagef("scan: %v", err)
	}
	// Start-up checks: everything the environment must provide is checked
	// before any build is scanned, so that a typo or a missing tool can
	// never turn good archived reports into failed ones.
	trustPEM, err := readTrustStore(*trustStore)
	if err != nil {
		return exitUsage, err
	}
	// The rules are read here, and compiled only once a build needs
	// scanning (below): compiling the pack takes about 0.2 s, most of a
	// rescan that reuses every build. They are still compiled before any
	// build is scanned.
	ruleSrcs, err := loadRuleSources(ruleDirs, *noBuiltin)
	if err != nil {
		return exitUsage, err
	}
	// When no archived build was made with these rules (a first scan, new
	// rules), they will be needed: they compile meanwhile, and a rule that
	// does not compile stops the scan before the archive is touched.
	var early <-chan compiled
	var spawned chan *worker.Process
	if *rescan || !archive.HasRules(ctx, *out, rules.SourcesDigest(ruleSrcs), toolInfo().Version) {
		early = compileAsync(ctx, ruleSrcs)
		if !*inProcess {
			// Builds will most likely be scanned: the workers start
			// meanwhile too, and get their spec once the rules are in.
			spawned = spawnWorkers(min(*jobs, runtime.NumCPU()), *maxMem)
			defer discardWorkers(spawned)
		}
	}
	digests := pipeline.CacheDigests{TrustStore: sha256Hex(trustPEM), Passwords: passwordsDigest(pwList), GeoIP: pipeline.GeoIPDigest("")}
	if *keywords != "" {
		// The digest alone: the workers load (decode) the snapshots.
		digest, err := lists.Digest(ctx, *keywords)
		if err != nil {
			return exitUsage, usagef("scan: --keyword-lists %s: %v: name the folder that holds tom-skype-raw-data/dlist-*/ (e.g. ../shared/data/tom-skype-keyword-lists)", esc(*keywords), err)
		}
		digests.KeywordLists = digest
	}
	if missing := missingTools(unpack.FindTools()); len(missing) > 0 {
		return exitUsage, usagef("scan: external tools not found on PATH: %s: run 'make setup' (Debian: apt-get install 7zip innoextract unshield)", strings.Join(missing, ", "))
	}
	// Rules to compile and an archive already there (a rescan): the inputs
	// are found and hashed meanwhile. Nothing is written, and the archive,
	// which Discover leaves out by its identity, is there to be left out;
	// a new archive is created first and the inputs looked for after, as
	// without rules to compile.
	var found <-chan discovered
	if early != nil {
		if _, err := os.Stat(*out); err == nil {
			found = discoverAsync(ctx, paths, *out)
		}
	}
	var set *rules.Set
	if early != nil {
		c := <-early
		if c.err != nil {
			return exitUsage, c.err
		}
		set = c.set
	}
	lock, err := openArchive("scan", *out, stderr)
	if err != nil {
		return exitUsage, err
	}
	defer lock.Release()
	run, swept, err := scratch.NewRun(*scratchDir)
	if err != nil {
		return exitUsage, usagef("scan: --scratch %s: %v: name an existing folder tomscan can write to", esc(*scratchDir), err)
	}
	defer run.Close()
	for _, d := range swept {
		fmt.Fprintf(stderr, "tomscan: removed scratch folder %s left by a run that is no longer running\n", esc(d))
	}

	if found == nil {
		found = discoverAsync(ctx, paths, *out)
	}
	d := <-found
	if d.discoverErr != nil {
		return exitUsage, usagef("scan: %v", d.discoverErr)
	}
	if d.groupErr != nil {
		if ctx.Err() != nil {
			return exitRuntime, fmt.Errorf("scan: interrupted while hashing the inputs: nothing was scanned")
		}
		return exitRuntime, fmt.Errorf("scan: %w", d.groupErr)
	}
	builds, skipped := d.builds, d.skipped
	for _, s := range skipped {
		fmt.Fprintf(stderr, "tomscan: skipped %s: %s\n", esc(s.Path), esc(s.Reason))
	}
	if shardSel != nil && len(builds) > 0 {
		// An empty shard is no error: its archive is empty, and merges.
		builds = shardSel.filter(builds)
	} else if len(builds) == 0 {
		return exitUsage, usagef("scan: no file to scan in %s (%d skipped): name files or folders that hold installers", esc(strings.Join(paths, " ")), len(skipped))
	}
	index, err := archive.Open(ctx, *out) // the index heals itself: see archive.Open
	if err != nil {
		return exitRuntime, fmt.Errorf("scan: %w", err)
	}
	defer index.Close()

	spec := scanSpec{Limits: lim, KeywordLists: *keywords, TrustPEM: trustPEM, Tool: toolInfo(), Timestamps: *timestamps, ScratchDir: run.Dir(), Passwords: pwList, Cache: digests, NodeCache: *cacheDir, NodeCacheBytes: *cacheBytes,
		Prepare: &archivePreparer{Pages: archive.PageSpec{MD: want["md"], HTML: want["html"]}, NDJSON: *ndjson}}
	for _, src := range ruleSrcs {
		spec.Rules = append(spec.Rules, specRule{Namespace: src.Namespace, Path: src.Path, Text: src.Text})
	}
	cfg, err := spec.baseConfig() // the rules come below, when a build needs them
	if err != nil {
		return exitUsage, err
	}
	cfg.Jobs = *jobs
	// trimmed is closed once the node cache's last trim is done: it runs
	// beside the index's Flush (startTrim), or at return on the way out.
	var trimmed chan struct{}
	startTrim := func() {
		// Within its bound at the end of a run that scanned builds too
		// (workers trim as they write). A run that reused every build
		// wrote nothing there, and the walk over the whole folder would be
		// most of it with a large cache.
		if cfg.NodeCache == nil || len(builds) == 0 || trimmed != nil {
			return
		}
		trimmed = make(chan struct{})
		go func() {
			defer close(trimmed)
			cfg.NodeCache.Trim()
		}()
	}
	defer func() {
		startTrim()
		if trimmed != nil {
			<-trimmed
		}
	}()
	if cfg.NodeCache != nil {
		cfg.NodeCache.Warn = func(msg string) { fmt.Fprintf(stderr, "tomscan: warning: %s\n", esc(msg)) }
	}

	stream := newNDJSONStream(*ndjson, stdout)
	var reused []*pipeline.Build
	if !*rescan {
		// Never the same work twice: see splitReusable. The keys are
		// first made without compiling the rules (archivedRulesInfo);
		// the builds that are not reusable under them are looked at again
		// with the compiled rules' keys.
		if ri, ok, err := archivedRulesInfo(ctx, *out, index, cfg.Tool, ruleSrcs); err != nil {
			return exitRuntime, fmt.Errorf("scan: %w", err)
		} else if ok {
			keyOf := func(b *pipeline.Build) string { return pipeline.CacheKeyRules(cfg, ri, b) }
			if builds, reused, err = splitReusable(ctx, *out, index, keyOf, builds, want); err != nil {
				return exitRuntime, fmt.Errorf("scan: %w", err)
			}
		}
	}
	if len(builds) > 0 {
		if set == nil {
			if set, err = compileRules(ctx, ruleSrcs); err != nil {
				return exitUsage, err
			}
		}
		cfg.Rules = set
		if spec.FrozenRules, err = set.Freeze(); err != nil {
			return exitRuntime, fmt.Errorf("scan: %w", err)
		}
		if !*inProcess {
			iso, err := isolation(spec, *maxMem)
			if err != nil {
				return exitRuntime, err
			}
			iso.Spawned = spawned
			cfg.Isolation = iso
		}
		if !*rescan {
			keyOf := func(b *pipeline.Build) string { return pipeline.CacheKey(cfg, b) }
			var more []*pipeline.Build
			if builds, more, err = splitReusable(ctx, *out, index, keyOf, builds, want); err != nil {
				return exitRuntime, fmt.Errorf("scan: %w", err)
			}
			reused = append(reused, more...)
		}
	}
	if !*rescan {
		if *ndjson {
			for _, b := range reused {
				r, err := reports.ReadFile(filepath.Join(reports.BuildDir(*out, b.Key), archive.ReportJSON))
				if err != nil {
					return exitRuntime, fmt.Errorf("scan: reused build %s: %w", b.Key, err)
				}
				stream.WriteReused(b.Key, r)
			}
		}
	}
	var total int64
	for _, b := range builds {
		total += b.Size
	}
	bar := newBar(stderr, *quiet, total, len(builds))
	start := time.Now()
	// The run stops at once when the environment fails under it: a report
	// that cannot be written (disk full, read-only) or a worker that cannot
	// be started. Builds in flight are then not archived.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var (
		counts              = map[string]int{}
		stats               pipeline.Stats
		matches, done, intr int
		shown               int
		stopMu              sync.Mutex
		stopErr             error
	)
	stop := func(err error) {
		stopMu.Lock()
		if stopErr == nil {
			stopErr = err
		}
		stopMu.Unlock()
		stopRun()
	}
	stopping := func() bool {
		stopMu.Lock()
		defer stopMu.Unlock()
		return stopErr != nil
	}
	// The archiver's callback alone touches counts, stats, matches, shown,
	// the stream and the bar until arch.close returns.
	// A slot holds its build and the one sent ahead to its worker.
	arch := startArchiver(ctx, &archiver{out: *out, index: index, want: want, failed: stop, expect: len(builds), inFlight: 2 * *jobs, archived: func(r pipeline.Result) {
		stats.Nodes += r.Stats.Nodes
		stats.Unpacked += r.Stats.Unpacked
		stats.CacheHits += r.Stats.CacheHits
		for _, w := range r.Stats.Warnings {
			fmt.Fprintf(stderr, "tomscan: warning: %s\n", esc(w))
		}
		if p, ok := r.Prepared.(*archive.Prepared); ok {
			counts[p.Status]++
			matches += p.Matches
			stream.WriteLine(p.Extra)
		} else {
			counts[r.Report.Status]++
			matches += r.Report.Summary.Matches
			stream.Write(r.Build.Key, r.Report)
		}
		shown++
		if bar != nil {
			bar.Describe(fmt.Sprintf("%d/%d builds", shown, len(builds)))
			_ = bar.Add64(r.Build.Size)
		}
	}})
	scanAll := pipeline.Run
	if len(builds) == 0 {
		// Every build reused: no rules were compiled, no worker is started.
		scanAll = func(context.Context, pipeline.Config, []*pipeline.Build, func(pipeline.Result)) error { return nil }
	}
	err = scanAll(runCtx, cfg, builds, func(r pipeline.Result) {
		done++
		switch {
		case stopping():
			return // stopping: nothing more is archived
		case r.Err != nil:
			stop(fmt.Errorf("scan: %s: %w", esc(r.Build.Inputs[0].Ref), r.Err))
			return
		case r.Interrupted:
			intr++
			return
		}
		arch.add(r)
	})
	_ = arch.close() // its failure went to stop
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	archived := counts[reports.StatusSucceeded] + counts[reports.StatusPartial] + counts[reports.StatusFailed]
	if !*quiet {
		fmt.Fprintf(stderr, "tomscan: %d builds: %d succeeded, %d partial, %d failed, %d reused; %d matches; %d inputs skipped; %s; reports in %s\n",
			len(builds)+len(reused), counts[reports.StatusSucceeded], counts[reports.StatusPartial], counts[reports.StatusFailed], len(reused),
			matches, len(skipped), time.Since(start).Round(time.Millisecond), esc(*out))
		if cfg.NodeCache != nil {
			fmt.Fprintf(stderr, "tomscan: node cache: unpacked %d of %d nodes, cache hits %d\n", stats.Unpacked, stats.Nodes, stats.CacheHits)
		}
	}
	if stopErr != nil {
		return exitRuntime, stopErr
	}
	if err := stream.Err(); err != nil {
		return exitRuntime, fmt.Errorf("scan: --ndjson: %w", err)
	}
	interrupted := ctx.Err() != nil
	// The index covers every build in the archive: this run's, upserted one
	// by one as they were written (even when the run is being interrupted),
	// and earlier ones.
	for _, s := range index.Skipped() {
		fmt.Fprintf(stderr, "tomscan: warning: report left out of the index (run 'tomscan report --check'): %s\n", reports.Terminal(s.String()))
	}
	// The cache's trim and the index's Flush touch different folders: the
	// trim (a walk over the cache, ~10 ms on the synthetic corpus's) runs
	// beside it instead of after it.
	startTrim()
	if ierr := index.FlushClose(context.WithoutCancel(ctx)); ierr != nil {
		return exitRuntime, fmt.Errorf("scan: %w", ierr)
	}
	if interrupted {
		return exitRuntime, fmt.Errorf("scan: interrupted: %d builds archived, %d in flight not archived, %d not started; run the same command again to scan the rest",
			archived, intr, len(builds)-done)
	}
	if err != nil {
		return exitRuntime, fmt.Errorf("scan: %w", err)
	}
	if counts[reports.StatusFailed] > 0 {
		return exitBuildFailed, nil
	}
	return exitOK, nil
}

// esc escapes a path or any string from outside for the terminal.
func esc(s string) string { return reports.Terminal(s) }

// missingTools names the external programs the extractors need that are
// not installed: without them every installer of that kind would be
// reported partial, replacing a complete report in the archive.
func missingTools(t unpack.Tools) []string {
	var missing []string
	for _, tool := range []struct{ name, path string }{
		{"7z", t.SevenZip}, {"innoextract", t.Innoextract}, {"unshield", t.Unshield}, {"unar", t.Unar},
	} {
		if tool.path == "" {
			missing = append(missing, tool.name)
		}
	}
	return missing
}

// archiveLock is the lock file in the --out folder naming this run.
const archiveLock = ".tomscan.lock"

// openArchive creates the --out folder, checks that reports can be written
// into it, and takes its lock. A lock left by a dead run means that run was
// killed: its temp files are removed (and said so), nothing else.
func openArchive(cmd, out string, stderr io.Writer) (*runlock.Lock, error) {
	builds := filepath.Join(out, archive.BuildsDir)
	if err := os.MkdirAll(builds, 0o755); err != nil {
		return nil, usagef("%s: --out %s: cannot create it: %v: name a folder tomscan can write to", cmd, esc(out), err)
	}
	lock, stale, err := runlock.Acquire(filepath.Join(out, archiveLock))
	if errors.Is(err, runlock.ErrHeld) {
		return nil, usagef("%s: --out %s: %v: wait for that run to end, or give another --out", cmd, esc(out), err)
	}
	if err != nil {
		return nil, usagef("%s: --out %s is not writable: %v: name a folder tomscan can write to", cmd, esc(out), err)
	}
	probe, err := os.CreateTemp(builds, ".tmp-report.probe-")
	if err != nil {
		lock.Release()
		return nil, usagef("%s: --out %s is not writable: %v: name a folder tomscan can write to", cmd, esc(out), err)
	}
	probe.Close()
	os.Remove(probe.Name())
	if stale {
		removed, err := pipeline.SweepArchive(out)
		for _, p := range removed {
			fmt.Fprintf(stderr, "tomscan: removed %s left by a run that is no longer running\n", esc(p))
		}
		if err != nil {
			lock.Release()
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
	}
	return lock, nil
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

// writeBuildFiles writes a finished build's report.json (the worker's JSON
// byte for byte, or this process's encoding) and the pages asked for,
// rendered from the report; the archiver upserts it into the index after.
// pagesWritten tells which pages writeBuildFiles writes for r: the
// worker's prepared ones, else those --format wants.
func pagesWritten(r pipeline.Result, want map[string]bool) (md, html bool) {
	if p, ok := r.Prepared.(*archive.Prepared); ok && (r.JSON != nil || r.JSONFile != "") {
		return p.MD != nil, p.HTML != nil
	}
	return want["md"], want["html"]
}

func writeBuildFiles(out string, r pipeline.Result, want map[string]bool) error {
	if p, ok := r.Prepared.(*archive.Prepared); ok && (r.JSON != nil || r.JSONFile != "") {
		return archive.WritePrepared(out, r.Build.Key, r.JSON, r.JSONFile, p)
	}
	if r.JSON == nil {
		return archive.WriteBuild(out, r.Build.Key, r.Report, want)
	}
	dir := reports.BuildDir(out, r.Build.Key)
	if _, err := archive.RemoveStalePages(dir, want["md"], want["html"]); err != nil {
		return err
	}
	if err := reports.WriteAtomic(filepath.Join(dir, archive.ReportJSON), r.JSON); err != nil {
		return err
	}
	// The pages as archive.WriteBuild renders them, from the decoded report.
	return archive.WritePages(dir, r.Report, want)
}

// readTrustStore reads and checks a PEM bundle of trusted roots; "" means no
// store, so reports never depend on the host's certificates.
func readTrustStore(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("scan: --trust-store: %v", err)
	}
	if _, err := trustPool(b); err != nil {
		return nil, usagef("scan: --trust-store %s: %v", esc(path), err)
	}
	return b, nil
}

func trustPool(pem []byte) (*x509.CertPool, error) {
	if pem == nil {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in it")
	}
	return pool, nil
}
