package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Options start a worker process.
type Options struct {
	Path string   // the program: tomscan itself (os.Executable)
	Args []string // its arguments: the hidden worker subcommand
	Env  []string // its environment; nil: this process's
	// MaxMemory caps how far the child's address space may grow once it is
	// set up (RLIMIT_AS, set by the parent on the child before its first
	// request; see capMemory): an allocation past it fails in the child,
	// which dies, and only the child. 0: no cap.
	MaxMemory int64
	Spec      []byte        // sent first; the child's setup reads it
	Setup     time.Duration // how long setup may take (compiling rules); 0: one minute
}

// Process is a running worker. Its methods are not safe for concurrent use:
// one goroutine of the parent owns one worker.
type Process struct {
	cmd    *exec.Cmd
	req    *os.File // requests to the child
	ans    *os.File // answers from the child
	stderr *headBuffer
	exited chan struct{} // closed once Wait returned
	dead   bool
	queued int // requests sent and not answered yet (Send, Receive)
}

// Crash says the worker died or was killed while it worked on a request.
type Crash struct {
	State    string // as the OS says it: "signal: segmentation fault", "exit status 2"
	Signal   string // "segmentation fault", "killed"; "" for an exit
	ExitCode int    // -1 after a signal
	PeakRSS  int64  // bytes, the child's maximum resident set (rusage)
	Reason   string // the first thing it printed on stderr (a Go fatal error), or why the parent killed it
}

func (c *Crash) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "worker process died (%s); peak memory %s", c.State, mib(c.PeakRSS))
	if c.Reason != "" {
		fmt.Fprintf(&b, "; %s", c.Reason)
	}
	return b.String()
}

// RemoteError is an error the child reported in a KindError frame; the child
// is still alive and usable.
type RemoteError struct{ Message string }

func (e *RemoteError) Error() string { return "worker: " + e.Message }

// Start runs a worker, caps its memory, sends it the spec and waits until it
// says it is ready: Spawn, then Setup.
func Start(ctx context.Context, o Options) (*Process, error) {
	p, err := Spawn(o)
	if err != nil {
		return nil, err
	}
	return p.Setup(ctx, o)
}

