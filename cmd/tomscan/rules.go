package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tomscan/tomscan/corpus/manifest"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/registry"
	"github.com/tomscan/tomscan/rules"
	"github.com/tomscan/tomscan/rules/lint"
	"github.com/tomscan/tomscan/rules/ruletest"
	"github.com/tomscan/tomscan/rules/suggest"
)

// exitRulesFailed: the rules checked or tested did not pass (compile errors,
// lint findings under --strict, a false positive or negative).
const exitRulesFailed = 1

const rulesUsage = `usage: tomscan rules <command> [flags]

commands:
  check [PATH...]        compile rule files or folders (default: the shipped pack) and lint them
  test                   scan the corpus and the real files; per rule TP/FP/FN, precision, recall
  bench                  each rule's cost over the corpus nodes, slowest first
  suggest --positive DIR --negative DIR
                         draft a rule from strings in every positive file and no negative one

Run 'tomscan rules <command> -h' for a command's flags.
`

func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return exitUsage, nil
	}
	switch args[0] {
	case "check":
		return cmdRulesCheck(ctx, args[1:], stdout, stderr)
	case "test":
		return cmdRulesTest(ctx, args[1:], stdout, stderr)
	case "bench":
		return cmdRulesBench(ctx, args[1:], stdout, stderr)
	case "suggest":
		return cmdRulesSuggest(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, rulesUsage)
		return exitOK, nil
	}
	return exitUsage, usagef("rules: unknown command %q: check, test, bench or suggest (run 'tomscan rules -h')", args[0])
}

// checkReport is what rules check --json prints.
type checkReport struct {
	Files    []string       `json:"files"`
	Rules    int            `json:"rules"`
	Errors   []string       `json:"errors"`
	Warnings []lint.Finding `json:"warnings"`
	// CompilerWarnings are libyara's own warnings, file:line: message.
	CompilerWarnings []string `json:"compiler_warnings"`
	OK               bool     `json:"ok"`
}

func cmdRulesCheck(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("rules check", flag.ContinueOnError)
	installHelp(fs, "rules check", stdout)
	var (
		strict   = fs.Bool("strict", false, "treat lint findings as errors")
		asJSON   = fs.Bool("json", false, "print the result as JSON")
		required = fs.String("require-meta", strings.Join(lint.PackMeta, ","), "meta keys every public rule must have (comma-separated; empty for none)")
		minAtom  = fs.Int("min-atom", 4, "shortest acceptable fixed substring of a string, in bytes")
	)
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return parseExit(flagErr("rules check", err))
	}
	var srcs []rules.Source
	if len(paths) == 0 {
		if srcs, err = rules.Builtin(); err != nil {
			return exitRuntime, err
		}
	}
	for _, p := range paths {
		s, err := rules.LoadPath(p)
		if err != nil {
			return exitUsage, usagef("rules check: %v", err)
		}
		srcs = append(srcs, s...)
	}
	opts := lint.Options{MinAtom: *minAtom}
	for _, k := range strings.Split(*required, ",") {
		if k = strings.TrimSpace(k); k != "" {
			opts.RequiredMeta = append(opts.RequiredMeta, k)
		}
	}
	rep := checkSources(ctx, srcs, opts)
	rep.OK = len(rep.Errors) == 0 && (!*strict || len(rep.Warnings) == 0)

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return exitRuntime, err
		}
	} else {
		for _, e := range rep.Errors {
			fmt.Fprintf(stdout, "error: %s\n", e)
		}
		level := "warning"
		if *strict {
			level = "error"
		}
		for _, w := range rep.Warnings {
			fmt.Fprintf(stdout, "%s: %s\n", level, w)
		}
		for _, w := range rep.CompilerWarnings {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
		fmt.Fprintf(stdout, "%d files, %d rules: %d errors, %d lint findings\n", len(rep.Files), rep.Rules, len(rep.Errors), len(rep.Warnings))
	}
	if !rep.OK {
		return exitRulesFailed, nil
	}
	return exitOK, nil
}

