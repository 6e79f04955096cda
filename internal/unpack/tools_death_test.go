package unpack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// toolPidEnv names, in a helper process, where the tool writes its pid.
const toolPidEnv = "TOMSCAN_TOOL_DEATH_PIDFILE"

// TestHelperToolRunner is not a test: TestToolDiesWithItsRunner starts this
// test binary as a stand-in worker that runs a long tool and waits.
func TestHelperToolRunner(t *testing.T) {
	pidfile := os.Getenv(toolPidEnv)
	if pidfile == "" {
		t.Skip("helper process only")
	}
	_, _ = RunTool(context.Background(), time.Hour, "", "sh", "/bin/sh", "-c", `echo $$ > "$0"; exec sleep 600`, pidfile)
}

// gone says the process has exited (a zombie nobody reaped has exited too).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if gone(pid) {
			return
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("%s (pid %d) outlived the process that started it", what, pid)
}

func readPid(t *testing.T, pidfile string) int {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, err := os.ReadFile(pidfile)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
			return pid
		}
	}
	t.Fatal("the tool never started")
	return 0
}

// TestToolDiesWithItsRunner: a worker killed with SIGKILL in the middle of
// an extraction (the memory cap, kill -9) takes its tool with it.
func TestToolDiesWithItsRunner(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidfile := filepath.Join(t.TempDir(), "tool.pid")
	runner := exec.Command(exe, "-test.run=^TestHelperToolRunner$")
	runner.Env = append(os.Environ(), toolPidEnv+"="+pidfile)
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	tool := readPid(t, pidfile)
	if err := runner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	runner.Wait()
	waitGone(t, tool, "the tool")
}

// TestToolGroupKilledAtDeadline: at the deadline the tool's whole process
// group is killed, so a helper the tool started does not live on.
func TestToolGroupKilledAtDeadline(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "helper.pid")
	_, err := RunTool(context.Background(), time.Second, "", "sh", "/bin/sh", "-c", `sleep 600 & echo $! > "$0"; wait`, pidfile)
	if err == nil {
		t.Fatal("a tool past its deadline returned no error")
	}
	waitGone(t, readPid(t, pidfile), "the tool's helper")
}
