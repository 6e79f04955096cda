package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary is its own worker: TestMain serves when the parent test
// starts it with this variable set.
const childEnv = "TOMSCAN_WORKER_PACKAGE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := Serve(context.Background(), testSetup); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var sink [][]byte

// testSetup answers "echo:X" with spec+X and misbehaves on command.
func testSetup(spec []byte) (Handler, error) {
	if string(spec) == "fail-setup" {
		return nil, errors.New("setup refused")
	}
	return func(ctx context.Context, req []byte) ([]byte, error) {
		cmd, arg, _ := strings.Cut(string(req), ":")
		switch cmd {
		case "echo":
			return append(append([]byte(nil), spec...), arg...), nil
		case "error":
			return nil, errors.New(arg)
		case "exit":
			n, _ := strconv.Atoi(arg)
			os.Exit(n)
		case "segv":
			syscall.Kill(os.Getpid(), syscall.SIGSEGV)
			time.Sleep(time.Minute)
		case "kill":
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute)
		case "alloc":
			mb, _ := strconv.Atoi(arg)
			for i := 0; i < mb; i++ {
				b := make([]byte, 1<<20)
				for j := range b {
					b[j] = 1
				}
				sink = append(sink, b)
			}
			return []byte("allocated"), nil
		case "sleep":
			time.Sleep(time.Hour)
		case "say":
			fmt.Fprintln(os.Stderr, arg)
			return []byte("said"), nil
		case "big":
			mb, _ := strconv.Atoi(arg)
			return bytes.Repeat([]byte("b"), mb<<20), nil
		}
		return nil, fmt.Errorf("unknown request %q", req)
	}, nil
}