// Spawn starts a worker process that waits for its spec (o.Spec is not
// sent): a caller that will need workers but does not have their spec yet
// (the rules still compile) lets them start meanwhile, and calls Setup once
// it has it; one it ends up not needing it Kills. Until Setup the process
// has read nothing but its environment (and has no memory cap: it reads no
// input either).
func Spawn(o Options) (*Process, error) {
	mark, err := newMark()
	if err != nil {
		return nil, err
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("worker: pipe: %w", err)
	}
	ansR, ansW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("worker: pipe: %w", err)
	}
	// A worker's answer (a build's index rows, its pages) is often larger
	// than a pipe's default 64 KiB: written in 64 KiB turns, each waiting
	// for the parent to read the one before, it kept the worker from its
	// next build for a millisecond or more when the cores were busy. Up to
	// AnswerPipeSize it is written at once. Best effort: a smaller buffer
	// (pipe-max-size, fs.pipe-user-pages-soft) only makes answers slower.
	_, _ = unix.FcntlInt(ansW.Fd(), unix.F_SETPIPE_SZ, AnswerPipeSize)
	cmd := exec.Command(o.Path, o.Args...)
	cmd.Env = runtimeEnv(o.Env, o.MaxMemory)
	cmd.ExtraFiles = []*os.File{reqR, ansW} // fd 3 and 4 in the child
	cmd.Env = append(cmd.Env, markEnv+"="+mark)
	stderr := &headBuffer{max: 8 << 10, mark: []byte(mark + "\n")}
	cmd.Stderr = stderr
	cmd.Stdout = io.Discard // a library printing on stdout cannot garble the protocol
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group: a Ctrl-C on the terminal reaches the
		// parent only, which decides what happens to builds in flight.
		Setpgid: true,
		// Dies with the parent (kill -9 included), so no worker outlives
		// the run; its tools die with it the same way.
		Pdeathsig: syscall.SIGKILL,
	}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{reqR, reqW, ansR, ansW} {
			f.Close()
		}
		return nil, fmt.Errorf("worker: start %s: %w", o.Path, err)
	}
	reqR.Close()
	ansW.Close()
	p := &Process{cmd: cmd, req: reqW, ans: ansR, stderr: stderr, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Setup sends a spawned worker its spec (o.Spec), waits until it says it is
// ready and caps its memory (o.MaxMemory, which Spawn was given too). A
// worker that fails it is dead.
func (p *Process) Setup(ctx context.Context, o Options) (*Process, error) {
	if p.dead {
		return nil, errors.New("worker: setup: dead")
	}
	setup := o.Setup
	if setup <= 0 {
		setup = time.Minute
	}
	if err := WriteFrame(p.req, KindSpec, o.Spec); err != nil {
		return nil, p.died(err)
	}
	kind, msg, err := p.read(ctx, setup)
	switch {
	case err != nil:
		return nil, fmt.Errorf("worker: setup: %w", err)
	case kind == KindError:
		p.Kill()
		return nil, fmt.Errorf("worker: setup: %s", msg)
	case kind != KindReady:
		p.Kill()
		return nil, fmt.Errorf("worker: setup: unexpected frame %q", kind)
	}
	if o.MaxMemory > 0 && MemoryCapWorks {
		if err := p.capMemory(o.MaxMemory); err != nil {
			p.Kill()
			return nil, err
		}
	}
	return p, nil
}

// MemoryCapWorks is false in race-instrumented builds, whose workers run
// without the cap (see race.go).
const MemoryCapWorks = !raceBuild

// capMemory sets the child's RLIMIT_AS to what it has mapped now, set up and
// idle, plus max. A bare cap would not do: a Go process reserves address
// space it never touches (heap arena index, page summaries: about 1 GiB of
// virtual size before it has read a byte), and then dies at its next heap
// growth with "failed to reserve page summary memory". So the cap is on
// growth: a build may add at most max bytes of address space. The cap is set
// after setup and before the first request, so no untrusted byte is read
// without it.
func (p *Process) capMemory(max int64) error {
	pid := p.cmd.Process.Pid
	idle, err := vmSize(pid)
	if err != nil {
		return fmt.Errorf("worker: memory cap: %w", err)
	}
	n := uint64(idle + max)
	if err := unix.Prlimit(pid, unix.RLIMIT_AS, &unix.Rlimit{Cur: n, Max: n}, nil); err != nil {
		return fmt.Errorf("worker: memory cap: prlimit: %w", err)
	}
	return nil
}

// vmSize is a process's virtual size in bytes (/proc/<pid>/status VmSize).
func vmSize(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmSize:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmSize %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmSize", pid)
}

// Do sends one request and waits for its answer, at most timeout (0: no
// limit). A worker that dies meanwhile, or is killed at the timeout, gives a
// *Crash and is dead; so is one killed because ctx ended, which gives
// ctx.Err(). A *RemoteError leaves the worker alive.
func (p *Process) Do(ctx context.Context, timeout time.Duration, req []byte) ([]byte, error) {
	if err := p.Send(req); err != nil {
		return nil, err
	}
	return p.Receive(ctx, timeout)
}

// AnswerPipeSize is the buffer Spawn asks the kernel for on the answer
// pipe: Linux's default pipe-max-size.
const AnswerPipeSize = 1 << 20

// MaxQueuedRequest is the largest request Send queues behind another: the
// worker reads it only once it has answered the ones before, so it must fit
// in the request pipe's buffer (64 KiB on Linux), or Send would wait for a
// worker that may be waiting for the parent to read its answer.
const MaxQueuedRequest = 16 << 10

// Send sends one request without waiting for its answer: Receive reads the
// answers in the order the requests were sent. A worker answers one request
// at a time, so a request sent while it works on another waits in the pipe
// and is read as soon as the one before is answered: the worker does not
// wait for the parent between the two. A request queued behind another
// must be at most MaxQueuedRequest bytes.
func (p *Process) Send(req []byte) error {
	if p.dead {
		return errors.New("worker: dead")
	}
	if p.queued > 0 && len(req) > MaxQueuedRequest {
		return fmt.Errorf("worker: a request of %d bytes cannot wait behind another (at most %d)", len(req), MaxQueuedRequest)
	}
	if p.queued == 0 {
		p.stderr.Reset() // what it prints from now on is this request's
	}
	if err := WriteFrame(p.req, KindRequest, req); err != nil {
		if p.queued > 0 {
			// The worker is gone or going: how, is the answer to the
			// request before this one (Receive), not this error.
			return fmt.Errorf("worker: send: %w", err)
		}
		return p.died(err)
	}
	p.queued++
	return nil
}

// Receive waits for the answer to the oldest request Send sent and not
// answered yet, at most timeout (0: no limit) from now: with a request
// queued behind another, call it once the answer before is in, when the
// worker starts on it. Its errors are Do's; after a *Crash or ctx.Err() the
// worker is dead, and the requests still queued are lost with it.
func (p *Process) Receive(ctx context.Context, timeout time.Duration) ([]byte, error) {
	if p.dead {
		return nil, errors.New("worker: dead")
	}
	if p.queued == 0 {
		return nil, errors.New("worker: receive: no request sent")
	}
	kind, ans, err := p.read(ctx, timeout)
	if err != nil {
		return nil, err
	}
	p.queued--
	switch kind {
	case KindAnswer:
		return ans, nil
	case KindError:
		return nil, &RemoteError{Message: string(ans)}
	}
	p.Kill()
	c := p.crash()
	c.Reason = fmt.Sprintf("killed by tomscan: it broke the protocol (frame %q)", kind)
	return nil, c
}

// read waits for one frame within timeout and ctx, killing the worker when
// either ends first.
func (p *Process) read(ctx context.Context, timeout time.Duration) (byte, []byte, error) {
	type frame struct {
		kind byte
		b    []byte
		err  error
	}
	got := make(chan frame, 1)
	go func() {
		k, b, err := ReadFrame(p.ans, MaxFrame)
		got <- frame{k, b, err}
	}()
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case f := <-got:
		if f.err != nil {
			return 0, nil, p.died(f.err)
		}
		return f.kind, f.b, nil
	case <-expire:
		p.Kill()
		<-got
		c := p.crash()
		c.Reason = fmt.Sprintf("killed by tomscan: no answer within %s", timeout)
		return 0, nil, c
	case <-ctx.Done():
		p.Kill()
		<-got
		return 0, nil, ctx.Err()
	}
}

