// Command e2e is `make bench-e2e`: tomscan against the analyst's own pipeline
// (bench/peer/peer.sh) and against the tools it calls, measured side by side
// in one invocation, and the issue-16 targets judged PASS or MISS.
//
// Every comparison runs its commands interleaved (round r runs each one once,
// in an order that rotates with r) and reports medians of wall time: the
// machines this runs on are shared, and interleaving spreads the noise over
// all sides alike. Peak RSS is the largest process of each command's tree
// (wait4's rusage, as /usr/bin/time -v reports it), taken by a small helper
// (the driver run again, -measure-child) that starts the command and
// reports its wall time and rusage: see exec1.
//
// Rescan ratios need `tomscan scan --cache` (issue 16's reuse); a binary
// without it prints "n/a (flag not supported)" for them.
//
// It also runs as the YARA stage of tomscan alone (-yara-stage DIR): the
// shipped rules compiled once with tomscan's rules package and every file
// under DIR scanned with its scanners, one worker per core, in one process,
// as the whole-process counterpart of `yara -r`.
package main

import (
	"archive/zip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/pe"
	"github.com/tomscan/tomscan/rules"
)

type config struct {
	tomscan, corpus, real, keywords, work, repo string
	largeFrom                                   string
	n                                           int
	largeMB                                     int
	rssSizes                                    []int
	only                                        map[string]bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == measureArg {
		os.Exit(measureChild(os.Args[2:]))
	}
	var c config
	var rss, only, yaraStage, compute string
	var spawn int
	flag.StringVar(&c.tomscan, "tomscan", "bin/tomscan", "tomscan binary")
	flag.StringVar(&c.corpus, "corpus", os.Getenv("TOMSCAN_CORPUS"), "synthetic corpus (its builds/ folder is scanned)")
	flag.StringVar(&c.real, "real", os.Getenv("TOMSCAN_REAL_CORPUS"), "real corpus (its files/ folder is scanned)")
	flag.StringVar(&c.keywords, "keyword-lists", os.Getenv("TOMSCAN_KEYWORD_LISTS"), "keyword-list snapshots")
	flag.StringVar(&c.work, "work", "", "scratch folder (default: a new temporary one, removed at the end)")
	flag.IntVar(&c.n, "n", 3, "interleaved rounds per comparison (medians)")
	flag.IntVar(&c.largeMB, "large-mb", 1024, "size of the generated ZIP of PEs, MiB")
	flag.StringVar(&c.largeFrom, "large-from", "", "folder whose PEs fill the large ZIP (default: the real corpus's files/)")
	flag.StringVar(&rss, "rss-builds", "100,1000,10000", "archive sizes (builds) for the peak-RSS series")
	flag.StringVar(&only, "only", "", "comma-separated sections to run: e2e-synthetic,e2e-real,yara,large,jobs,rescan,rss (default: all)")
	flag.StringVar(&yaraStage, "yara-stage", "", "internal: run tomscan's YARA stage over this folder and exit")
	flag.StringVar(&compute, "compute", "", "internal: run the fixed compute load over this folder's PEs and exit")
	flag.IntVar(&spawn, "spawn", 0, "internal: start and wait for /bin/true this many times and exit")
	flag.Parse()
	if spawn > 0 {
		if err := spawnLoad(spawn); err != nil {
			fmt.Fprintln(os.Stderr, "bench-e2e:", err)
			os.Exit(1)
		}
		return
	}
	if compute != "" {
		if _, err := computeLoad(compute, computeBytes, computeRounds); err != nil {
			fmt.Fprintln(os.Stderr, "bench-e2e:", err)
			os.Exit(1)
		}
		return
	}
	if yaraStage != "" {
		if err := runYaraStage(yaraStage); err != nil {
			fmt.Fprintln(os.Stderr, "bench-e2e:", err)
			os.Exit(1)
		}
		return
	}
	for _, s := range strings.Split(rss, ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && v > 0 {
			c.rssSizes = append(c.rssSizes, v)
		}
	}
	if only != "" {
		c.only = map[string]bool{}
		for _, s := range strings.Split(only, ",") {
			c.only[strings.TrimSpace(s)] = true
		}
	}
	if err := run(&c); err != nil {
		fmt.Fprintln(os.Stderr, "bench-e2e:", err)
		os.Exit(1)
	}
}

