package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/registry"
	"github.com/tomscan/tomscan/internal/worker"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/rules"
)

// The test binary is its own worker program: started with workerEnv set, it
// serves builds like `tomscan __worker`, with crashHook installed.
const workerEnv = "TOMSCAN_PIPELINE_TEST_WORKER"

// crashMagic starts an input that makes the worker misbehave: the rest of
// the first line says how.
const crashMagic = "TOMSCAN-TEST-CRASH:"

var hog [][]byte

func crashHook(path string) {
	b := make([]byte, 64)
	f, err := os.Open(path)
	if err != nil {
		return
	}
	n, _ := f.Read(b)
	f.Close()
	how, ok := strings.CutPrefix(string(b[:n]), crashMagic)
	if !ok {
		return
	}
	how, _, _ = strings.Cut(how, "\n")
	switch how {
	case "exit": // a library calling os.Exit
		os.Exit(9)
	case "segv": // a segfault in C code (libyara) or in Go
		syscall.Kill(os.Getpid(), syscall.SIGSEGV)
	case "kill": // the kernel's OOM killer
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case "oom": // a header declaring 4 GiB, allocated before any check
		hog = append(hog, make([]byte, 4<<30))
	case "hang": // C code that never sees the deadline
		time.Sleep(time.Hour)
	case "slow":
		time.Sleep(3 * time.Second)
		return
	}
	time.Sleep(time.Minute)
}

// workerSpec is what the test's workers build their config from.
type workerSpec struct {
	Limits       limits.Limits `json:"limits"`
	KeywordLists string        `json:"keyword_lists"`
	FrozenRules  []byte        `json:"frozen_rules"` // as tomscan's workers get them
	Preparer     string        `json:"preparer"`     // testPreparer's mode; "": none
	ConfineCores bool          `json:"confine_cores"`
}

