package unpack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// flooder stands in for an extracting tool fed a hostile archive: a shell
// loop that writes file after file, each small enough for the per-file
// prlimit, forever.
type flooder struct{ fileBytes int }

func (flooder) Name() string                    { return "flooder" }
func (flooder) Match(head []byte, _ int64) bool { return strings.HasPrefix(string(head), "FLOOD") }
func (f flooder) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	out, err := unpack.NewOutDir(in, "flood")
	if err != nil {
		return err
	}
	defer out.Remove()
	script := fmt.Sprintf(`i=0; while :; do head -c %d /dev/zero > "$0/f$i"; i=$((i+1)); done`, f.fileBytes)
	res, err := unpack.RunExtractTool(ctx, in, out, sink, "", "flood", "/bin/sh", "-c", script, out.Abs)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		sink.Issue(artifact.KindExtract, fmt.Sprintf("flood: %s", res.State))
	}
	_, err = unpack.EmitDir(ctx, out, sink, in.Limits.MaxEntries, nil)
	return err
}

// A tool that writes without end is killed once its folder passes the disk
// cap (bytes, or number of files), the hit is a limit issue on the node, and
// what it wrote is still read back. Without the watcher the loop would run
// until ToolTimeout, reported as a timeout instead.
func TestToolKilledAtDiskCap(t *testing.T) {
	for _, c := range []struct {
		name      string
		fileBytes int
		limits    func(*limits.Limits)
	}{
		{"bytes", 256 << 10, func(l *limits.Limits) { l.MaxRatio = 1000 }}, // cap: 1000 x 5 bytes -> 1 MiB floor
		{"files", 0, func(l *limits.Limits) { l.MaxEntries = 40 }},         // empty files, many of them
		{"total", 64 << 10, func(l *limits.Limits) { l.MaxTotalBytes = 3 << 20; l.MaxRatio = 1e9 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := limits.Default()
			l.ToolTimeout = 2 * time.Minute
			c.limits(&l)
			root := unpacktest.RunEngine(context.Background(), t, []unpack.Extractor{flooder{c.fileBytes}}, "flood.bin", []byte("FLOOD"), l)
			if !hasIssue(root, root.ID, artifact.KindLimit, "tool output on disk over the cap") {
				t.Fatalf("no disk-cap issue: %v", unpacktest.Issues(root))
			}
			if hasIssue(root, root.ID, artifact.KindExtract, "killed after") {
				t.Errorf("the tool ran into its timeout instead of the disk cap: %v", unpacktest.Issues(root))
			}
			var read int64
			for _, ch := range root.Children {
				read += ch.Size
			}
			in := unpack.Input{Limits: l, Blob: artifact.MemoryBlob([]byte("FLOOD"))}
			maxBytes, maxFiles := unpack.DiskCap(in)
			if len(root.Children) == 0 && c.fileBytes > 0 {
				t.Error("nothing written before the cap was read back")
			}
			t.Logf("cap %d bytes / %d files; read back %d files, %d bytes", maxBytes, maxFiles-1, len(root.Children), read)
		})
	}
}
