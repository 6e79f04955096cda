package gen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// fixedEpoch is the corpus's clock: 2011-04-27 00:00:00 UTC, a date of the
// TOM-Skype era. Every file time, archive date and signing time uses it.
const fixedEpoch = 1303862400

// run executes a reference tool in dir with a fixed environment (UTC, fixed
// SOURCE_DATE_EPOCH, C locale) so outputs do not depend on the caller.
func run(ctx context.Context, dir string, extraEnv []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"TZ=UTC",
		"LC_ALL=C",
		fmt.Sprintf("SOURCE_DATE_EPOCH=%d", fixedEpoch),
	}, extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String() + "\n" + stdout.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "..."
		}
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}