// died turns a broken pipe into the worker's cause of death.
func (p *Process) died(ioErr error) error {
	p.dead = true
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		// The pipe broke but the process lingers: it is not trusted with
		// another build either way.
		p.Kill()
		c := p.crash()
		c.Reason = fmt.Sprintf("killed by tomscan: its answer pipe broke (%v)", ioErr)
		return c
	}
	return p.crash()
}

// crash describes the exited worker.
func (p *Process) crash() *Crash {
	<-p.exited
	c := &Crash{ExitCode: -1, Reason: p.stderr.firstLine()}
	st := p.cmd.ProcessState
	if st == nil {
		c.State = "unknown"
		return c
	}
	c.State = st.String()
	c.ExitCode = st.ExitCode()
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		c.Signal = ws.Signal().String()
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		c.PeakRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return c
}

// Kill ends the worker at once and waits for it.
func (p *Process) Kill() {
	p.dead = true
	if p.cmd.Process != nil {
		// The whole group: anything the worker started in its own group.
		// Its tools have groups of their own and die by Pdeathsig.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
	p.req.Close()
	p.ans.Close()
}

// Discard ends a worker that is no longer wanted (spawned and not needed,
// or one whose Setup failed): killed unless it has exited already.
func (p *Process) Discard() {
	select {
	case <-p.exited:
		p.dead = true
		p.req.Close()
		p.ans.Close()
	default:
		p.Kill()
	}
}

// Close asks the worker to end (its request pipe closes) and waits for it;
// one that does not end within a few seconds is killed.
func (p *Process) Close() error {
	if p.dead {
		return nil
	}
	p.dead = true
	p.req.Close()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.Kill()
	}
	p.ans.Close()
	return nil
}