func start(t *testing.T, spec string, maxMem int64) *Process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(context.Background(), Options{
		Path: exe, Args: []string{"-test.run=^$"}, Env: append(os.Environ(), childEnv+"=1"),
		MaxMemory: maxMem, Spec: []byte(spec),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestReusedAcrossRequests(t *testing.T) {
	p := start(t, "hi ", 0)
	pid := p.Pid()
	for i := 0; i < 50; i++ {
		got, err := p.Do(context.Background(), time.Minute, []byte(fmt.Sprintf("echo:%d", i)))
		if err != nil || string(got) != fmt.Sprintf("hi %d", i) {
			t.Fatalf("request %d: %q, %v", i, got, err)
		}
	}
	if _, err := p.Do(context.Background(), time.Minute, []byte("error:no such thing")); !isRemote(err) {
		t.Fatalf("error request: %v", err)
	}
	if got, err := p.Do(context.Background(), time.Minute, []byte("echo:still")); err != nil || string(got) != "hi still" {
		t.Fatalf("after a remote error: %q, %v", got, err)
	}
	if p.Pid() != pid {
		t.Fatal("worker changed")
	}
}

func isRemote(err error) bool {
	var re *RemoteError
	return errors.As(err, &re)
}

func crashOf(t *testing.T, err error) *Crash {
	t.Helper()
	var c *Crash
	if !errors.As(err, &c) {
		t.Fatalf("error %v (%T), want a *Crash", err, err)
	}
	return c
}

func TestCrashes(t *testing.T) {
	for _, tc := range []struct {
		req    string
		maxMem int64
		check  func(*Crash) bool
	}{
		{"exit:7", 0, func(c *Crash) bool { return c.ExitCode == 7 && c.Signal == "" }},
		// a segfault (in Go or in C code through cgo): Go's handler prints it and exits 2
		{"segv", 0, func(c *Crash) bool { return c.ExitCode == 2 && strings.Contains(c.Reason, "SIGSEGV") }},
		// the kernel's OOM killer, or anyone's kill -9
		{"kill", 0, func(c *Crash) bool { return c.Signal == "killed" && c.ExitCode == -1 }},
		// past the cap: the Go runtime's allocation fails and it dies
		{"alloc:2048", 512 << 20, func(c *Crash) bool {
			return c.ExitCode == 2 && strings.Contains(c.Reason, "out of memory") && c.PeakRSS > 100<<20 && c.PeakRSS < 700<<20
		}},
	} {
		t.Run(tc.req, func(t *testing.T) {
			if tc.maxMem > 0 && !MemoryCapWorks {
				t.Skip("no memory cap in a race-instrumented build")
			}
			p := start(t, "", tc.maxMem)
			if got, err := p.Do(context.Background(), time.Minute, []byte("echo:ok")); err != nil || string(got) != "ok" {
				t.Fatalf("worker not working before the crash: %q, %v", got, err)
			}
			_, err := p.Do(context.Background(), time.Minute, []byte(tc.req))
			c := crashOf(t, err)
			if !tc.check(c) {
				t.Fatalf("crash %+v", c)
			}
			t.Logf("%v", c)
			if _, err := p.Do(context.Background(), time.Minute, []byte("echo:x")); err == nil {
				t.Fatal("a dead worker answered")
			}
		})
	}
}

// TestMemoryCapLeavesRoomToWork: under the cap a worker does real work.
func TestMemoryCapLeavesRoomToWork(t *testing.T) {
	if !MemoryCapWorks {
		t.Skip("no memory cap in a race-instrumented build")
	}
	p := start(t, "", 512<<20)
	if got, err := p.Do(context.Background(), time.Minute, []byte("alloc:200")); err != nil || string(got) != "allocated" {
		t.Fatalf("200 MiB under a 512 MiB cap: %q, %v", got, err)
	}
}

func TestTimeoutKills(t *testing.T) {
	p := start(t, "", 0)
	pid := p.Pid()
	_, err := p.Do(context.Background(), 300*time.Millisecond, []byte("sleep"))
	c := crashOf(t, err)
	if c.Signal != "killed" || !strings.Contains(c.Reason, "no answer within 300ms") {
		t.Fatalf("crash %+v", c)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Fatal("worker still alive after the timeout")
	}
}

func TestCancelKills(t *testing.T) {
	p := start(t, "", 0)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	if _, err := p.Do(ctx, time.Minute, []byte("sleep")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	if syscall.Kill(p.Pid(), 0) == nil {
		t.Fatal("worker still alive after cancel")
	}
}

func TestSetupError(t *testing.T) {
	exe, _ := os.Executable()
	_, err := Start(context.Background(), Options{Path: exe, Args: []string{"-test.run=^$"}, Env: append(os.Environ(), childEnv+"=1"), Spec: []byte("fail-setup")})
	if err == nil || !strings.Contains(err.Error(), "setup refused") {
		t.Fatalf("Start with a failing setup: %v", err)
	}
}

func TestFrameCap(t *testing.T) {
	var b bytes.Buffer
	b.Write([]byte{0xff, 0xff, 0xff, 0xff, KindAnswer})
	if _, _, err := ReadFrame(&b, 1024); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("4 GiB frame: %v", err)
	}
	b.Reset()
	if err := WriteFrame(&b, KindAnswer, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if k, p, err := ReadFrame(&b, 1024); err != nil || k != KindAnswer || string(p) != "x" {
		t.Fatalf("round trip: %q %q %v", k, p, err)
	}
}

// TestRuntimeEnv: a worker's Go runtime returns memory with MADV_FREE
// unless the user's GODEBUG says otherwise (theirs comes last and wins), and
// gets the memory limit, arena count and a higher GOGC (unless the user set
// one) only with a cap.
func TestRuntimeEnv(t *testing.T) {
	get := func(env []string, name string) []string {
		var vs []string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, name+"="); ok {
				vs = append(vs, v)
			}
		}
		return vs
	}
	env := runtimeEnv([]string{"PATH=/bin", "HOME=/h"}, 0)
	if g := get(env, "GODEBUG"); len(g) != 1 || g[0] != "madvdontneed=0" {
		t.Errorf("GODEBUG %q", g)
	}
	if len(get(env, "GOMEMLIMIT")) != 0 || len(get(env, "PATH")) != 1 {
		t.Errorf("env %q", env)
	}
	env = runtimeEnv([]string{"GODEBUG=madvdontneed=1,gctrace=1", "PATH=/bin"}, 2<<30)
	if g := get(env, "GODEBUG"); len(g) != 1 || g[0] != "madvdontneed=0,madvdontneed=1,gctrace=1" {
		t.Errorf("GODEBUG with the user's %q", g)
	}
	if g := get(env, "GOMEMLIMIT"); len(g) != 1 || g[0] != strconv.FormatInt(3<<29, 10) {
		t.Errorf("GOMEMLIMIT %q", g)
	}
	if g := get(env, "MALLOC_ARENA_MAX"); len(g) != 1 || g[0] != "2" {
		t.Errorf("MALLOC_ARENA_MAX %q", g)
	}
	if g := get(env, "GOGC"); len(g) != 1 || g[0] != strconv.Itoa(workerGOGC) {
		t.Errorf("GOGC %q, want %d with a cap", g, workerGOGC)
	}
	if g := get(runtimeEnv([]string{"PATH=/bin"}, 0), "GOGC"); len(g) != 0 {
		t.Errorf("GOGC %q without a cap", g)
	}
	if g := get(runtimeEnv([]string{"GOGC=50", "PATH=/bin"}, 2<<30), "GOGC"); len(g) != 1 || g[0] != "50" {
		t.Errorf("GOGC %q, want the user's 50 alone", g)
	}
}

// TestSpawnThenSetup: a worker spawned without its spec waits for it, then
// is set up and serves like a started one (memory cap included); one never
// set up is discarded and gone; a dead spawned worker fails Setup.
func TestSpawnThenSetup(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Path: exe, Args: []string{"-test.run=^$"}, Env: append(os.Environ(), childEnv+"=1"), MaxMemory: 1 << 30}
	p, err := Spawn(o)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // it has started and waits for its spec
	o.Spec = []byte("late-")
	if _, err := p.Setup(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	got, err := p.Do(context.Background(), 10*time.Second, []byte("echo:x"))
	if err != nil || string(got) != "late-x" {
		t.Fatalf("Do = %q, %v", got, err)
	}
	if MemoryCapWorks {
		if _, err := p.Do(context.Background(), time.Minute, []byte("alloc:2048")); err == nil {
			t.Error("a spawned worker set up without its memory cap")
		}
	}
	p.Close()

	unused, err := Spawn(o)
	if err != nil {
		t.Fatal(err)
	}
	pid := unused.Pid()
	unused.Discard()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("discarded worker %d still runs", pid)
	}
	unused.Discard() // twice: nothing left to do

	dead, err := Spawn(o)
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(dead.Pid(), syscall.SIGKILL)
	if _, err := dead.Setup(context.Background(), o); err == nil {
		t.Error("a dead spawned worker was set up")
	}
	dead.Discard()
}

