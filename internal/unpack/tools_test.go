package unpack

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunTool(t *testing.T) {
	ctx := context.Background()

	start := time.Now()
	_, err := RunTool(ctx, 300*time.Millisecond, "", "sleep", "/bin/sleep", "30")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("slow tool: err %v after %s", err, time.Since(start))
	}

	var tm *ToolMissingError
	if _, err := RunTool(ctx, time.Second, "", "7z", ""); !errors.As(err, &tm) || tm.Tool != "7z" {
		t.Errorf("empty path: %v", err)
	}
	if _, err := RunTool(ctx, time.Second, "", "nope", "/nonexistent/nope"); err == nil {
		t.Error("missing binary: no error")
	}

	res, err := RunTool(ctx, 30*time.Second, "", "head", "/usr/bin/head", "-c", "40000000", "/dev/zero")
	if !errors.Is(err, ErrToolOutput) || len(res.Stdout) != MaxToolOutput {
		t.Errorf("flood: err %v, kept %d bytes", err, len(res.Stdout))
	}

	res, err = RunTool(ctx, 5*time.Second, "", "sh", "/bin/sh", "-c", "echo complaint >&2; exit 2")
	if err != nil || res.ExitCode != 2 || FirstLine(res.Stderr) != "complaint" {
		t.Errorf("exit 2: err %v res %+v", err, res)
	}
}