func run(c *config) error {
	var err error
	if c.repo, err = os.Getwd(); err != nil {
		return err
	}
	if c.tomscan, err = filepath.Abs(c.tomscan); err != nil {
		return err
	}
	if c.work == "" {
		if c.work, err = os.MkdirTemp("", "tomscan-bench-e2e-"); err != nil {
			return err
		}
		defer os.RemoveAll(c.work)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	printMachine(c)
	t := &table{}
	want := func(s string) bool { return c.only == nil || c.only[s] }
	if want("e2e-synthetic") && c.corpus != "" {
		e2e(c, t, "synthetic", filepath.Join(c.corpus, "builds"))
	}
	if want("e2e-real") && c.real != "" {
		e2e(c, t, "real", filepath.Join(c.real, "files"))
	}
	if want("yara") && c.corpus != "" {
		yaraStage(c, t, self)
	}
	if want("large") && (c.real != "" || c.largeFrom != "") {
		large(c, t)
	}
	if want("jobs") && c.corpus != "" {
		jobs(c, t, self)
	}
	if want("rescan") && c.corpus != "" {
		rescan(c, t)
	}
	if want("rss") && c.corpus != "" && len(c.rssSizes) > 0 {
		rssSeries(c, t)
	}
	t.print(os.Stdout)
	return nil
}

func printMachine(c *config) {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	var mem string
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.TrimSpace(strings.SplitN(strings.SplitN(string(b), "\n", 2)[0], ":", 2)[1])
	}
	fmt.Printf("machine: %s, %d cores online, %s RAM, load average %s; %d interleaved rounds, medians of wall time\n",
		cpu, numCPU(), mem, load, c.n)
}

func numCPU() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return 0
	}
	n := 0
	for _, r := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, ok := strings.Cut(r, "-")
		a, _ := strconv.Atoi(lo)
		z := a
		if ok {
			z, _ = strconv.Atoi(hi)
		}
		n += z - a + 1
	}
	return n
}

// cmd is one command of a comparison. prep runs before each run, untimed
// (emptying an output folder).
type cmd struct {
	name string
	argv []string
	prep func() error
	ok   func(code int) bool // exit codes that count as success (default: 0)
}

// result is one run.
type result struct {
	wall   time.Duration
	maxRSS int64         // bytes
	cpu    time.Duration // user and system time, the command's and its waited-for descendants'
	err    error
	stderr string
}

// measureArg runs the driver as exec1's helper: measureChild.
const measureArg = "-measure-child"

// exec1 runs one command through the helper (measureChild), which starts
// it and reports its wall time and peak RSS. Started from the driver itself,
// a command's ru_maxrss would be at least the driver's own peak: on Linux a
// Go program starts a child vfork-style (in its own address space), and
// exec carries the high-water RSS of that address space into the child's
// rusage. The driver's peak grows with what it does (some 58 MB after
// replicating a 10,000-build archive), which made a 41 MB one-build scan
// read 58 MB. The helper is a small Go process (under 10 MB): what the
// command's rusage inherits from it stays below any command measured here.
func exec1(c cmd) result {
	if c.prep != nil {
		if err := c.prep(); err != nil {
			return result{err: err}
		}
	}
	self, err := os.Executable()
	if err != nil {
		return result{err: fmt.Errorf("%s: %w", c.name, err)}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return result{err: fmt.Errorf("%s: %w", c.name, err)}
	}
	defer pr.Close()
	x := exec.Command(self, append([]string{measureArg}, c.argv...)...)
	var stderr strings.Builder
	x.Stderr = &limitWriter{w: &stderr, n: 64 << 10}
	x.Stdout = io.Discard
	x.ExtraFiles = []*os.File{pw} // the helper's fd 3: its report
	start := time.Now()
	err = x.Start()
	pw.Close()
	if err == nil {
		err = x.Wait()
	}
	r := result{wall: time.Since(start)}
	report, _ := io.ReadAll(pr)
	var ns, cpu int64
	if _, serr := fmt.Sscan(string(report), &ns, &r.maxRSS, &cpu); serr == nil {
		r.wall, r.cpu = time.Duration(ns), time.Duration(cpu)
	} else if err == nil {
		err = fmt.Errorf("no report from the measuring helper (%q): %v", report, serr)
	}
	r.stderr = stderr.String()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if c.ok != nil && c.ok(code) {
			err = nil
		} else {
			err = fmt.Errorf("%s: exit %d: %s", c.name, code, lastLine(r.stderr))
		}
	} else if err != nil {
		err = fmt.Errorf("%s: %w", c.name, err)
	}
	r.err = err
	return r
}

