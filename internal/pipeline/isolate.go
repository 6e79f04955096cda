package pipeline

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/worker"
	"github.com/tomscan/tomscan/reports"
)

// Isolation runs the hostile part of every build (unpacking, parsing, YARA,
// the TOM analysers) in a worker process: the same program started with a
// hidden subcommand that builds the same Config from Spec and serves builds
// with WorkerHandler. The parent schedules, and writes reports and the
// index; a worker hands back only the build's report (in its answer, or in
// the file the request names) and, with a Preparer, what it made of it
// (Config.Preparer), which the parent decodes and checks. Whatever
// kills a worker (the memory cap, a signal, a Go runtime fatal error, a crash
// in libyara) costs only the build it was on: that build's report is
// `failed` with a worker-crashed issue, and the next build gets a fresh
// worker. Workers are reused across builds, so isolation costs one process
// start per slot, not per build.
type Isolation struct {
	Path      string   // the worker program (os.Executable)
	Args      []string // its arguments (the hidden subcommand)
	Env       []string // its environment; nil: this process's
	Spec      []byte   // what the worker builds its Config from
	MaxMemory int64    // per worker, see worker.Options.MaxMemory; 0: no cap
	// Spawned, when set, holds workers started ahead of the run with the
	// same Path, Args, Env and MaxMemory (worker.Spawn) and not set up:
	// a slot sets one up with Spec for its first worker instead of
	// starting one, so the run does not wait for a process to start (the
	// caller spawned them while it compiled the rules). Those left when
	// Run returns are the caller's to Discard.
	Spawned chan *worker.Process
}

// workerGrace is how long past the build timeout the parent waits for a
// worker's answer: the worker stops the build at the timeout itself and
// still writes a report; one that does not answer by then is stuck (in C
// code that does not see the deadline) and is killed.
var workerGrace = time.Minute

// request is one build as the parent sends it to a worker.
type request struct {
	Key     string   `json:"key"`
	Inputs  []Input  `json:"inputs"`
	Size    int64    `json:"size"`
	Scratch string   `json:"scratch"` // the folder the worker's build roots go in
	Lanes   int      `json:"lanes"`   // lanes the build may use besides its walk (laneBudget)
	Vouched *Vouched `json:"vouched,omitempty"`
	// ReportFile, when set, is where the worker writes the report
	// (reports.WriteJSON, streamed) instead of sending it; only with a
	// Preparer, which hands over what the parent needs of the report.
	ReportFile string `json:"report_file,omitempty"`
}

// isolated is one worker slot of the parent: its current worker process
// (started on first use and after each death) and its scratch folder.
type isolated struct {
	cfg Config
	dir string
	p   *worker.Process
	// reports is where workers write reports (reportsDir); "": they send
	// them in their answers.
	reports string
}

func newIsolated(cfg Config, slot int) *isolated {
	parent := cfg.ScratchDir
	if parent == "" {
		parent = os.TempDir()
	}
	return &isolated{cfg: cfg, dir: filepath.Join(parent, fmt.Sprintf("worker-%d", slot)), reports: reportsDir(cfg)}
}

// reportsDir is where the workers of a run write the reports of the builds
// they prepare, one file per build key, for the caller to move into its
// archive: a report of hundreds of MB then never crosses the pipe nor sits
// in the parent's memory. It is in the run's own scratch folder, which
// outlives Run (the caller archives after it returns) and goes with the
// run; it is not any slot's folder, which a dead worker's successor
// clears. "" without a Preparer or a scratch folder of the caller's.
func reportsDir(cfg Config) string {
	if cfg.Preparer == nil || cfg.Isolation == nil || cfg.ScratchDir == "" {
		return ""
	}
	return filepath.Join(cfg.ScratchDir, "reports")
}

func (w *isolated) close() {
	if w.p != nil {
		w.p.Close()
	}
}

// pending is a build a slot has taken, and where it is.
type pending struct {
	b     *Build
	lanes int
	rq    request // as sent
	sent  bool    // in the slot's current worker, asked for
	early bool    // taken while the slot's worker was on another build (laneBudget.ahead)
	ahead bool    // early, and not begun yet (laneBudget.begin)
}

