package hostile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KillOptions say how a kill campaign runs: N builds scanned once without
// interruption (the reference), then the same scan killed with SIGKILL at
// Points random moments, each kill followed by a rerun (which is itself the
// next one killed), and a last rerun left to finish. The archive it ends
// with must equal the reference file for file, byte for byte (reports,
// pages, index.html and index.sqlite), with nothing left in scratch and no
// process of the killed runs alive.
type KillOptions struct {
	Tomscan string
	Builds  []Build // the corpus; copies past its size get a distinct tail
	N       int     // builds scanned
	Points  int     // kills
	Seed    uint64  // the kill moments; printed so a failure can be rerun
	Work    string
	Jobs    int
	Timeout time.Duration // per run
	Log     io.Writer
	// In, when set, is a folder of inputs to scan instead of Builds and N;
	// Reference, when set, is the uninterrupted archive of them (file ->
	// sha256, as Digests gives it), RefTime how long it took and RefCode its
	// exit code: the campaign then does not scan it again.
	In        string
	Reference map[string]string
	RefTime   time.Duration
	RefCode   int
}

// Kill is one kill: when it came, and what was on disk.
type Kill struct {
	After   time.Duration // since the run started
	Reports int           // report.json files this run had written at the kill
	Done    bool          // the run had already finished: nothing was killed
}

// KillResult is a kill campaign's outcome.
type KillResult struct {
	Seed       uint64
	Builds     int
	Reference  time.Duration // the uninterrupted scan
	Kills      []Kill
	Compared   int      // files compared with the reference
	Mismatches []string // files that differ, are missing or extra
	Leftovers  []string // scratch entries and processes left behind
}

// Failed tells whether a target was missed.
func (r *KillResult) Failed() bool { return len(r.Mismatches) > 0 || len(r.Leftovers) > 0 }

// String is the campaign's table.
func (r *KillResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kill -9 campaign: %d builds, seed %d, reference scan %s\n", r.Builds, r.Seed, r.Reference.Round(time.Millisecond))
	fmt.Fprintf(&b, "%-5s  %10s  %8s\n", "kill", "after", "reports")
	for i, k := range r.Kills {
		note := ""
		if k.Done {
			note = "  (the run had finished)"
		}
		fmt.Fprintf(&b, "%-5d  %10s  %8d%s\n", i+1, k.After.Round(time.Millisecond), k.Reports, note)
	}
	fmt.Fprintf(&b, "final archive: %d files compared with the uninterrupted scan, %d differ; left behind: %d\n", r.Compared, len(r.Mismatches), len(r.Leftovers))
	for _, m := range r.Mismatches {
		fmt.Fprintf(&b, "  differs: %s\n", m)
	}
	for _, l := range r.Leftovers {
		fmt.Fprintf(&b, "  left: %s\n", l)
	}
	return b.String()
}

// KillBuilds writes n builds into dir: the corpus builds as they are, and
// past its size copies with a tail naming the copy (a distinct sha256, so
// a distinct build), cycling through the smaller half of the corpus so that
// a scan of thousands stays minutes long.
func KillBuilds(dir string, builds []Build, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	small := slices.Clone(builds)
	sort.SliceStable(small, func(i, j int) bool { return len(small[i].Data) < len(small[j].Data) })
	small = small[:max(1, len(small)/2)]
	for i := 0; i < n; i++ {
		b := builds[i%len(builds)]
		data, name := b.Data, b.ID+ext(b.ID)
		if i >= len(builds) {
			b = small[i%len(small)]
			name = b.ID + ext(b.ID)
			data = append(bytes.Clone(b.Data), fmt.Sprintf("\ntomscan kill campaign copy %06d\n", i)...)
			name = fmt.Sprintf("%06d-%s", i, name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("kill: write build: %w", err)
		}
	}
	return nil
}

// RunKill runs a kill campaign (KillOptions).
func RunKill(ctx context.Context, o KillOptions) (*KillResult, error) {
	if o.Jobs <= 0 {
		o.Jobs = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	res := &KillResult{Seed: o.Seed, Builds: o.N}
	in, ref, out, scratch := filepath.Join(o.Work, "in"), filepath.Join(o.Work, "ref"), filepath.Join(o.Work, "out"), filepath.Join(o.Work, "scratch")
	if o.In != "" {
		in = o.In
	} else if err := KillBuilds(in, o.Builds, o.N); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, fmt.Errorf("kill: %w", err)
	}
	args := func(archive string) []string {
		return []string{"scan", in, "--out", archive, "--scratch", scratch, "--quiet", "--jobs", strconv.Itoa(o.Jobs)}
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "kill campaign: "+format+"\n", a...)
		}
	}
	want, refCode := o.Reference, o.RefCode
	res.Reference = o.RefTime
	if want == nil {
		begin := time.Now()
		code, err := runToEnd(ctx, o, args(ref))
		if err != nil {
			return nil, err
		}
		res.Reference, refCode, want = time.Since(begin), code, Digests(ref)
		logf("reference scan of %d builds: exit %d, %s", o.N, refCode, res.Reference.Round(time.Millisecond))
	}

	r := rand.New(rand.NewPCG(o.Seed, 0x6b696c6c))
	for i := 0; i < o.Points; i++ {
		// Anywhere in the run, its start-up and its index flush included.
		// A rerun has only what is not archived yet to scan (archived
		// builds are reused), so the moment is drawn over the reference
		// time scaled by that share: a kill should find work in flight,
		// not a finished run.
		after := time.Duration(float64(res.Reference) * remainingShare(out, o.N) * (0.02 + 0.96*r.Float64()))
		k, err := killAt(ctx, o, args(out), out, after)
		if err != nil {
			return nil, err
		}
		res.Kills = append(res.Kills, k)
		logf("kill %d at %s: %d reports on disk", i+1, after.Round(time.Millisecond), k.Reports)
		if left := alive(o.Tomscan, o.Work); left > 0 {
			res.Leftovers = append(res.Leftovers, fmt.Sprintf("%d processes alive after kill %d", left, i+1))
		}
	}
	code, err := runToEnd(ctx, o, args(out))
	if err != nil {
		return nil, err
	}
	if code != refCode {
		res.Mismatches = append(res.Mismatches, fmt.Sprintf("final rerun: exit %d, the uninterrupted scan's %d", code, refCode))
	}
	got := Digests(out)
	res.Compared = len(want)
	var names []string
	for k := range want {
		names = append(names, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		switch w, g := want[k], got[k]; {
		case g == "":
			res.Mismatches = append(res.Mismatches, k+": missing")
		case w == "":
			res.Mismatches = append(res.Mismatches, k+": extra")
		case w != g:
			res.Mismatches = append(res.Mismatches, k+": differs")
		}
	}
	if n, files := treeSize(scratch); files > 0 {
		res.Leftovers = append(res.Leftovers, fmt.Sprintf("%d bytes in %d scratch entries: %s", n, files, strings.Join(entryNames(scratch, 5), ", ")))
	}
	if left := alive(o.Tomscan, o.Work); left > 0 {
		res.Leftovers = append(res.Leftovers, fmt.Sprintf("%d processes alive after the final run", left))
	}
	return res, nil
}

