package unpack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
)

// diskPoll is how often RunExtractTool measures what a tool has written.
// prlimit caps each file the kernel lets the tool write; the poll bounds the
// sum, overshooting by at most what the tool writes in one interval.
const diskPoll = 20 * time.Millisecond

// ErrToolDiskCap says an extracting tool wrote more to disk than the
// container may expand to, and was killed.
var ErrToolDiskCap = errors.New("tool output on disk over the cap")

// DiskCap is what one extracting tool run may write under its output folder:
// no more bytes than the container may expand to (its ratio allowance, as
// the engine charges children, and never more than the build's
// MaxTotalBytes), no more files than MaxEntries. Without it a hostile
// archive could fill the disk with many files each under the per-file
// prlimit before anything is read back.
func DiskCap(in Input) (bytes int64, files int) {
	return min(ratioAllowance(in.Limits, in.Blob.Size()), in.Limits.MaxTotalBytes), in.Limits.MaxEntries + 1
}

// RunExtractTool runs a tool that extracts into out: each file capped by
// prlimit at MaxEntryBytes, the run by ToolTimeout, and the folder's total by
// DiskCap, polled while the tool runs. A tool that goes over the disk cap is
// killed; that is a limit issue recorded on the node through sink, and the
// result is returned without error so that the caller reads back what was
// written within the cap, like any extractor that stops at a limit.
func RunExtractTool(ctx context.Context, in Input, out *OutDir, sink Sink, dir, tool, path string, args ...string) (*ToolResult, error) {
	if path == "" {
		return nil, &ToolMissingError{Tool: tool}
	}
	maxBytes, maxFiles := DiskCap(in)
	runCtx, kill := context.WithCancel(ctx)
	defer kill()

	var (
		wg                sync.WaitGroup
		over              bool
		gotBytes, gotFile = int64(0), 0
		done              = make(chan struct{})
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(diskPoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-runCtx.Done():
				return
			case <-t.C:
			}
			b, n := out.usage(maxFiles)
			if b > maxBytes || n > maxFiles {
				over, gotBytes, gotFile = true, b, n
				kill()
				return
			}
		}
	}()
	capped, cappedArgs := cappedCommand(in.Limits.MaxEntryBytes, path, args)
	res, err := RunTool(runCtx, in.Limits.ToolTimeout, dir, tool, capped, cappedArgs...)
	close(done)
	wg.Wait()
	if over && ctx.Err() == nil {
		sink.Issue(artifact.KindLimit, fmt.Sprintf("%s: %v: %d bytes in %d files written (cap %d bytes, %d files): killed; what it wrote is read back within the limits",
			tool, ErrToolDiskCap, gotBytes, gotFile, maxBytes, maxFiles-1))
		if res == nil {
			res = &ToolResult{ExitCode: -1, State: "killed"}
		}
		return res, nil
	}
	return res, err
}

// usage sums the sizes of what is under the folder and counts its entries,
// stopping once the count passes stopAt. Links are counted, never followed.
func (d *OutDir) usage(stopAt int) (bytes int64, entries int) {
	sub, err := d.in.Scratch.OSRoot().OpenRoot(d.rel)
	if err != nil {
		return 0, 0
	}
	defer sub.Close()
	errStop := errors.New("stop")
	_ = fs.WalkDir(sub.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return nil // a file vanishing mid-walk is the tool's business
		}
		entries++
		if e.Type().IsRegular() {
			if info, err := e.Info(); err == nil {
				bytes += info.Size()
			}
		}
		if entries > stopAt {
			return errStop
		}
		return nil
	})
	return bytes, entries
}