// measureChild is the helper exec1 runs: it runs argv with its own stdin,
// stdout and stderr, writes the wall time (ns), the peak RSS (bytes) and
// the CPU time (ns, user and system) of wait4's rusage to fd 3, and exits
// with argv's exit code (128 + the signal when a signal ended it). The
// CPU time includes the processes the command started and waited for
// (tomscan's workers, their unpacking tools).
func measureChild(argv []string) int {
	report := os.NewFile(3, "report")
	if len(argv) == 0 || report == nil {
		fmt.Fprintln(os.Stderr, "bench-e2e: "+measureArg+": no command, or no fd 3")
		return 125
	}
	var xs []*exec.Cmd
	for _, a := range splitArgv(argv) {
		if len(a) == 0 {
			fmt.Fprintln(os.Stderr, "bench-e2e: "+measureArg+": an empty command beside another")
			return 125
		}
		x := exec.Command(a[0], a[1:]...)
		x.Stdin, x.Stdout, x.Stderr = os.Stdin, os.Stdout, os.Stderr
		xs = append(xs, x)
	}
	start := time.Now()
	errs := make([]error, len(xs))
	for i, x := range xs {
		errs[i] = x.Start()
	}
	for i, x := range xs {
		if errs[i] == nil {
			errs[i] = x.Wait()
		}
	}
	wall := time.Since(start)
	var rss, cpu int64
	for _, x := range xs {
		if x.ProcessState == nil {
			continue
		}
		if ru, ok := x.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = max(rss, ru.Maxrss*1024)
			cpu += ru.Utime.Nano() + ru.Stime.Nano()
		}
	}
	fmt.Fprintf(report, "%d %d %d\n", wall.Nanoseconds(), rss, cpu)
	report.Close()
	// Side by side, the highest code: tomscan's codes rise with what went
	// wrong (1 a build failed, 2 usage, 3 the run), and so does 128 + a
	// signal.
	code := 0
	for _, err := range errs {
		code = max(code, exitCode(err))
	}
	return code
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-e2e:", err)
		return 127
	}
	return 0
}

// besideArg separates the commands measureChild runs side by side: it
// starts them all, waits for the last, and reports the wall time until
// then, the largest peak RSS and the CPU time of all.
const besideArg = "-beside-"