// checkSources compiles (each file alone, so every file's errors show, then
// the set) and lints the sources.
func checkSources(ctx context.Context, srcs []rules.Source, opts lint.Options) checkReport {
	rep := checkReport{Errors: []string{}, Warnings: []lint.Finding{}, CompilerWarnings: []string{}}
	var files []*lint.File
	for _, s := range srcs {
		rep.Files = append(rep.Files, s.Path)
		f, err := lint.Parse(s.Path, s.Text)
		if err != nil {
			// libyara's message below is the authoritative one; ours only
			// says the linter could not read the file.
			rep.Warnings = append(rep.Warnings, lint.Finding{File: s.Path, Line: lineOf(err), Code: lint.CodeParse, Message: "not linted: " + err.Error()})
			continue
		}
		rep.Rules += len(f.Rules)
		files = append(files, f)
	}
	set, err := rules.Compile(ctx, srcs)
	var ce *rules.CompileError
	switch {
	case errors.As(err, &ce):
		rep.Errors = append(rep.Errors, ce.Messages...)
	case err != nil:
		rep.Errors = append(rep.Errors, err.Error())
	default:
		rep.CompilerWarnings = append(rep.CompilerWarnings, set.Warnings...)
	}
	for _, f := range lint.Check(files, opts) {
		if !reportedByCompiler(f, rep.Errors) {
			rep.Warnings = append(rep.Warnings, f)
		}
	}
	return rep
}

// reportedByCompiler says whether libyara already gave f as an error: an
// undefined string is a compile error, and saying it again as a lint finding
// counted it twice. libyara's line can differ from ours (it names the line
// where it noticed), so the match is on file and string name.
func reportedByCompiler(f lint.Finding, errs []string) bool {
	if f.Code != lint.CodeUndefinedRef {
		return false
	}
	i := strings.Index(f.Message, "$")
	if i < 0 {
		return false
	}
	id := f.Message[i:]
	if j := strings.IndexByte(id, ','); j >= 0 {
		id = id[:j]
	}
	for _, e := range errs {
		if strings.HasPrefix(e, f.File+":") && strings.Contains(e, fmt.Sprintf("undefined string %q", id)) {
			return true
		}
	}
	return false
}

func lineOf(err error) int {
	var pe *lint.ParseError
	if errors.As(err, &pe) {
		return pe.Line
	}
	return 0
}

// envDefault returns the flag's value, else the environment variable's.
func envDefault(v, env string) string {
	if v != "" {
		return v
	}
	return os.Getenv(env)
}

// walkFlags are the flags rules test, bench and suggest share — they all
// unpack files through the scan pipeline's engine: the limits, a scratch
// folder, and the same parsing (flags anywhere, no positional arguments).
type walkFlags struct {
	*flag.FlagSet
	lim        limits.Limits
	scratchDir *string
}

func newWalkFlags(name string, stdout io.Writer) *walkFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	installHelp(fs, name, stdout)
	w := &walkFlags{FlagSet: fs, lim: limits.Default()}
	w.scratchDir = fs.String("scratch", "", "parent folder of per-build scratch roots")
	limitFlags(fs, &w.lim)
	return w
}

// parse reads args; help is true when -h was asked (exit 0, nothing to do).
func (w *walkFlags) parse(args []string) (help bool, err error) {
	rest, err := parseInterleaved(w.FlagSet, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return true, nil
	case err != nil:
		return false, flagErr(w.Name(), err)
	case len(rest) > 0:
		return false, usagef("%s: unexpected arguments %q", w.Name(), rest)
	}
	if err := w.lim.Validate(); err != nil {
		return false, usagef("%s: %v", w.Name(), err)
	}
	return false, nil
}

// walker unpacks and analyses files the way scan does.
func (w *walkFlags) walker() ruletest.Walker {
	return ruletest.Walker{Engine: unpack.New(registry.All(), registry.Tools()), Limits: w.lim, ScratchDir: *w.scratchDir}
}

