package hostile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options say how a campaign runs tomscan.
type Options struct {
	Tomscan string        // the tomscan binary
	Work    string        // folder for the batches' inputs, archives and scratch
	Batch   int           // inputs per `tomscan scan` run
	Jobs    int           // --jobs
	Timeout time.Duration // per batch: past it, the batch is hung and killed
	Args    []string      // more scan flags
	Log     io.Writer     // one line per batch; nil: none
}

// Outcome is what happened to one input.
type Outcome struct {
	Input  Input
	Result string // handled | crashed | hung | missing
	Status string // the report's status when handled
	Kinds  []string
	// WrongStatus: a truncated or lying input reported succeeded.
	WrongStatus bool
	// Unescaped: a hostile string reached its Markdown or HTML page raw.
	Unescaped bool
}

// BatchStats are the figures of one tomscan run.
type BatchStats struct {
	Inputs       int
	ExitCode     int
	Crashed      bool  // a Go panic, a fatal error, a signal, or exit 2/3
	Hung         bool  // killed at the timeout
	PeakRSS      int64 // bytes, from the child's rusage
	ScratchBytes int64 // bytes left in the scratch folder
	ScratchFiles int   // files and folders left in it
	TempFiles    int   // .tmp-* files left in the archive
	ProcsLeft    int   // processes of the run still alive after it ended
	Duration     time.Duration
	StderrRaw    bool   // tomscan's own stderr carried a raw escape or bidi character
	Tail         string // last line of stderr, for crashed runs
}

// Result is a whole campaign.
type Result struct {
	Outcomes []Outcome
	Batches  []BatchStats
	Escaped  []string // files named with Marker found outside the inputs and archives
	// RunnerRSS is the campaign's own peak RSS: the floor of every batch's
	// PeakRSS (a child's rusage counts the parent's memory it started from).
	RunnerRSS int64
}

// Run scans inputs in batches; RunEach with a source that makes them one
// at a time keeps the campaign's own memory small.
func Run(ctx context.Context, inputs []Input, o Options) (*Result, error) {
	return RunEach(ctx, func(fn func(Input) error) error {
		for _, in := range inputs {
			if err := fn(in); err != nil {
				return err
			}
		}
		return nil
	}, o)
}

// RunEach writes each input the source yields into the current batch
// folder (keeping only its name, class and sha256), and scans a batch with
// tomscan whenever it is full.
func RunEach(ctx context.Context, source func(fn func(Input) error) error, o Options) (*Result, error) {
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Jobs <= 0 {
		o.Jobs = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Minute
	}
	res := &Result{}
	var pending []Input
	batchNo := 0
	dir := func() string { return filepath.Join(o.Work, fmt.Sprintf("batch-%04d", batchNo)) }
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		outs, st, err := runBatch(ctx, dir(), pending, o)
		if err != nil {
			return err
		}
		res.Outcomes = append(res.Outcomes, outs...)
		res.Batches = append(res.Batches, st)
		if o.Log != nil {
			fmt.Fprintf(o.Log, "campaign: batch %d: %d inputs, exit %d, %s, peak RSS %d MB%s\n", batchNo, len(pending),
				st.ExitCode, st.Duration.Round(time.Millisecond), st.PeakRSS>>20, map[bool]string{true: " CRASHED " + strconv.Quote(st.Tail), false: ""}[st.Crashed])
		}
		pending = nil
		batchNo++
		return nil
	}
	err := source(func(in Input) error {
		d := filepath.Join(dir(), "in")
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("campaign: %w", err)
		}
		if err := os.WriteFile(filepath.Join(d, in.Name), in.Data, 0o644); err != nil {
			return fmt.Errorf("campaign: write input: %w", err)
		}
		in.sum = sha256.Sum256(in.Data)
		in.Data = nil
		pending = append(pending, in)
		if len(pending) >= o.Batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	res.Escaped = findEscapes(o.Work)
	res.RunnerRSS = selfHWM()
	return res, err
}