// run serves builds from work in the slot's worker, sending each result to
// results, until work is closed. While the worker is on a build, the slot
// takes the next one and sends it too (when enough builds are waiting for
// every other slot, laneBudget.ahead): the worker reads it as soon as it has
// answered, and never waits for the parent between builds. It waited 1.5-2.5
// ms a build, a tenth of a rules-only rescan, while the parent read its answer,
// handed it over and sent the next request (measured with two workers on two
// busy cores, where the parent's turn on a core comes late).
func (w *isolated) run(ctx context.Context, work <-chan *Build, budget *laneBudget, results chan<- Result) {
	var queue []*pending
	for {
		if len(queue) == 0 {
			b, ok := <-work
			if !ok {
				return
			}
			queue = append(queue, &pending{b: b, lanes: budget.take()})
		}
		cur := queue[0]
		if cur.early && !cur.sent && ctx.Err() != nil {
			// Taken ahead, and the run ended before its worker started
			// on it: like the builds no slot took, it has no result
			// (a rerun scans it).
			budget.done(cur.lanes)
			queue = queue[1:]
			continue
		}
		r, ended := w.send(ctx, cur)
		if !ended && len(queue) == 1 {
			if b := takeAhead(work, budget); b != nil {
				next := &pending{b: b, ahead: true, early: true}
				w.sendAhead(next)
				queue = append(queue, next)
			}
		}
		if !ended {
			r = w.receive(ctx, cur)
		}
		budget.done(cur.lanes)
		queue = queue[1:]
		for _, p := range queue {
			if w.p == nil && p.sent {
				p.sent = false // lost with the worker: sent again to the next one
				if testAhead != nil {
					testAhead("again")
				}
			}
			if p.ahead {
				p.ahead, p.lanes = false, budget.begin()
			}
		}
		results <- r
	}
}

// takeAhead takes the next build from work for a slot that is busy with
// one, if the budget allows it and one is ready; nil otherwise.
func takeAhead(work <-chan *Build, budget *laneBudget) *Build {
	if !budget.ahead() {
		return nil
	}
	select {
	case b, ok := <-work:
		if ok {
			return b
		}
	default:
	}
	budget.unahead()
	return nil
}

// send sends p's request to the slot's worker, starting one if the slot
// has none; ended: p ended here (r is its result), without a request (an
// input unreadable at discovery, a worker that could not be started).
func (w *isolated) send(ctx context.Context, p *pending) (r Result, ended bool) {
	b := p.b
	if b.Err != nil {
		// Unreadable at discovery: nothing hostile is read, the report
		// only says why.
		rep, err := scanBuild(ctx, w.cfg, nil, b)
		return Result{Build: b, Report: rep, Err: err}, true
	}
	if p.sent {
		return Result{}, false
	}
	if w.p == nil {
		// A dead worker's build roots are garbage: start clean.
		if err := os.RemoveAll(w.dir); err != nil {
			return Result{Build: b, Err: fmt.Errorf("pipeline: clear worker scratch: %w", err)}, true
		}
		if err := os.MkdirAll(w.dir, 0o700); err != nil {
			return Result{Build: b, Err: fmt.Errorf("pipeline: worker scratch: %w", err)}, true
		}
		iso := w.cfg.Isolation
		wp, err := startWorker(ctx, iso)
		if err != nil {
			if ctx.Err() != nil {
				return Result{Build: b, Interrupted: true}, true
			}
			return Result{Build: b, Err: fmt.Errorf("pipeline: %w", err)}, true
		}
		w.p = wp
	}
	req, err := w.request(p)
	if err != nil {
		return Result{Build: b, Err: err}, true
	}
	if err := w.p.Send(req); err != nil {
		return w.answered(ctx, p, nil, err), true
	}
	p.sent = true
	return Result{}, false
}

// sendAhead sends p's request behind the build the slot's worker is on,
// when it can wait there (a readable input, a small request); if not, or
// if the worker is gone, p is sent when its turn comes (send).
func (w *isolated) sendAhead(p *pending) {
	if w.p == nil || p.b.Err != nil {
		return
	}
	req, err := w.request(p)
	if err != nil || len(req) > worker.MaxQueuedRequest {
		return
	}
	p.sent = w.p.Send(req) == nil
	if p.sent && testAhead != nil {
		testAhead("ahead")
	}
}

// testAhead, in tests, is told of builds sent ahead (SetTestAhead).
var testAhead func(what string)