func cmdRulesTest(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newWalkFlags("rules test", stdout)
	var (
		corpus    = fs.String("corpus", "", "synthetic corpus folder with manifest.json (default $TOMSCAN_CORPUS)")
		real      = fs.String("real", "", "real third-party files, all goodware (default $TOMSCAN_REAL_CORPUS)")
		asJSON    = fs.Bool("json", false, "print the result as JSON instead of a table")
		jobs      = fs.Int("jobs", runtime.NumCPU(), "builds scanned at once, and the cores used: a build gets the cores of idle jobs for its children")
		noBuiltin = fs.Bool("no-builtin-rules", false, "test only the --rules folders, not the shipped pack")
		ruleDirs  multiFlag
	)
	fs.Var(&ruleDirs, "rules", "extra folder of .yar rules (repeatable)")
	if help, err := fs.parse(args); help || err != nil {
		return parseExit(err)
	}
	w := fs.walker()
	cfg := ruletest.Config{
		CorpusDir: envDefault(*corpus, "TOMSCAN_CORPUS"), RealDir: envDefault(*real, "TOMSCAN_REAL_CORPUS"),
		Engine: w.Engine, Limits: w.Limits, Jobs: *jobs, ScratchDir: w.ScratchDir,
	}
	if cfg.CorpusDir == "" && cfg.RealDir == "" {
		return exitUsage, usagef("rules test: give --corpus DIR and/or --real DIR (or set TOMSCAN_CORPUS, TOMSCAN_REAL_CORPUS)")
	}
	for _, c := range []struct{ flag, dir, make string }{{"--corpus", cfg.CorpusDir, "make corpus"}, {"--real", cfg.RealDir, "make corpus-real"}} {
		if c.dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(c.dir, "manifest.json")); err != nil {
			return exitUsage, usagef("rules test: %s %s: no manifest.json there; build it with '%s' or give the folder that has it", c.flag, c.dir, c.make)
		}
	}
	var err error
	if cfg.Rules, err = loadRules(ctx, ruleDirs, *noBuiltin); err != nil {
		return exitUsage, err
	}
	start := time.Now()
	res, err := ruletest.Run(ctx, cfg)
	if err != nil {
		return exitRuntime, err
	}
	fmt.Fprintf(stderr, "tomscan: rules test: %d builds, %d real files in %s\n", res.Builds, res.RealFiles, time.Since(start).Round(time.Millisecond))
	if *asJSON {
		err = ruletest.WriteJSON(stdout, res)
	} else {
		err = ruletest.WriteTable(stdout, res)
	}
	if err != nil {
		return exitRuntime, err
	}
	if !res.OK() {
		return exitRulesFailed, nil
	}
	return exitOK, nil
}