func specOf(t testing.TB, cfg pipeline.Config) []byte {
	t.Helper()
	frozen, err := cfg.Rules.Freeze()
	if err != nil {
		t.Fatal(err)
	}
	ws := workerSpec{Limits: cfg.Limits, KeywordLists: cfg.TOM.KeywordListsDir, FrozenRules: frozen, ConfineCores: cfg.ConfineCores}
	if p, ok := cfg.Preparer.(testPreparer); ok {
		ws.Preparer = string(p)
	}
	spec, err := json.Marshal(ws)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		pipeline.SetTestHook(crashHook)
		pipeline.SetAfterReadHook(rewriteHook)
		err := worker.Serve(context.Background(), func(raw []byte) (worker.Handler, error) {
			var s workerSpec
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			cfg, err := baseConfig(s)
			if err != nil {
				return nil, err
			}
			return pipeline.WorkerHandler(cfg)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// baseConfig is pipelinetest.Config without a testing.T, for the worker,
// with the parent's compiled rules.
func baseConfig(s workerSpec) (pipeline.Config, error) {
	src, err := rules.Builtin()
	if err != nil {
		return pipeline.Config{}, err
	}
	set, err := rules.Thaw(s.FrozenRules, src)
	if err != nil {
		return pipeline.Config{}, err
	}
	cfg := pipeline.Config{
		Limits: s.Limits, Rules: set, Engine: unpack.New(registry.All(), registry.Tools()),
		TOM: tom.Options{KeywordListsDir: s.KeywordLists}, ConfineCores: s.ConfineCores,
	}
	if s.Preparer != "" {
		cfg.Preparer = testPreparer(s.Preparer)
	}
	return cfg, nil
}

// isolated turns the default test config into an isolated one whose workers
// are this test binary.
func isolated(t *testing.T, cfg pipeline.Config, maxMem int64) pipeline.Config {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Isolation = &pipeline.Isolation{
		Path: exe, Args: []string{"-test.run=^$"}, Env: append(os.Environ(), workerEnv+"=1"),
		Spec: specOf(t, cfg), MaxMemory: maxMem,
	}
	return cfg
}

// corpusSample is every fourth corpus build: each wrapper and toolchain.
func corpusSample(t *testing.T) []string {
	t.Helper()
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS not set (make corpus)")
	}
	files, err := filepath.Glob(filepath.Join(dir, "builds", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus builds in %s: %v", dir, err)
	}
	sort.Strings(files)
	var out []string
	for i := 0; i < len(files); i += 4 {
		out = append(out, files[i])
	}
	return out
}

// pages is one build's three encodings, as the archive holds them.
type pages struct{ json, md, html []byte }

func scanAll(t *testing.T, cfg pipeline.Config, dir string) (map[string]pages, map[string]pipeline.Result) {
	t.Helper()
	got := map[string]pages{}
	results := map[string]pipeline.Result{}
	pipelinetest.Scan(t, cfg, []string{dir}, func(r pipeline.Result) {
		js := r.JSON
		if js == nil {
			var err error
			if js, err = reports.EncodeJSON(r.Report); err != nil {
				t.Fatal(err)
			}
		}
		h, err := reports.EncodeHTML(r.Report)
		if err != nil {
			t.Fatal(err)
		}
		ref := r.Build.Inputs[0].Ref
		got[ref] = pages{js, reports.EncodeMarkdown(r.Report), h}
		results[ref] = r
	})
	return got, results
}

func linkAll(t *testing.T, files []string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "in")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func samePages(t *testing.T, what string, a, b map[string]pages) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d builds vs %d", what, len(a), len(b))
	}
	for ref, pa := range a {
		pb, ok := b[ref]
		switch {
		case !ok:
			t.Errorf("%s: %s missing", what, ref)
		case !bytes.Equal(pa.json, pb.json):
			t.Errorf("%s: %s: report.json differs", what, ref)
		case !bytes.Equal(pa.md, pb.md):
			t.Errorf("%s: %s: report.md differs", what, ref)
		case !bytes.Equal(pa.html, pb.html):
			t.Errorf("%s: %s: report.html differs", what, ref)
		}
	}
}

// TestIsolatedReportsAreByteIdentical: a build scanned in a worker gives the
// same report.json, report.md and report.html, byte for byte, as in
// process, at one and at two jobs.
func TestIsolatedReportsAreByteIdentical(t *testing.T) {
	dir := linkAll(t, corpusSample(t))
	base := pipelinetest.Config(t)
	here, _ := scanAll(t, base, dir)
	for _, jobs := range []int{1, 2} {
		cfg := isolated(t, base, 2<<30)
		cfg.Jobs = jobs
		got, results := scanAll(t, cfg, dir)
		for ref, r := range results {
			if r.JSON == nil {
				t.Fatalf("-j%d: %s was not scanned by a worker", jobs, ref)
			}
		}
		samePages(t, fmt.Sprintf("isolated -j%d vs in process", jobs), here, got)
	}
}

// TestWorkersRunOnTheirCores: a worker that confines its builds runs each
// on the cores the lane budget gave it, so --jobs N uses N cores: with one
// core, one; with three and one job, the walk and two lanes; with two jobs
// on two cores, one each while both are busy.
func TestWorkersRunOnTheirCores(t *testing.T) {
	sample := corpusSample(t)[:4]
	dir := linkAll(t, sample)
	for _, c := range []struct{ jobs, cores, want int }{{1, 1, 1}, {1, 3, 3}, {2, 2, 1}} {
		cfg := pipelinetest.Config(t)
		cfg.ConfineCores = true
		cfg = isolated(t, cfg, 2<<30)
		cfg.Jobs, cfg.Cores = c.jobs, c.cores
		_, results := scanAll(t, cfg, dir)
		counts := map[int]int{}
		for _, r := range results {
			counts[r.Stats.Cores]++
		}
		// With two jobs the last build may run alone: it then has both cores.
		alone := 0
		if c.jobs > 1 {
			alone = counts[c.cores]
		}
		if counts[c.want] == 0 || counts[c.want]+alone != len(sample) {
			t.Errorf("jobs %d, cores %d: builds by cores they ran on %v, want %d", c.jobs, c.cores, counts, c.want)
		}
	}
}

// TestSpawnedWorkersServe: workers spawned ahead of the run (one alive,
// one that died before the run) are taken by the slots: the live one is
// set up and serves, the dead one is replaced by a worker started as
// usual; the reports are those of the scan in process.
func TestSpawnedWorkersServe(t *testing.T) {
	dir := linkAll(t, corpusSample(t))
	base := pipelinetest.Config(t)
	here, _ := scanAll(t, base, dir)
	cfg := isolated(t, base, 2<<30)
	cfg.Jobs = 2
	iso := *cfg.Isolation
	o := worker.Options{Path: iso.Path, Args: iso.Args, Env: iso.Env, MaxMemory: iso.MaxMemory}
	live, err := worker.Spawn(o)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := worker.Spawn(o)
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(dead.Pid(), syscall.SIGKILL)
	iso.Spawned = make(chan *worker.Process, 2)
	iso.Spawned <- dead
	iso.Spawned <- live
	cfg.Isolation = &iso
	got, results := scanAll(t, cfg, dir)
	for ref, r := range results {
		if r.JSON == nil {
			t.Fatalf("%s was not scanned by a worker", ref)
		}
	}
	samePages(t, "spawned workers vs in process", here, got)
	if n := len(iso.Spawned); n != 0 {
		t.Errorf("%d spawned workers left untaken by two slots", n)
	}
}

// TestWorkerCrashCostsOneBuild: among good builds, inputs that make the
// worker exit, segfault, get killed, or allocate past the memory cap each
// give one failed report with a worker-crashed issue; every other report is
// exactly what an undisturbed scan gives.
func TestWorkerCrashCostsOneBuild(t *testing.T) {
	sample := corpusSample(t)
	good := linkAll(t, sample)
	base := pipelinetest.Config(t)
	want, _ := scanAll(t, base, good)

	mixed := linkAll(t, sample)
	crashes := map[string]string{
		"crash-exit.bin": "exit status 9",
		"crash-segv.bin": "SIGSEGV",
		"crash-kill.bin": "signal: killed",
		"crash-oom.bin":  "out of memory",
	}
	if !worker.MemoryCapWorks {
		delete(crashes, "crash-oom.bin") // no cap under the race detector
	}
	for name := range crashes {
		how := strings.TrimSuffix(strings.TrimPrefix(name, "crash-"), ".bin")
		if err := os.WriteFile(filepath.Join(mixed, name), []byte(crashMagic+how+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := isolated(t, base, 1<<30)
	cfg.Jobs = 2
	// A crashing build often has the next one waiting behind it in its
	// worker (sent ahead): lost with the worker, it must be scanned by the
	// next one as if nothing had happened.
	var ahead, again atomic.Int32
	pipeline.SetTestAhead(func(what string) {
		if what == "ahead" {
			ahead.Add(1)
		} else {
			again.Add(1)
		}
	})
	defer pipeline.SetTestAhead(nil)
	got, results := scanAll(t, cfg, mixed)
	if ahead.Load() == 0 || again.Load() == 0 {
		t.Errorf("%d builds sent ahead, %d of them lost with a crashed worker: the test shows nothing of a crash with a build behind it", ahead.Load(), again.Load())
	}
	for name, cause := range crashes {
		ref := "in/" + name
		r, ok := results[ref]
		if !ok {
			t.Errorf("%s: no result", name)
			continue
		}
		delete(got, ref)
		if r.Report.Status != reports.StatusFailed {
			t.Errorf("%s: status %s, want failed", name, r.Report.Status)
		}
		is := r.Report.Tree.Issues
		if len(is) != 1 || is[0].Kind != artifact.KindWorkerCrashed || !strings.Contains(is[0].Message, cause) || !strings.Contains(is[0].Message, "peak memory") {
			t.Errorf("%s: issues %+v, want one worker-crashed naming %q and the peak memory", name, is, cause)
		}
		if r.Report.Build.SHA256 == "" || r.Report.Build.Size == 0 {
			t.Errorf("%s: the crashed build's identity is missing: %+v", name, r.Report.Build)
		}
	}
	samePages(t, "good builds beside crashing ones", want, got)
}

// TestHungWorkerIsKilled: a worker that never answers (stuck in C code that
// does not see the deadline) is killed at the build timeout plus the grace,
// and the build fails with worker-crashed.
func TestHungWorkerIsKilled(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hang.bin"), []byte(crashMagic+"hang\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pipeline.SetWorkerGrace(time.Second)
	defer pipeline.SetWorkerGrace(time.Minute)
	cfg := pipelinetest.Config(t)
	cfg.Limits.BuildTimeout = time.Second
	cfg = isolated(t, cfg, 0)
	start := time.Now()
	_, results := scanAll(t, cfg, dir)
	r := results[filepath.Base(dir)+"/hang.bin"]
	if r.Report == nil || r.Report.Status != reports.StatusFailed || !strings.Contains(r.Report.StatusReason, "no answer within 2s") {
		t.Fatalf("hung build: %+v", r.Report)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %s", d)
	}
}

// TestInterruptedBuildsAreNotResults: cancelling the run while builds are in
// flight gives Interrupted results without a report, in process and in
// workers, and Run returns the cancellation.
func TestInterruptedBuildsAreNotResults(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 4; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("slow%d.bin", i)), []byte(fmt.Sprintf("%sslow\n%d", crashMagic, i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, iso := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolated=%v", iso), func(t *testing.T) {
			cfg := pipelinetest.Config(t)
			if iso {
				cfg = isolated(t, cfg, 0)
			} else {
				pipeline.SetTestHook(crashHook)
				defer pipeline.SetTestHook(nil)
			}
			inputs, _, err := pipeline.Discover([]string{dir}, pipeline.DiscoverOptions{})
			if err != nil {
				t.Fatal(err)
			}
			builds, _, err := pipeline.Group(context.Background(), inputs)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			var interrupted, reported int
			err = pipeline.Run(ctx, cfg, builds, func(r pipeline.Result) {
				if r.Interrupted && r.Report == nil {
					interrupted++
				}
				if r.Report != nil {
					reported++
				}
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
			if interrupted != 2 || reported != 0 {
				t.Errorf("%d interrupted, %d reported; want the 2 in flight interrupted and none reported", interrupted, reported)
			}
		})
	}
}

// BenchmarkIsolationOverhead scans the whole synthetic corpus in process and
// in worker processes (fresh workers each time, as a scan starts them), two
// jobs each, and reports both wall times and the overhead of isolation in
// percent (target: at most 10).
func BenchmarkIsolationOverhead(b *testing.B) {
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		b.Skip("TOMSCAN_CORPUS not set (make corpus)")
	}
	base := pipelinetest.Config(b)
	spec := specOf(b, base)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	iso := base
	iso.Isolation = &pipeline.Isolation{Path: exe, Args: []string{"-test.run=^$"}, Env: append(os.Environ(), workerEnv+"=1"), Spec: spec, MaxMemory: 2 << 30}
	ctx := context.Background()
	inputs, _, err := pipeline.Discover([]string{filepath.Join(dir, "builds")}, pipeline.DiscoverOptions{})
	if err != nil {
		b.Fatal(err)
	}
	builds, _, err := pipeline.Group(ctx, inputs)
	if err != nil {
		b.Fatal(err)
	}
	scan := func(cfg pipeline.Config) time.Duration {
		start := time.Now()
		n := 0
		if err := pipeline.Run(ctx, cfg, builds, func(r pipeline.Result) {
			if r.Report == nil {
				return
			}
			n++
			// What a scan does with every result either way: the JSON
			// record (a worker's comes encoded) and the pages.
			if r.JSON == nil {
				if _, err := reports.EncodeJSON(r.Report); err != nil {
					b.Fatal(err)
				}
			}
			reports.EncodeMarkdown(r.Report)
			if _, err := reports.EncodeHTML(r.Report); err != nil {
				b.Fatal(err)
			}
		}); err != nil || n != len(builds) {
			b.Fatalf("scan: %d of %d reports, %v", n, len(builds), err)
		}
		return time.Since(start)
	}
	var here, isolated time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		here += scan(base)
		isolated += scan(iso)
	}
	b.ReportMetric(here.Seconds()/float64(b.N), "s-in-process/op")
	b.ReportMetric(isolated.Seconds()/float64(b.N), "s-isolated/op")
	b.ReportMetric(100*(isolated.Seconds()-here.Seconds())/here.Seconds(), "overhead-%")
}
