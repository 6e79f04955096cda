package unpack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// FindTools looks the external programs up on PATH; a missing one stays "".
func FindTools() Tools {
	look := func(names ...string) string {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
		}
		return ""
	}
	return Tools{
		SevenZip:    look("7zz", "7z"),
		Innoextract: look("innoextract"),
		Msiinfo:     look("msiinfo"),
		Cabextract:  look("cabextract"),
		Unshield:    look("unshield"),
		Unar:        look("unar"),
	}
}

// MaxToolOutput caps what RunTool keeps of a tool's stdout and stderr each:
// a listing of a hostile archive can be made arbitrarily long.
const MaxToolOutput = 32 << 20

// ErrToolOutput says a tool printed more than MaxToolOutput.
var ErrToolOutput = errors.New("tool output over the cap")

// ToolResult is what one external tool run printed.
type ToolResult struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int    // -1 when the tool was killed by a signal (a crash)
	State    string // "exit status 2", "signal: segmentation fault"
}

// RunTool runs the program at path with args, never through a shell, within
// timeout, in dir ("" for the current folder), with stdin closed. A missing
// program is a *ToolMissingError; a run that outlives timeout or ctx is
// killed and reported as context.DeadlineExceeded. A non-zero exit is not an
// error here: archivers exit 2 on a damaged entry after extracting the rest,
// so callers read the result and decide.
func RunTool(ctx context.Context, timeout time.Duration, dir, tool, path string, args ...string) (*ToolResult, error) {
	if path == "" {
		return nil, &ToolMissingError{Tool: tool}
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.Env = []string{"LC_ALL=C.UTF-8", "LANG=C.UTF-8", "PATH=/usr/bin:/bin"}
	cmd.WaitDelay = 2 * time.Second
	// Its own process group, killed whole at the deadline, so a tool's
	// helpers go with it; and SIGKILL when the process that started it dies
	// (a worker killed at its memory cap, tomscan killed with -9), so no
	// tool keeps writing into scratch after the run is gone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stdout := &capped{max: MaxToolOutput}
	stderr := &capped{max: MaxToolOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	res := &ToolResult{Stdout: stdout.buf.Bytes(), Stderr: stderr.buf.Bytes()}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
		res.State = cmd.ProcessState.String()
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return res, fmt.Errorf("%s: killed after %s: %w", tool, timeout, ctxErr)
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		err = nil
	case errors.Is(err, exec.ErrNotFound):
		return nil, &ToolMissingError{Tool: tool}
	case err != nil:
		return res, fmt.Errorf("%s: run: %w", tool, err)
	}
	if stdout.over || stderr.over {
		return res, fmt.Errorf("%s: %w (%d bytes)", tool, ErrToolOutput, MaxToolOutput)
	}
	return res, nil
}

// FirstLine returns the first non-empty line of b, trimmed and capped, for
// issue messages quoting a tool's complaint.
func FirstLine(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) > 300 {
				l = l[:300]
			}
			return l
		}
	}
	return ""
}

// capped is a writer that keeps at most max bytes and drops the rest, so a
// tool cannot grow our memory; it never fails, so the tool is not killed by
// a broken pipe before it finishes extracting.
type capped struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room < len(p) {
		c.over = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}