// selfHWM is this process's peak RSS (VmHWM), in bytes: a child's rusage
// peak cannot be below it, since the child starts as a copy of this process.
func selfHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func runBatch(ctx context.Context, dir string, batch []Input, o Options) ([]Outcome, BatchStats, error) {
	st := BatchStats{Inputs: len(batch)}
	in, out, scratch := filepath.Join(dir, "in"), filepath.Join(dir, "out"), filepath.Join(dir, "scratch")
	for _, d := range []string{in, out, scratch} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, st, fmt.Errorf("campaign: %w", err)
		}
	}
	args := append([]string{"scan", in, "--out", out, "--scratch", scratch, "--quiet", "--jobs", strconv.Itoa(o.Jobs)}, o.Args...)
	cctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, o.Tomscan, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stderr tailBuffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	begin := time.Now()
	err := cmd.Run()
	st.Duration = time.Since(begin)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && cmd.ProcessState == nil {
		return nil, st, fmt.Errorf("campaign: run tomscan: %w", err)
	}
	ps := cmd.ProcessState
	st.ExitCode = ps.ExitCode()
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		st.PeakRSS = ru.Maxrss << 10 // KiB on Linux
	}
	st.Hung = cctx.Err() != nil && ctx.Err() == nil
	text := stderr.String()
	st.StderrRaw = strings.ContainsAny(text, "\x1b\u202e")
	st.Crashed = !st.Hung && (st.ExitCode < 0 || st.ExitCode > 1 || strings.Contains(text, "panic:") || strings.Contains(text, "fatal error:"))
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) > 0 {
		st.Tail = lines[len(lines)-1]
		if len(st.Tail) > 200 {
			st.Tail = st.Tail[:200]
		}
	}
	// What the run left behind.
	time.Sleep(200 * time.Millisecond) // let killed children be reaped
	st.ProcsLeft = processesLeft(ps.Pid(), dir)
	st.ScratchBytes, st.ScratchFiles = treeSize(scratch)
	_ = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			st.TempFiles++
		}
		return nil
	})

	var outs []Outcome
	for _, x := range batch {
		oc := Outcome{Input: x}
		bdir := filepath.Join(out, "builds", hex.EncodeToString(x.sum[:]))
		js, rerr := os.ReadFile(filepath.Join(bdir, "report.json"))
		var rep struct {
			Status  string `json:"status"`
			Summary struct {
				IssueKinds map[string]int `json:"issue_kinds"`
			} `json:"summary"`
		}
		switch {
		case rerr == nil && json.Unmarshal(js, &rep) == nil && rep.Status != "":
			oc.Result, oc.Status = "handled", rep.Status
			for k := range rep.Summary.IssueKinds {
				oc.Kinds = append(oc.Kinds, k)
			}
			sort.Strings(oc.Kinds)
			oc.WrongStatus = x.MustNotSucceed() && rep.Status == "succeeded"
			for _, page := range []string{"report.html", "report.md"} {
				b, err := os.ReadFile(filepath.Join(bdir, page))
				if err == nil && rawHostile(b) {
					oc.Unescaped = true
				}
			}
		case st.Hung:
			oc.Result = "hung"
		case st.Crashed:
			oc.Result = "crashed"
		default:
			oc.Result = "missing"
		}
		outs = append(outs, oc)
	}
	if b, err := os.ReadFile(filepath.Join(out, "index.html")); err == nil && rawHostile(b) {
		for i := range outs {
			if outs[i].Input.Class == ClassNames {
				outs[i].Unescaped = true
			}
		}
	}
	return outs, st, nil
}

// rawHostile tells whether a page carries one of the hostile strings as
// it was: a terminal escape, a bidi override, or live markup.
func rawHostile(b []byte) bool {
	return bytes.ContainsAny(b, "\x1b\u202e") || bytes.Contains(b, []byte("<script>alert('"+Marker))
}

// tailBuffer keeps the first and last 32 KiB written to it.
type tailBuffer struct {
	head, tail []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	const keep = 32 << 10
	if len(t.head) < keep {
		n := min(keep-len(t.head), len(p))
		t.head = append(t.head, p[:n]...)
	}
	t.tail = append(t.tail, p...)
	if len(t.tail) > keep {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-keep:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.head) + "\n" + string(t.tail) }

// processesLeft counts live processes in the run's process group or whose
// command line names the batch folder (tools given a scratch path).
func processesLeft(pgid int, dir string) int {
	group := strconv.Itoa(pgid)
	return countProcesses(func(p proc) bool {
		return (p.pgrp == group && p.state != "Z") || bytes.Contains(p.cmdline(), []byte(dir))
	})
}

// proc is one process of /proc as the leftover counters look at it.
type proc struct {
	pid, state, pgrp string
}

func (p proc) cmdline() []byte {
	cl, _ := os.ReadFile(filepath.Join("/proc", p.pid, "cmdline"))
	return cl
}

// countProcesses counts the processes other than this one that match.
func countProcesses(match func(proc) bool) int {
	des, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, de := range des {
		pid, err := strconv.Atoi(de.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", de.Name(), "stat"))
		if err != nil {
			continue
		}
		p := proc{pid: de.Name()}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ')'
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 2 {
				p.state, p.pgrp = f[0], f[2]
			}
		}
		if match(p) {
			n++
		}
	}
	return n
}

func treeSize(dir string) (int64, int) {
	var bytes int64
	files := 0
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		files++
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			bytes += info.Size()
		}
		return nil
	})
	return bytes, files
}

// entryNames names up to max entries under dir (relative to it, folders
// with a trailing slash), so that a leftover says what it is.
func entryNames(dir string, max int) []string {
	var names []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		if len(names) == max {
			names = append(names, "...")
			return filepath.SkipAll
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			rel += "/"
		}
		names = append(names, rel)
		return nil
	})
	return names
}

// findEscapes looks for files named with Marker where no input or archive
// puts them: a traversal that worked. It searches the work folder (outside
// the inputs) and the system temp folder.
func findEscapes(work string) []string {
	var hits []string
	_ = filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "in" || d.Name() == "builds") {
			return filepath.SkipDir
		}
		if strings.Contains(d.Name(), Marker) {
			hits = append(hits, p)
		}
		return nil
	})
	if des, err := os.ReadDir(os.TempDir()); err == nil {
		for _, de := range des {
			if strings.Contains(de.Name(), Marker) {
				hits = append(hits, filepath.Join(os.TempDir(), de.Name()))
			}
		}
	}
	return hits
}

