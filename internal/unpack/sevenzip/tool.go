package sevenzip

// Coders bodgit does not decode (Deflate64, the RISC-V and Swap filters,
// whatever 7-Zip adds next) are 7-Zip's to decode: at the first entry that
// needs one, one 7zz run extracts the archive under the scratch root (the
// engine's tool runner: per-file cap, the container's disk cap, timeout),
// and each such entry takes the file 7-Zip wrote with its size and CRC-32.
// Matching by content, not by name, keeps bodgit's names and order: 7-Zip
// rewrites the names it finds unsafe, and names can repeat (entries of
// equal size and CRC-32 are taken as equal content and may share a file). An entry
// without a CRC in the header is matched by its name as 7-Zip writes a
// plain one. Either way the child is then held to the header's size and
// CRC-32 like every other entry.

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"strings"

	sz "github.com/bodgit/sevenzip"

	"github.com/tomscan/tomscan/internal/unpack"
)

// unsupportedCoder tells whether bodgit refused an entry for its coder (its
// error is not exported).
func unsupportedCoder(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unsupported compression algorithm")
}

// toolFiles is what one 7zz run wrote, by size.
type toolFiles struct {
	out    *unpack.OutDir
	bySize map[int64][]string
	crcs   map[string]uint32
	err    error  // why there is nothing (7-Zip missing, the run failed)
	said   string // the run's exit and first line when it failed
	drop   []func()
}

func (t *toolFiles) remove() {
	for _, d := range t.drop {
		d()
	}
}

// extractWithTool runs 7zz over the whole archive once.
func extractWithTool(ctx context.Context, in unpack.Input, sink unpack.Sink) *toolFiles {
	t := &toolFiles{bySize: map[int64][]string{}, crcs: map[string]uint32{}}
	if in.Tools.SevenZip == "" {
		t.err = &unpack.ToolMissingError{Tool: "7z"}
		return t
	}
	file, cleanup, err := unpack.InputPath(in, "7z-in")
	if err != nil {
		t.err = err
		return t
	}
	t.drop = append(t.drop, cleanup)
	out, err := unpack.NewOutDir(in, "7z-out")
	if err != nil {
		t.err = err
		return t
	}
	t.out = out
	t.drop = append(t.drop, func() { out.Remove() })
	// -pX: never wait for a password on the (closed) stdin; -aou: a name the
	// archive repeats is renamed, not overwritten.
	res, err := unpack.RunExtractTool(ctx, in, out, sink, out.Abs, "7z", in.Tools.SevenZip,
		"x", "-t7z", "-y", "-aou", "-bd", "-bb0", "-pX", "-o"+out.Abs, "--", file)
	if err != nil {
		t.err = fmt.Errorf("7-Zip: %w", err)
		return t
	}
	if res.ExitCode != 0 {
		t.said = unpack.SevenZipFailure(res)
	}
	files, _, err := out.Files(ctx, in.Limits.MaxEntries)
	if err != nil && len(files) == 0 {
		t.err = fmt.Errorf("7-Zip's output: %w", err)
		return t
	}
	for _, p := range files {
		f, size, err := out.Open(p)
		if err != nil {
			continue
		}
		f.Close()
		t.bySize[size] = append(t.bySize[size], p)
	}
	return t
}

// open returns the file 7-Zip wrote for f, or why there is none.
func (t *toolFiles) open(ctx context.Context, f *sz.File) (io.ReadCloser, error) {
	if t.err != nil {
		return nil, t.err
	}
	if f.UncompressedSize >= 1<<62 {
		return nil, errors.New("declared size out of range")
	}
	for _, p := range t.bySize[int64(f.UncompressedSize)] {
		if f.CRC32 == 0 {
			if p != path.Clean(strings.ReplaceAll(f.Name, "\\", "/")) {
				continue
			}
		} else if crc, err := t.crc(ctx, p); err != nil || crc != f.CRC32 {
			continue
		}
		file, _, err := t.out.Open(p)
		if err != nil {
			return nil, err
		}
		return file, nil // content-equal entries may share one file
	}
	why := "7-Zip wrote no file of its size and CRC-32"
	if t.said != "" {
		why += " (" + t.said + ")"
	}
	return nil, errors.New(why)
}

func (t *toolFiles) crc(ctx context.Context, p string) (uint32, error) {
	if c, ok := t.crcs[p]; ok {
		return c, nil
	}
	f, _, err := t.out.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, unpack.ContextReader(ctx, f, "7z")); err != nil {
		return 0, err
	}
	t.crcs[p] = h.Sum32()
	return t.crcs[p], nil
}