// request is p's request, encoded; p.rq keeps it.
func (w *isolated) request(p *pending) ([]byte, error) {
	b := p.b
	p.rq = request{Key: b.Key, Inputs: b.Inputs, Size: b.Size, Scratch: w.dir, Lanes: p.lanes, Vouched: b.Vouched}
	if w.reports != "" {
		if err := os.MkdirAll(w.reports, 0o700); err != nil {
			return nil, fmt.Errorf("pipeline: reports folder: %w", err)
		}
		p.rq.ReportFile = filepath.Join(w.reports, b.Key+".json")
	}
	req, err := json.Marshal(p.rq)
	if err != nil {
		return nil, fmt.Errorf("pipeline: encode request: %w", err)
	}
	return req, nil
}

// receive waits for the answer to p, the oldest request in the slot's
// worker.
func (w *isolated) receive(ctx context.Context, p *pending) Result {
	ans, err := w.p.Receive(ctx, w.cfg.Limits.BuildTimeout+workerGrace)
	return w.answered(ctx, p, ans, err)
}

// answered makes p's result of the worker's answer ans (or err). A worker
// that died, was killed or answered garbage is let go (w.p nil).
func (w *isolated) answered(ctx context.Context, p *pending, ans []byte, err error) Result {
	b, rq := p.b, p.rq
	var crash *worker.Crash
	var remote *worker.RemoteError
	switch {
	case ctx.Err() != nil:
		if err != nil {
			w.p = nil // killed by Receive
		}
		return Result{Build: b, Interrupted: true}
	case err == nil:
		st, js, prepared := splitAnswer(ans)
		var rep *reports.Report
		var derr error
		switch {
		case st.ReportFile != "" && (st.ReportFile != rq.ReportFile || prepared == nil):
			// a path the parent did not ask for is not read
			derr = fmt.Errorf("report file %q, asked for %q", st.ReportFile, rq.ReportFile)
		case prepared != nil && w.cfg.Preparer != nil:
			// The worker prepared the build for the archive: the report
			// is not decoded here, only what was made of it.
			var made any
			if made, derr = w.cfg.Preparer.Decode(prepared); derr == nil {
				derr = checkReport(js, st.ReportFile)
			}
			if derr == nil {
				return Result{Build: b, JSON: js, JSONFile: st.ReportFile, Stats: st, Prepared: made}
			}
		default:
			rep, derr = reports.DecodeJSON(js)
		}
		if derr == nil {
			return Result{Build: b, Report: rep, JSON: js, Stats: st}
		}
		// A worker that answers garbage is not trusted with the next build.
		w.p.Kill()
		w.p = nil
		crash = &worker.Crash{State: "answered an unreadable report", ExitCode: -1, Reason: derr.Error()}
	case errors.As(err, &crash):
		w.p = nil
	case errors.As(err, &remote):
		return Result{Build: b, Err: remote}
	default:
		w.p.Kill()
		w.p = nil
		return Result{Build: b, Err: fmt.Errorf("pipeline: %w", err)}
	}
	return Result{Build: b, Report: crashReport(ctx, w.cfg, b, crash)}
}

// startWorker sets up a worker spawned ahead (Isolation.Spawned) or, when
// there is none left or it fails (it died meanwhile), starts one.
func startWorker(ctx context.Context, iso *Isolation) (*worker.Process, error) {
	o := worker.Options{Path: iso.Path, Args: iso.Args, Env: iso.Env, MaxMemory: iso.MaxMemory, Spec: iso.Spec}
	select {
	case p := <-iso.Spawned: // a nil channel: none
		if ready, err := p.Setup(ctx, o); err == nil {
			return ready, nil
		}
		p.Discard()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	default:
	}
	return worker.Start(ctx, o)
}

// crashReport is the report of a build whose worker died: the build's
// identity, read again here (it is only hashed, never parsed), and the cause.
func crashReport(ctx context.Context, cfg Config, b *Build, c *worker.Crash) *reports.Report {
	rep, root := newReport(cfg, b)
	if err := identify(ctx, root, b.Inputs[0].Path); err != nil {
		root.AddIssue(artifact.KindRead, "read", err.Error())
	}
	root.AddIssue(artifact.KindWorkerCrashed, "worker",
		fmt.Sprintf("%v: the build is not analysed; the batch went on with a fresh worker", c))
	finishReport(rep, root)
	return rep
}