func cmdRulesBench(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newWalkFlags("rules bench", stdout)
	var (
		corpus    = fs.String("corpus", "", "synthetic corpus folder with manifest.json (default $TOMSCAN_CORPUS)")
		rounds    = fs.Int("rounds", 10, "passes per set, interleaved; the fastest counts")
		maxBytes  = fs.Int64("max-bytes", 1<<30, "node bytes held in memory for the passes")
		asJSON    = fs.Bool("json", false, "print the result as JSON")
		noBuiltin = fs.Bool("no-builtin-rules", false, "time only the --rules folders")
		ruleDirs  multiFlag
	)
	fs.Var(&ruleDirs, "rules", "extra folder of .yar rules (repeatable)")
	if help, err := fs.parse(args); help || err != nil {
		return parseExit(err)
	}
	dir := envDefault(*corpus, "TOMSCAN_CORPUS")
	if dir == "" {
		return exitUsage, usagef("rules bench: give --corpus DIR (or set TOMSCAN_CORPUS)")
	}
	m, err := manifest.Load(dir)
	if err != nil {
		return exitUsage, usagef("rules bench: %v", err)
	}
	var srcs []rules.Source
	if !*noBuiltin {
		if srcs, err = rules.Builtin(); err != nil {
			return exitRuntime, err
		}
	}
	for _, d := range ruleDirs {
		s, err := rules.LoadDir(d)
		if err != nil {
			return exitUsage, usagef("rules bench: %v", err)
		}
		srcs = append(srcs, s...)
	}
	cfg := ruletest.BenchConfig{
		Sources: srcs, Rounds: *rounds, MaxBytes: *maxBytes,
		Walker: fs.walker(),
	}
	for _, b := range m.Builds {
		cfg.Inputs = append(cfg.Inputs, filepath.Join(dir, filepath.FromSlash(b.File)))
	}
	res, err := ruletest.Bench(ctx, cfg)
	if err != nil {
		var ce *rules.CompileError
		if errors.As(err, &ce) {
			return exitUsage, usagef("%v", err)
		}
		return exitRuntime, err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return exitOK, enc.Encode(res)
	}
	fmt.Fprintf(stdout, "%d nodes, %d bytes, fastest of %d passes; whole set %s per pass, baseline (no rule) %s, noise floor %s",
		res.Nodes, res.Bytes, res.Rounds, res.Full.Round(time.Microsecond), res.Baseline.Round(time.Microsecond), res.Noise.Round(time.Microsecond))
	if res.Truncated {
		fmt.Fprintf(stdout, " (--max-bytes reached: not every node is included)")
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tNAMESPACE\tCOST\tSHARE\tWITHOUT\tMETHOD")
	for _, r := range res.Rules {
		cost := r.Cost.Round(time.Microsecond).String()
		if r.BelowNoise {
			cost = "<noise"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\t%s\t%s\n", r.Rule, r.Namespace, cost, 100*r.Share, r.Without.Round(time.Microsecond), r.Method)
	}
	return exitOK, tw.Flush()
}

func cmdRulesSuggest(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newWalkFlags("rules suggest", stdout)
	var (
		minLen    = fs.Int("min-len", 8, "shortest candidate string, in characters (at least 4)")
		max       = fs.Int("max", 12, "strings in the draft rule")
		name      = fs.String("name", "Draft_Suggested", "name of the draft rule")
		asJSON    = fs.Bool("json", false, "print the ranked candidates as JSON instead of a draft rule")
		positives multiFlag
		negatives multiFlag
	)
	fs.Var(&positives, "positive", "file or folder of files the rule must match (repeatable)")
	fs.Var(&negatives, "negative", "file or folder of files the rule must not match (repeatable)")
	if help, err := fs.parse(args); help || err != nil {
		return parseExit(err)
	}
	if len(positives) == 0 || len(negatives) == 0 {
		return exitUsage, usagef("rules suggest: give --positive DIR and --negative DIR")
	}
	if *minLen < 4 || *max < 1 {
		return exitUsage, usagef("rules suggest: --min-len must be >= 4 and --max >= 1")
	}
	cfg := suggest.Config{Walker: fs.walker(), MinLen: *minLen}
	var err error
	if cfg.Positive, err = filesUnder(positives); err != nil {
		return exitUsage, usagef("rules suggest: %v", err)
	}
	if cfg.Negative, err = filesUnder(negatives); err != nil {
		return exitUsage, usagef("rules suggest: %v", err)
	}
	cands, err := suggest.Suggest(ctx, cfg)
	if err != nil {
		return exitRuntime, err
	}
	fmt.Fprintf(stderr, "tomscan: rules suggest: %d positive, %d negative files: %d candidates\n", len(cfg.Positive), len(cfg.Negative), len(cands))
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if cands == nil {
			cands = []suggest.Candidate{}
		}
		return exitOK, enc.Encode(cands)
	}
	return exitOK, suggest.WriteRule(stdout, suggest.Draft{Name: *name, Date: time.Now(), Positives: cfg.Positive, Negatives: len(cfg.Negative), Max: *max}, cands)
}

// filesUnder lists the regular files of each path (a file, or a folder
// walked recursively), sorted per argument, skipping manifest.json files.
func filesUnder(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(q string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && d.Name() != "manifest.json" {
				out = append(out, q)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no files in %s", strings.Join(paths, ", "))
	}
	return out, nil
}

// parseExit is the exit of a subcommand whose flags ended it: usage on a
// parse error, success after -h.
func parseExit(err error) (int, error) {
	if err != nil {
		return exitUsage, err
	}
	return exitOK, nil
}