// Totals are a campaign's figures, per class and in all.
type Totals struct {
	Tried, Handled, Crashed, Hung, Missing, WrongStatus, Unescaped int
	Succeeded, Partial, Failed                                     int
}

func (t *Totals) add(o Outcome) {
	t.Tried++
	switch o.Result {
	case "handled":
		t.Handled++
	case "crashed":
		t.Crashed++
	case "hung":
		t.Hung++
	default:
		t.Missing++
	}
	if o.WrongStatus {
		t.WrongStatus++
	}
	if o.Unescaped {
		t.Unescaped++
	}
	switch o.Status {
	case "succeeded":
		t.Succeeded++
	case "partial":
		t.Partial++
	case "failed":
		t.Failed++
	}
}

// Summary adds the outcomes up.
func (r *Result) Summary() (perClass map[string]*Totals, all Totals) {
	perClass = map[string]*Totals{}
	for _, o := range r.Outcomes {
		t := perClass[o.Input.Class]
		if t == nil {
			t = &Totals{}
			perClass[o.Input.Class] = t
		}
		t.add(o)
		all.add(o)
	}
	return perClass, all
}

// Figures are the run-level numbers: the worst batch's peak RSS and what
// all batches left behind.
type Figures struct {
	PeakRSS                     int64
	CrashedBatches, HungBatches int
	ScratchBytes                int64
	ScratchFiles, TempFiles     int
	ProcsLeft, StderrRawBatches int
	Duration                    time.Duration
}

// Figures adds up the batches.
func (r *Result) Figures() Figures {
	var f Figures
	for _, b := range r.Batches {
		f.PeakRSS = max(f.PeakRSS, b.PeakRSS)
		f.ScratchBytes += b.ScratchBytes
		f.ScratchFiles += b.ScratchFiles
		f.TempFiles += b.TempFiles
		f.ProcsLeft += b.ProcsLeft
		f.Duration += b.Duration
		if b.Crashed {
			f.CrashedBatches++
		}
		if b.Hung {
			f.HungBatches++
		}
		if b.StderrRaw {
			f.StderrRawBatches++
		}
	}
	return f
}

// Table renders the campaign: one row per class, the total, then the
// run-level figures.
func (r *Result) Table() string {
	per, all := r.Summary()
	var b strings.Builder
	head := []string{"class", "tried", "handled", "crashed", "hung", "missing", "wrong-status", "unescaped", "succeeded", "partial", "failed"}
	rows := [][]string{head}
	row := func(name string, t Totals) []string {
		return []string{name, itoa(t.Tried), itoa(t.Handled), itoa(t.Crashed), itoa(t.Hung), itoa(t.Missing), itoa(t.WrongStatus),
			itoa(t.Unescaped), itoa(t.Succeeded), itoa(t.Partial), itoa(t.Failed)}
	}
	for _, c := range Classes {
		if t := per[c]; t != nil {
			rows = append(rows, row(c, *t))
		}
	}
	rows = append(rows, row("total", all))
	widths := make([]int, len(head))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		for i, c := range r {
			if i == 0 {
				fmt.Fprintf(&b, "%-*s", widths[i], c)
			} else {
				fmt.Fprintf(&b, "  %*s", widths[i], c)
			}
		}
		b.WriteString("\n")
	}
	f := r.Figures()
	fmt.Fprintf(&b, "batches: %d (%d crashed, %d hung); peak RSS %d MB (the runner's own: %d MB); left behind: %d bytes in %d scratch entries, %d temp files, %d processes; escapes: %d; stderr with raw escapes: %d batches; scan time %s\n",
		len(r.Batches), f.CrashedBatches, f.HungBatches, f.PeakRSS>>20, r.RunnerRSS>>20, f.ScratchBytes, f.ScratchFiles, f.TempFiles, f.ProcsLeft,
		len(r.Escaped), f.StderrRawBatches, f.Duration.Round(time.Second))
	return b.String()
}

// Failures lists, one line each, the inputs that missed a target, with
// what was done to them: the campaign's findings.
func (r *Result) Failures() []string {
	var out []string
	for _, o := range r.Outcomes {
		var why []string
		if o.Result != "handled" {
			why = append(why, o.Result)
		}
		if o.WrongStatus {
			why = append(why, "damaged ("+o.Input.Class+") but "+o.Status)
		}
		if o.Unescaped {
			why = append(why, "unescaped")
		}
		if len(why) > 0 {
			out = append(out, fmt.Sprintf("%s: %s (%s from %s: %s)", strings.Join(why, ", "), strconv.Quote(o.Input.Name), o.Input.Class, o.Input.From, o.Input.What))
		}
	}
	for _, e := range r.Escaped {
		out = append(out, "escaped: "+strconv.Quote(e))
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