// identify fills the root's size, hashes and type as the engine would.
func identify(ctx context.Context, root *artifact.Node, path string) error {
	f, err := openRegular(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h256, h1, h5 := sha256.New(), sha1.New(), md5.New()
	w := io.MultiWriter(h256, h1, h5)
	head := make([]byte, 0, filetype.HeadSize)
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, rerr := f.Read(buf)
		if room := filetype.HeadSize - len(head); room > 0 {
			head = append(head, buf[:min(room, k)]...)
		}
		w.Write(buf[:k])
		n += int64(k)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read input: %w", rerr)
		}
	}
	root.Size = n
	root.SHA256, root.SHA1, root.MD5 = hex.EncodeToString(h256.Sum(nil)), hex.EncodeToString(h1.Sum(nil)), hex.EncodeToString(h5.Sum(nil))
	root.Type = filetype.Sniff(head)
	return nil
}

// WorkerHandler is the worker process's side: cfg is built from the same
// Spec as the parent's, so a build scanned in a worker gives the same report
// as one scanned in process.
func WorkerHandler(cfg Config) (worker.Handler, error) {
	a, err := newAnalyzer(cfg)
	if err != nil {
		return nil, err
	}
	var warnings []string // one build at a time: no lock
	if cfg.NodeCache != nil {
		cfg.NodeCache.Warn = func(msg string) { warnings = append(warnings, msg) }
	}
	return func(ctx context.Context, raw []byte) ([]byte, error) {
		warnings = nil
		var req request
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("decode request: %w", err)
		}
		if len(req.Inputs) == 0 {
			return nil, errors.New("request without inputs")
		}
		c := cfg
		c.ScratchDir = req.Scratch
		a.laneLimit = req.Lanes
		// The build runs on the cores the parent gave it (laneBudget): its
		// walk and its lanes. Otherwise the runtime spreads the worker's
		// garbage collection and the side-by-side hashing of large blobs
		// over every core, and --jobs 1 uses more than one.
		if cfg.ConfineCores {
			runtime.GOMAXPROCS(1 + req.Lanes)
		}
		rep, st, err := scanBuildCached(ctx, c, a, &Build{Key: req.Key, Inputs: req.Inputs, Size: req.Size, Vouched: req.Vouched})
		if err != nil {
			return nil, err
		}
		st.Warnings = warnings
		if cfg.ConfineCores {
			st.Cores = runtime.GOMAXPROCS(0)
		}
		var prepared []byte
		if cfg.Preparer != nil {
			// On failure the parent gets the report alone, decodes and
			// archives it as it would without a Preparer.
			prepared, _ = cfg.Preparer.Prepare(ctx, req.Key, rep)
		}
		if prepared != nil && req.ReportFile != "" {
			if err := writeReportFile(req.ReportFile, rep); err == nil {
				st.ReportFile = req.ReportFile
				return answer(st, nil, prepared)
			}
			// not written: sent in the answer instead
		}
		return answer(st, rep, prepared)
	}, nil
}

// checkReport is the cheap check of a prepared build's report, in the
// answer (js) or in the file the worker wrote: it is archived as the worker
// encoded it, without decoding it here (most of the parent's work per build
// was that decoding), so only a truncated or misplaced report is caught, by
// its ends.
func checkReport(js []byte, file string) error {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("report file: %w", err)
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return fmt.Errorf("report file: %w", err)
		}
		var head, tail [1]byte
		if info.Size() < 3 {
			return errors.New("report file: empty")
		}
		if _, err := f.ReadAt(head[:], 0); err != nil {
			return fmt.Errorf("report file: %w", err)
		}
		if _, err := f.ReadAt(tail[:], info.Size()-2); err != nil {
			return fmt.Errorf("report file: %w", err)
		}
		js = []byte{head[0], tail[0], '\n'}
	}
	js = bytes.TrimRight(js, "\n")
	if len(js) < 2 || js[0] != '{' || js[len(js)-1] != '}' {
		return errors.New("the report is not a JSON object")
	}
	return nil
}

// writeReportFile streams rep's JSON into path: the parent moves the file
// into the archive as it is. The parent syncs it first, with the other
// reports of the batch it archives at once (Result.JSONFile): a sync here
// held the worker for a journal commit per build, where the parent's
// syncs side by side share one.
func writeReportFile(path string, rep *reports.Report) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := reports.WriteJSON(f, rep); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