// A request sent while the worker is on another waits in the pipe: the
// answers come back in order, and one that crashes the worker is the one
// Receive blames, never the request queued behind it.
func TestQueuedRequests(t *testing.T) {
	ctx := context.Background()
	p := start(t, "q ", 0)
	for i := 0; i < 20; i += 2 {
		for _, n := range []int{i, i + 1} {
			if err := p.Send([]byte(fmt.Sprintf("echo:%d", n))); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range []int{i, i + 1} {
			got, err := p.Receive(ctx, time.Minute)
			if err != nil || string(got) != fmt.Sprintf("q %d", n) {
				t.Fatalf("answer %d: %q, %v", n, got, err)
			}
		}
	}
	if _, err := p.Receive(ctx, time.Minute); err == nil {
		t.Fatal("Receive without a request sent: no error")
	}
	// an answer of several megabytes (past the answer pipe's buffer) and
	// the next request behind it
	if err := p.Send([]byte("big:3")); err != nil {
		t.Fatal(err)
	}
	if err := p.Send([]byte("echo:after")); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Receive(ctx, time.Minute); err != nil || !bytes.Equal(got, bytes.Repeat([]byte("b"), 3<<20)) {
		t.Fatalf("3 MiB answer: %d bytes, %v", len(got), err)
	}
	if got, err := p.Receive(ctx, time.Minute); err != nil || string(got) != "q after" {
		t.Fatalf("after the large answer: %q, %v", got, err)
	}
	// too large to wait behind another
	if err := p.Send([]byte("echo:x")); err != nil {
		t.Fatal(err)
	}
	big := append([]byte("echo:"), bytes.Repeat([]byte("x"), MaxQueuedRequest)...)
	if err := p.Send(big); err == nil {
		t.Fatal("a request over MaxQueuedRequest queued behind another")
	}
	if got, err := p.Receive(ctx, time.Minute); err != nil || string(got) != "q x" {
		t.Fatalf("after the refused request: %q, %v", got, err)
	}
	// the worker dies on the first of two: the crash is the first's
	if err := p.Send([]byte("exit:5")); err != nil {
		t.Fatal(err)
	}
	_ = p.Send([]byte("echo:never")) // may fail: the worker may be gone already
	_, err := p.Receive(ctx, time.Minute)
	if c := crashOf(t, err); c.ExitCode != 5 {
		t.Fatalf("crash %+v, want exit status 5", c)
	}
	if _, err := p.Receive(ctx, time.Minute); err == nil {
		t.Fatal("an answer from a dead worker")
	}
}

// A timeout runs from the Receive call: a request queued behind a slow one
// gets its own time once the one before is answered.
func TestQueuedRequestTimeout(t *testing.T) {
	ctx := context.Background()
	p := start(t, "t ", 0)
	if err := p.Send([]byte("echo:1")); err != nil {
		t.Fatal(err)
	}
	if err := p.Send([]byte("sleep")); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Receive(ctx, time.Minute); err != nil || string(got) != "t 1" {
		t.Fatalf("first: %q, %v", got, err)
	}
	_, err := p.Receive(ctx, 300*time.Millisecond)
	if c := crashOf(t, err); !strings.Contains(c.Reason, "no answer within") {
		t.Fatalf("crash %+v, want the timeout", c)
	}
}

// What a worker prints for one request is not the reason given for the
// crash of the next, queued behind it; the reason is the crash's own first
// line, however late the parent reads the answer before it.
func TestQueuedCrashReasonIsItsOwn(t *testing.T) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		p := start(t, "r ", 0)
		for _, req := range []string{"say:noise from the request before", "segv"} {
			if err := p.Send([]byte(req)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond) // the worker is on the second, or dead, before the first answer is read
		if got, err := p.Receive(ctx, time.Minute); err != nil || string(got) != "said" {
			t.Fatalf("first: %q, %v", got, err)
		}
		_, err := p.Receive(ctx, time.Minute)
		if c := crashOf(t, err); !strings.Contains(c.Reason, "SIGSEGV") || strings.Contains(c.Reason, "noise") {
			t.Fatalf("crash reason %q, want the segfault's own", c.Reason)
		}
	}
}

func TestHeadBufferMarks(t *testing.T) {
	h := &headBuffer{max: 64, mark: []byte("MARK\n")}
	for _, w := range []string{"old line\nMA", "RK\nfatal error: ", "out of memory\n", "trace"} {
		h.Write([]byte(w))
	}
	if got := h.firstLine(); got != "stderr: fatal error: out of memory" {
		t.Errorf("mark split across writes: %q", got)
	}
	h.Write([]byte("MARK\n"))
	h.Write([]byte(strings.Repeat("x", 100)))
	if h.buf.Len() != 64 {
		t.Errorf("kept %d bytes, cap 64", h.buf.Len())
	}
	h.Write([]byte("\nMARK\nnext\n"))
	if got := h.firstLine(); got != "stderr: next" {
		t.Errorf("after a mark past the cap: %q", got)
	}
	// byte by byte: every mark split every way
	h = &headBuffer{max: 64, mark: []byte("MARK\n")}
	for _, c := range []byte("noise MAR\nMARK\nold\nMARKMARK\nfatal: x\nMARK") {
		h.Write([]byte{c})
	}
	if got := h.firstLine(); got != "stderr: fatal: x" {
		t.Errorf("written byte by byte: %q", got)
	}
}