func splitArgv(argv []string) [][]string {
	var out [][]string
	cur := []string{}
	for _, a := range argv {
		if a == besideArg {
			out = append(out, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	return append(out, cur)
}

// sideBySide is one command that runs cmds at once (each one's prep first);
// it succeeds when each exits with a code the first allows.
func sideBySide(name string, cmds ...cmd) cmd {
	var argv []string
	var preps []func() error
	for i, c := range cmds {
		if i > 0 {
			argv = append(argv, besideArg)
		}
		argv = append(argv, c.argv...)
		if c.prep != nil {
			preps = append(preps, c.prep)
		}
	}
	return cmd{name: name, argv: argv, ok: cmds[0].ok, prep: func() error {
		for _, p := range preps {
			if err := p(); err != nil {
				return err
			}
		}
		return nil
	}}
}

type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// interleave runs each command n times, round by round, rotating the order,
// and returns the median wall time and the largest peak RSS of each.
func interleave(n int, cmds ...cmd) ([]time.Duration, []int64, error) {
	med, rss, _, err := interleaveCPU(n, cmds...)
	return med, rss, err
}

// interleaveCPU is interleave, with the median CPU time of each command
// too.
func interleaveCPU(n int, cmds ...cmd) ([]time.Duration, []int64, []time.Duration, error) {
	walls := make([][]time.Duration, len(cmds))
	cpus := make([][]time.Duration, len(cmds))
	rss := make([]int64, len(cmds))
	for r := 0; r < n; r++ {
		for k := range cmds {
			i := (k + r) % len(cmds)
			res := exec1(cmds[i])
			if res.err != nil {
				return nil, nil, nil, res.err
			}
			walls[i] = append(walls[i], res.wall)
			cpus[i] = append(cpus[i], res.cpu)
			rss[i] = max(rss[i], res.maxRSS)
			fmt.Fprintf(os.Stderr, "  round %d: %-28s %8.2fs  %6.0f MB  %6.2fs CPU\n", r+1, cmds[i].name, res.wall.Seconds(), float64(res.maxRSS)/1e6, res.cpu.Seconds())
		}
	}
	med := make([]time.Duration, len(cmds))
	cpu := make([]time.Duration, len(cmds))
	for i := range walls {
		med[i], cpu[i] = median(walls[i]), median(cpus[i])
	}
	return med, rss, cpu, nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func exitOK(codes ...int) func(int) bool {
	return func(c int) bool {
		for _, k := range codes {
			if c == k {
				return true
			}
		}
		return false
	}
}

// tomscanScan is `tomscan scan INPUT --out OUT` with JSON reports only and
// the extra flags; exit 1 (findings) counts as success.
func (c *config) tomscanScan(name, out string, fresh bool, extra []string, inputs ...string) cmd {
	argv := append([]string{c.tomscan, "scan"}, inputs...)
	argv = append(argv, "--out", out, "--format", "json", "--quiet")
	if c.keywords != "" {
		argv = append(argv, "--keyword-lists", c.keywords)
	}
	argv = append(argv, extra...)
	var prep func() error
	if fresh {
		prep = func() error { return os.RemoveAll(out) }
	}
	return cmd{name: name, argv: argv, prep: prep, ok: exitOK(1)}
}

func (c *config) peer(name, work string, pefile bool, inputs ...string) cmd {
	argv := []string{filepath.Join(c.repo, "bench/peer/peer.sh")}
	if !pefile {
		argv = append(argv, "--no-pefile")
	}
	argv = append(argv, work)
	return cmd{name: name, argv: append(argv, inputs...)}
}

// table collects the lines printed at the end.
type table struct{ rows [][4]string }

func (t *table) add(name, value, target string, pass *bool) {
	verdict := ""
	if pass != nil {
		verdict = "MISS"
		if *pass {
			verdict = "PASS"
		}
	}
	t.rows = append(t.rows, [4]string{name, value, target, verdict})
	fmt.Fprintf(os.Stderr, "%s: %s %s %s\n", name, value, target, verdict)
}

func (t *table) fail(name string, err error) {
	t.rows = append(t.rows, [4]string{name, "error: " + lastLine(err.Error()), "", "MISS"})
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
}

func (t *table) print(w io.Writer) {
	wd := [3]int{}
	for _, r := range t.rows {
		for i := range wd {
			wd[i] = max(wd[i], len(r[i]))
		}
	}
	fmt.Fprintln(w)
	for _, r := range t.rows {
		fmt.Fprintf(w, "%-*s  %-*s  %-*s  %s\n", wd[0], r[0], wd[1], r[1], wd[2], r[2], r[3])
	}
}

func ptr(b bool) *bool { return &b }

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func e2e(c *config, t *table, label, input string) {
	fmt.Fprintf(os.Stderr, "e2e %s: %s\n", label, input)
	w := filepath.Join(c.work, "e2e-"+label)
	med, _, err := interleave(c.n,
		c.tomscanScan("tomscan", filepath.Join(w, "out"), true, nil, input),
		c.peer("peer (pefile)", filepath.Join(w, "peer"), true, input),
		c.peer("peer (no pefile)", filepath.Join(w, "peer-nopefile"), false, input),
	)
	if err != nil {
		t.fail("e2e "+label, err)
		return
	}
	r1 := med[0].Seconds() / med[1].Seconds()
	r2 := med[0].Seconds() / med[2].Seconds()
	t.add(fmt.Sprintf("%s: tomscan/peer (pefile)", label), fmt.Sprintf("%.2f (%s / %s)", r1, secs(med[0]), secs(med[1])), "<= 0.33 (3x faster)", ptr(r1 <= 1.0/3))
	t.add(fmt.Sprintf("%s: tomscan/peer (no pefile)", label), fmt.Sprintf("%.2f (%s / %s)", r2, secs(med[0]), secs(med[2])), "< 1", ptr(r2 < 1))
}

// yaraStage compares tomscan's YARA stage, as a whole process, with yara -r
// over the same extracted tree (the peer's, of the synthetic corpus), and
// tomscan scan over that tree with both, for reference.
func yaraStage(c *config, t *table, self string) {
	fmt.Fprintln(os.Stderr, "yara: extracting the synthetic corpus with the peer pipeline")
	w := filepath.Join(c.work, "yara")
	if r := exec1(c.peer("peer (extract)", w, false, filepath.Join(c.corpus, "builds"))); r.err != nil {
		t.fail("yara", r.err)
		return
	}
	tree := filepath.Join(w, "tree")
	ruleFiles, _ := filepath.Glob(filepath.Join(c.repo, "rules", "*.yar"))
	yaraArgv := []string{"yara", "-w", "-r", "-d", "filename=x", "-d", "filepath=x", "-d", "filetype=x",
		"-d", "parent_filetype=x", "-d", "extractor=x", "-d", "depth=0"}
	yaraArgv = append(append(yaraArgv, ruleFiles...), tree)
	med, _, err := interleave(max(c.n, 5),
		cmd{name: "tomscan YARA stage", argv: []string{self, "-yara-stage", tree}},
		cmd{name: "yara -r", argv: yaraArgv, ok: exitOK(1)},
		c.tomscanScan("tomscan scan (tree)", filepath.Join(w, "out"), true, nil, tree),
	)
	if err != nil {
		t.fail("yara", err)
		return
	}
	r := med[0].Seconds() / med[1].Seconds()
	t.add("YARA stage (whole process)/yara -r", fmt.Sprintf("%.2f (%s / %s)", r, secs(med[0]), secs(med[1])), "<= 1.2", ptr(r <= 1.2))
	t.add("tomscan scan of the tree/yara -r", fmt.Sprintf("%.2f (%s / %s)", med[2].Seconds()/med[1].Seconds(), secs(med[2]), secs(med[1])), "(all stages; reference)", nil)
}

// runYaraStage is tomscan's YARA stage alone, as a scan runs it: the shipped
// pack compiled once per run (rules.Compile, as the scan's parent does), then
// every file under dir read and scanned with tomscan's scanner (the node's
// external variables set, the matches converted and sorted) by as many
// workers as the machine has cores, each with its own scanner over the one
// compiled set: tomscan scan's --jobs defaults to the number of cores, so a
// parallel stage is what a user gets, as `yara -r` scans a folder with a
// thread pool (-p, 32 threads by default in yara 4.2). A worker reads each
// file into one buffer it reuses: a scan's YARA stage finds a node's bytes in
// memory already (extracted, and shared with the PE and strings stages), so
// the read stands for bytes the scan has, and a fresh allocation per file
// would measure Go's page faults rather than the stage.
func runYaraStage(dir string) error {
	files, matches, workers, err := yaraStageScan(context.Background(), dir, runtime.NumCPU())
	fmt.Fprintf(os.Stderr, "yara stage: %d files, %d matches, %d workers\n", files, matches, workers)
	return err
}

// yaraStageScan compiles the shipped pack and scans every file under dir
// with up to workers workers; it returns the files, the matches and the
// workers it used.
func yaraStageScan(ctx context.Context, dir string, workers int) (int, int, int, error) {
	srcs, err := rules.Builtin()
	if err != nil {
		return 0, 0, 0, err
	}
	set, err := rules.Compile(ctx, srcs)
	if err != nil {
		return 0, 0, 0, err
	}
	var paths []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return 0, 0, 0, err
	}
	workers = max(1, min(workers, len(paths)))
	next := make(chan string)
	type result struct {
		matches int
		err     error
	}
	results := make(chan result, workers)
	for range workers {
		go func() {
			matches, err := yaraStageWorker(ctx, set, next)
			results <- result{matches, err}
		}()
	}
	for _, p := range paths {
		next <- p
	}
	close(next)
	matches := 0
	for range workers {
		r := <-results
		matches += r.matches
		err = errors.Join(err, r.err)
	}
	return len(paths), matches, workers, err
}

// yaraStageWorker scans the files it takes from next with a scanner of its
// own; after an error it drains next without scanning.
func yaraStageWorker(ctx context.Context, set *rules.Set, next <-chan string) (int, error) {
	sc, err := set.NewScanner(time.Minute)
	if err != nil {
		for range next {
		}
		return 0, err
	}
	defer sc.Close()
	var buf []byte
	matches := 0
	for p := range next {
		if err != nil {
			continue
		}
		if buf, err = readInto(buf, p); err != nil {
			continue
		}
		var m []artifact.Match
		m, err = sc.Scan(ctx, buf, rules.Variables{FileName: filepath.Base(p), FilePath: p})
		if err != nil {
			err = fmt.Errorf("scanning %s: %w", p, err)
			continue
		}
		matches += len(m)
	}
	return matches, err
}

// readInto reads file p into buf, grown when p is larger, and returns the
// bytes read.
func readInto(buf []byte, p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return buf, err
	}
	if n := int(info.Size()); cap(buf) < n {
		buf = make([]byte, n)
	}
	n, err := io.ReadFull(f, buf[:info.Size()])
	if err != nil {
		return buf, fmt.Errorf("reading %s: %w", p, err)
	}
	return buf[:n], nil
}

// large: one generated ZIP of PEs (stored, so its bytes are the PEs') scanned
// by tomscan, by yara over the file, and hashed by sha256sum.
func large(c *config, t *table) {
	w := filepath.Join(c.work, "large")
	if err := os.MkdirAll(w, 0o755); err != nil {
		t.fail("large", err)
		return
	}
	z := filepath.Join(w, fmt.Sprintf("pes-%dMiB.zip", c.largeMB))
	fmt.Fprintf(os.Stderr, "large: writing %s\n", z)
	from := c.largeFrom
	if from == "" {
		from = filepath.Join(c.real, "files")
	}
	if err := makeZip(z, from, int64(c.largeMB)<<20); err != nil {
		t.fail("large", err)
		return
	}
	defer os.Remove(z)
	// The rounds would otherwise begin while the kernel writes the new
	// file out: the first round's commands ran up to 60% slower
	// (`sha256sum` 3.88 s against 2.47 s) than the same ones after it.
	if err := settle(z); err != nil {
		t.fail("large", err)
		return
	}
	info, _ := os.Stat(z)
	ruleFiles, _ := filepath.Glob(filepath.Join(c.repo, "rules", "*.yar"))
	yaraArgv := []string{"yara", "-w", "-d", "filename=x", "-d", "filepath=x", "-d", "filetype=x",
		"-d", "parent_filetype=x", "-d", "extractor=x", "-d", "depth=0"}
	yaraArgv = append(append(yaraArgv, ruleFiles...), z)
	med, rss, err := interleave(c.n,
		c.tomscanScan("tomscan (large ZIP)", filepath.Join(w, "out"), true, nil, z),
		cmd{name: "yara (large ZIP)", argv: yaraArgv, ok: exitOK(1)},
		cmd{name: "sha256sum (large ZIP)", argv: []string{"sha256sum", z}},
	)
	if err != nil {
		t.fail("large", err)
		return
	}
	mb := float64(info.Size()) / 1e6
	r := med[0].Seconds() / med[1].Seconds()
	t.add(fmt.Sprintf("large ZIP %.0f MB: tomscan/yara", mb), fmt.Sprintf("%.2f (%s / %s; tomscan %.0f MB/s, peak RSS %.0f MB; sha256sum %s)",
		r, secs(med[0]), secs(med[1]), mb/med[0].Seconds(), float64(rss[0])/1e6, secs(med[2])), "<= 3", ptr(r <= 3))
}

// settle puts a file just written on disk and reads it once, so that every
// command measured over it finds it the same way: on disk and in the page
// cache, with no writeback under way.
func settle(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("settle %s: %w", path, err)
	}
	if _, err := io.Copy(io.Discard, f); err != nil {
		return fmt.Errorf("settle %s: %w", path, err)
	}
	return nil
}

// makeZip writes a stored ZIP of the PEs under dir (sorted, repeated under
// new names) until it holds size bytes.
func makeZip(path, dir string, size int64) error {
	var pes []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		var h [2]byte
		if _, err := io.ReadFull(f, h[:]); err == nil && string(h[:]) == "MZ" {
			pes = append(pes, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(pes) == 0 {
		return fmt.Errorf("no PE under %s", dir)
	}
	sort.Strings(pes)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	var total int64
	for i := 0; total < size; i++ {
		p := pes[i%len(pes)]
		b, err := os.ReadFile(p)
		if err != nil {
			f.Close()
			return err
		}
		hw, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("%d/%s", i/len(pes), filepath.Base(p)), Method: zip.Store})
		if err != nil {
			f.Close()
			return err
		}
		if _, err := hw.Write(b); err != nil {
			f.Close()
			return err
		}
		total += int64(len(b))
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func jobs(c *config, t *table, self string) {
	in := filepath.Join(c.corpus, "builds")
	w := filepath.Join(c.work, "jobs")
	cmds := []cmd{
		c.tomscanScan("tomscan --jobs 1", filepath.Join(w, "j1"), true, []string{"--jobs", "1"}, in),
		c.tomscanScan("tomscan --jobs 2", filepath.Join(w, "j2"), true, []string{"--jobs", "2"}, in),
	}
	// For reference, what the machine gives the same work split with no
	// sharing at all: the builds' two shards, each scanned by a --jobs 1
	// process of its own into its own archive, side by side (as two
	// machines would, on one).
	shards := c.supports("shard")
	if shards {
		cmds = append(cmds, sideBySide("2 shards side by side",
			c.tomscanScan("shard 0/2", filepath.Join(w, "s0"), true, []string{"--jobs", "1", "--shard", "0/2"}, in),
			c.tomscanScan("shard 1/2", filepath.Join(w, "s1"), true, []string{"--jobs", "1", "--shard", "1/2"}, in)))
	}
	// And what it gives work that is almost all user space: tomscan's own
	// string extraction and hashing over the same PEs (computeLoad), once,
	// and twice at once. On a virtual machine whose two cores share a
	// physical one, or a busy host, two at once take longer than one: the
	// ceiling for --jobs 2 at the time of the run.
	loadDir := filepath.Join(c.real, "files")
	if c.real == "" {
		loadDir = in
	}
	load := cmd{name: "compute load", argv: []string{self, "-compute", loadDir}}
	cmds = append(cmds, load, sideBySide("compute load twice at once", load, load))
	// And work that is all kernel: starting processes, as tomscan's
	// workers do for 7z, innoextract and prlimit (a first scan of the
	// synthetic corpus starts 32, and execs 16 more).
	spawn := cmd{name: "process starts", argv: []string{self, "-spawn", strconv.Itoa(spawnCount)}}
	cmds = append(cmds, spawn, sideBySide("process starts twice at once", spawn, spawn))
	med, _, cpu, err := interleaveCPU(c.n, cmds...)
	if err != nil {
		t.fail("jobs", err)
		return
	}
	s := med[0].Seconds() / med[1].Seconds()
	// The cores each used (CPU over wall): --jobs 1 is one worker, but the
	// parent archives beside it and the unpacking tools run as processes
	// of their own, so on 2 cores the speed-up cannot pass 2 / its cores.
	cores := func(i int) float64 { return cpu[i].Seconds() / med[i].Seconds() }
	t.add("--jobs 2 speed-up over --jobs 1", fmt.Sprintf("%.2fx (%s / %s; cores used %.2f / %.2f; CPU %s / %s)", s, secs(med[0]), secs(med[1]), cores(0), cores(1), secs(cpu[0]), secs(cpu[1])), ">= 1.7x", ptr(s >= 1.7))
	if shards {
		t.add("two shards side by side (--shard i/2 --jobs 1 each) over --jobs 1, for reference",
			fmt.Sprintf("%.2fx (%s / %s; cores used %.2f; CPU %s)", med[0].Seconds()/med[2].Seconds(), secs(med[0]), secs(med[2]), cores(2), secs(cpu[2])), "", nil)
	}
	twice := func(name string, one int) {
		two := one + 1
		t.add(name, fmt.Sprintf("%.2fx (one %s, two at once %s; CPU %s / %s)",
			2*med[one].Seconds()/med[two].Seconds(), secs(med[one]), secs(med[two]), secs(cpu[one]), secs(cpu[two])), "", nil)
	}
	twice("machine: compute load twice at once over once (throughput), for reference", len(cmds)-4)
	twice(fmt.Sprintf("machine: %d process starts twice at once over once (throughput), for reference", spawnCount), len(cmds)-2)
}

// spawnCount is how many processes the process-start load starts.
const spawnCount = 300

// spawnLoad starts /bin/true n times, one after the other, the way
// tomscan starts its unpacking tools (os/exec).
func spawnLoad(n int) error {
	for i := 0; i < n; i++ {
		if err := exec.Command("/bin/true").Run(); err != nil {
			return fmt.Errorf("spawn load: %w", err)
		}
	}
	return nil
}

// The compute load: computeRounds passes over the first computeBytes of
// PEs under a folder, each pass extracting their strings (all three
// encodings) and hashing them with MD5 and SHA-256, as tomscan does to
// every node. About 0.9 s on the machine the README quotes.
const (
	computeBytes  = 8 << 20
	computeRounds = 12
)

// computeLoad runs the compute load and returns the strings it counted
// (plus a bit of each digest), so that the work cannot be optimised away
// and a test can see it done. Reading the files (8 MiB) is small beside
// the passes over them (96 MiB).
func computeLoad(dir string, maxBytes int64, rounds int) (int, error) {
	var pes [][]byte
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if total >= maxBytes {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 2 || string(b[:2]) != "MZ" {
			return nil
		}
		if int64(len(b)) > maxBytes-total {
			b = b[:maxBytes-total]
		}
		pes = append(pes, b)
		total += int64(len(b))
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(pes) == 0 {
		return 0, fmt.Errorf("compute load: no PE under %s", dir)
	}
	n := 0
	for r := 0; r < rounds; r++ {
		for _, b := range pes {
			n += pe.ExtractStrings(context.Background(), b, pe.StringOptions{MinLength: 4}).Count
			m, h := md5.Sum(b), sha256.Sum256(b)
			n += int(m[0]&1) + int(h[0]&1)
		}
	}
	return n, nil
}

// supports reports whether the binary accepts a scan flag.
func (c *config) supports(flagName string) bool {
	out, _ := exec.Command(c.tomscan, "scan", "-h").CombinedOutput()
	return strings.Contains(string(out), "--"+flagName+" ") || strings.Contains(string(out), "--"+flagName+"\n")
}

// rescan: the synthetic corpus scanned into a fresh archive with a fresh
// node cache, then again unchanged, then again with one more rule file.
func rescan(c *config, t *table) {
	const na = "n/a (flag not supported)"
	if !c.supports("cache") {
		t.add("rescan of an unchanged archive/first scan", na, "<= 0.05", nil)
		t.add("rules-only rescan/first scan", na, "<= 0.30", nil)
		return
	}
	in := filepath.Join(c.corpus, "builds")
	w := filepath.Join(c.work, "rescan")
	extra := filepath.Join(w, "extra-rules")
	if err := os.MkdirAll(extra, 0o755); err != nil {
		t.fail("rescan", err)
		return
	}
	rule := "rule BenchE2E_Extra { strings: $a = \"bench-e2e-extra-rule\" condition: $a }\n"
	if err := os.WriteFile(filepath.Join(extra, "extra.yar"), []byte(rule), 0o644); err != nil {
		t.fail("rescan", err)
		return
	}
	var first, again, rulesOnly []time.Duration
	for r := 0; r < c.n; r++ {
		out, cache := filepath.Join(w, "out"), filepath.Join(w, "cache")
		os.RemoveAll(out)
		os.RemoveAll(cache)
		flags := []string{"--cache", cache}
		steps := []struct {
			name  string
			extra []string
			into  *[]time.Duration
		}{
			{"first scan", flags, &first},
			{"rescan (unchanged)", flags, &again},
			{"rescan (one more rule file)", append(append([]string{}, flags...), "--rules", extra), &rulesOnly},
		}
		for _, s := range steps {
			res := exec1(c.tomscanScan(s.name, out, false, s.extra, in))
			if res.err != nil {
				t.fail("rescan", res.err)
				return
			}
			*s.into = append(*s.into, res.wall)
			fmt.Fprintf(os.Stderr, "  round %d: %-28s %8.2fs\n", r+1, s.name, res.wall.Seconds())
		}
	}
	f, a, ro := median(first), median(again), median(rulesOnly)
	r1, r2 := a.Seconds()/f.Seconds(), ro.Seconds()/f.Seconds()
	t.add("rescan of an unchanged archive/first scan", fmt.Sprintf("%.3f (%s / %s)", r1, secs(a), secs(f)), "<= 0.05", ptr(r1 <= 0.05))
	t.add("rules-only rescan/first scan", fmt.Sprintf("%.3f (%s / %s)", r2, secs(ro), secs(f)), "<= 0.30", ptr(r2 <= 0.30))
}

// rssSeries: peak RSS of a one-build scan into archives of growing size. The
// archive is the synthetic corpus's, its reports copied under new keys until
// it holds the wanted number of builds; a first one-build scan (untimed)
// brings the index up to date, the second is measured.
func rssSeries(c *config, t *table) {
	w := filepath.Join(c.work, "rss")
	seed := filepath.Join(w, "seed")
	in := filepath.Join(c.corpus, "builds")
	if r := exec1(c.tomscanScan("seed archive", seed, true, nil, in)); r.err != nil {
		t.fail("rss", r.err)
		return
	}
	ents, err := os.ReadDir(in)
	if err != nil || len(ents) < 2 {
		t.fail("rss", fmt.Errorf("corpus builds: %v", err))
		return
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	warm, probe := filepath.Join(in, names[0]), filepath.Join(in, names[1])
	var peaks []int64
	for _, n := range c.rssSizes {
		out := filepath.Join(w, fmt.Sprintf("archive-%d", n))
		if err := replicate(seed, out, n); err != nil {
			t.fail("rss", err)
			return
		}
		if r := exec1(c.tomscanScan("warm-up scan", out, false, nil, warm)); r.err != nil {
			t.fail("rss", r.err)
			return
		}
		var best int64
		var walls []time.Duration
		for r := 0; r < c.n; r++ {
			res := exec1(c.tomscanScan("one-build scan", out, false, []string{"--rescan"}, probe))
			if res.err != nil && strings.Contains(res.stderr, "flag provided but not defined") {
				res = exec1(c.tomscanScan("one-build scan", out, false, nil, probe))
			}
			if res.err != nil {
				t.fail("rss", res.err)
				return
			}
			best = max(best, res.maxRSS)
			walls = append(walls, res.wall)
		}
		peaks = append(peaks, best)
		rows, _ := exec.Command(c.tomscan, "query", "--out", out, "--sql", "SELECT count(*) AS n FROM builds").CombinedOutput()
		fmt.Fprintf(os.Stderr, "  %d builds: peak RSS %.0f MB, %s; index: %s\n", n, float64(best)/1e6, secs(median(walls)), strings.Join(strings.Fields(string(rows)), " "))
		t.add(fmt.Sprintf("peak RSS, one build into %d archived", n), fmt.Sprintf("%.0f MB (%s)", float64(best)/1e6, secs(median(walls))), "", nil)
		os.RemoveAll(out)
	}
	if len(peaks) > 1 && peaks[0] > 0 {
		r := float64(peaks[len(peaks)-1]) / float64(peaks[0])
		t.add(fmt.Sprintf("peak RSS %d/%d builds", c.rssSizes[len(c.rssSizes)-1], c.rssSizes[0]), fmt.Sprintf("%.2f", r), "0.8-1.2 (flat)", ptr(r >= 0.8 && r <= 1.2))
	}
}

// replicate copies the seed archive's reports under new keys (the sha256 of
// the old key and a counter, replaced wherever the report names it) until
// out holds n builds.
func replicate(seed, out string, n int) error {
	os.RemoveAll(out)
	keys, err := os.ReadDir(filepath.Join(seed, "builds"))
	if err != nil {
		return err
	}
	type rep struct {
		key  string
		body []byte
	}
	var reps []rep
	for _, k := range keys {
		b, err := os.ReadFile(filepath.Join(seed, "builds", k.Name(), "report.json"))
		if err != nil {
			continue
		}
		reps = append(reps, rep{k.Name(), b})
	}
	if len(reps) == 0 {
		return fmt.Errorf("no reports in %s", seed)
	}
	for i := 0; i < n; i++ {
		r := reps[i%len(reps)]
		key := r.key
		body := r.body
		if i >= len(reps) {
			h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", r.key, i)))
			key = hex.EncodeToString(h[:])
			body = []byte(strings.ReplaceAll(string(r.body), r.key, key))
		}
		d := filepath.Join(out, "builds", key)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, "report.json"), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}