// runToEnd runs one scan to its end and returns its exit code (0 or 1: a
// scan that found something; anything else is an error).
func runToEnd(ctx context.Context, o KillOptions, args []string) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, o.Tomscan, args...)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, fmt.Errorf("kill: run tomscan: %w", err)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 && code != 1 {
		return code, fmt.Errorf("kill: tomscan %s: exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr.String()))
	}
	return cmd.ProcessState.ExitCode(), nil
}

// killAt starts a scan and sends its process (not its group: the workers
// and tools must go by themselves, as after an OOM kill) SIGKILL after d.
func killAt(ctx context.Context, o KillOptions, args []string, out string, d time.Duration) (Kill, error) {
	cmd := exec.Command(o.Tomscan, args...)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Kill{}, fmt.Errorf("kill: start tomscan: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	k := Kill{After: d}
	select {
	case <-done:
		k.Done = true
		k.Reports = reportsSince(out, start)
		if c := cmd.ProcessState.ExitCode(); c != 0 && c != 1 {
			return k, fmt.Errorf("kill: tomscan ended with exit %d before the kill: %s", c, strings.TrimSpace(stderr.String()))
		}
		return k, nil
	case <-time.After(d):
	case <-ctx.Done():
		k.After = time.Since(start) // cancelled before the planned moment
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	k.Reports = reportsSince(out, start)
	// Workers notice their parent's death (Pdeathsig) on their own.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && alive(o.Tomscan, o.Work) > 0; time.Sleep(50 * time.Millisecond) {
	}
	return k, ctx.Err()
}

// alive counts live processes running bin, or whose command line names
// dir (tools given a scratch path).
func alive(bin, dir string) int {
	return countProcesses(func(p proc) bool {
		if p.state == "Z" {
			return false
		}
		exe, _ := os.Readlink(filepath.Join("/proc", p.pid, "exe"))
		return exe == bin || bytes.Contains(p.cmdline(), []byte(dir))
	})
}

// reportsSince counts the reports in out written since t.
func reportsSince(out string, t time.Time) int {
	m, _ := filepath.Glob(filepath.Join(out, "builds", "*", "report.json"))
	n := 0
	for _, p := range m {
		if st, err := os.Stat(p); err == nil && !st.ModTime().Before(t) {
			n++
		}
	}
	return n
}

// Digests maps every file under dir (its path relative to dir) to its
// sha256.
func Digests(dir string) map[string]string {
	got := map[string]string{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			got[rel] = "unreadable: " + err.Error()
			return nil
		}
		sum := sha256.Sum256(b)
		got[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	return got
}

// remainingShare is the share of n builds without a report.json in the
// archive out yet (at least 5%: start-up and the index flush remain).
func remainingShare(out string, n int) float64 {
	if n <= 0 {
		return 1
	}
	done := 0
	for rel := range Digests(out) {
		if filepath.Base(rel) == "report.json" {
			done++
		}
	}
	return max(0.05, float64(n-done)/float64(n))
}