// markEnv names the mark a worker writes on stderr as it starts each
// request (headBuffer): a random token of each worker's, which what a
// build makes the worker print cannot know.
const markEnv = "TOMSCAN_WORKER_STDERR_MARK"

func newMark() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("worker: stderr mark: %w", err)
	}
	return "tomscan-worker-request-" + hex.EncodeToString(b[:]), nil
}

// Pid is the worker's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// headBuffer keeps the first max bytes written since the last Reset or
// the last mark, and drops the rest: a Go fatal error or a crash in C code
// prints its cause first, then tracebacks that may run to megabytes. The
// worker writes mark on stderr as it starts each request (Serve): in the
// stream, so what a crash prints is told from what the request before
// printed even when the parent reads the two late (a request queued behind
// another starts before the parent has read the answer before it).
type headBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	max   int
	mark  []byte // "": none
	carry []byte // the last len(mark)-1 bytes written: a mark split across writes
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	add, data := p, p
	if len(h.mark) > 0 {
		data = append(append(make([]byte, 0, len(h.carry)+len(p)), h.carry...), p...)
		if i := bytes.LastIndex(data, h.mark); i >= 0 {
			h.buf.Reset()
			add = data[i+len(h.mark):]
		}
	}
	if room := h.max - h.buf.Len(); room > 0 {
		h.buf.Write(add[:min(room, len(add))])
	}
	if len(h.mark) > 0 {
		h.carry = append(h.carry[:0], data[max(0, len(data)-len(h.mark)+1):]...)
	}
	return len(p), nil
}

func (h *headBuffer) Reset() {
	h.mu.Lock()
	h.buf.Reset()
	h.mu.Unlock()
}

// firstLine is the first non-empty line, capped, for the crash's reason.
func (h *headBuffer) firstLine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range strings.Split(h.buf.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) > 300 {
				l = l[:300]
			}
			return "stderr: " + strings.ToValidUTF8(l, "?")
		}
	}
	return ""
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// runtimeEnv is a worker's environment: base (the parent's when nil) with
// what the runtimes in the worker are told.
func runtimeEnv(base []string, maxMemory int64) []string {
	if base == nil {
		base = os.Environ()
	}
	env := append([]string(nil), base...)
	// Go returns freed heap to the kernel with MADV_FREE rather than
	// MADV_DONTNEED: a worker frees and reuses large buffers build after
	// build (LZMA dictionaries, entries), and pages given back for good
	// were faulted in and zeroed again each time (a few percent of a
	// worker's CPU, a fifth of its system time on a large build). The
	// kernel still takes the pages back when memory runs short. A
	// GODEBUG of the user's is kept after it: the last setting of a name
	// wins, so theirs does.
	godebug := "madvdontneed=0"
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			if v != "" {
				godebug += "," + v
			}
			env = append(env[:i:i], env[i+1:]...)
			break
		}
	}
	env = append(env, "GODEBUG="+godebug)
	if maxMemory > 0 {
		// The Go heap of the child collects harder as it nears the cap
		// instead of running into it with garbage still held. glibc's
		// malloc (libyara, through cgo) reserves 64 MiB of address space
		// per arena, up to eight per core: two arenas keep that
		// reservation from eating the cap.
		env = append(env, "GOMEMLIMIT="+strconv.FormatInt(maxMemory/4*3, 10), "MALLOC_ARENA_MAX=2")
		// Under that limit the collector may let the heap grow further
		// between collections: a worker's heap is mostly one build's
		// garbage, and collecting it at every doubling cost about a tenth
		// of a first scan's CPU (GOGC 200: synthetic corpus 7-12% faster,
		// a worker's peak RSS 43 -> 51-54 MB, the 1 GB ZIP's 510 -> 546 MB;
		// 400 gained no more and took 680 MB there). A GOGC of the
		// user's is kept.
		if !hasVar(env, "GOGC") {
			env = append(env, "GOGC="+strconv.Itoa(workerGOGC))
		}
	}
	return env
}

// workerGOGC is a capped worker's GOGC: the heap grows to three times what
// the last collection kept before the next, or to the memory limit first.
const workerGOGC = 200

// hasVar tells whether env sets name.
func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
