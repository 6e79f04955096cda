package unpack

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// SLTItem is one block of `7z l -slt` output: "Key = Value" lines.
type SLTItem map[string]string

// ParseSLT splits `7z l -slt` output into the archive's own properties (the
// block before the "----------" line) and one item per entry.
func ParseSLT(out []byte) (archive SLTItem, items []SLTItem) {
	archive = SLTItem{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	inItems := false
	var cur SLTItem
	flush := func() {
		if cur != nil && cur["Path"] != "" {
			items = append(items, cur)
		}
		cur = nil
	}
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case line == "----------":
			inItems = true
			continue
		case line == "":
			if inItems {
				flush()
			}
			continue
		}
		k, v, ok := strings.Cut(line, " = ")
		if !ok {
			if k2, found := strings.CutSuffix(line, " ="); found {
				k, v, ok = k2, "", true
			}
		}
		if !ok {
			continue
		}
		if !inItems {
			if k != "Path" || archive["Path"] == "" {
				archive[k] = v
			}
			continue
		}
		if cur == nil {
			cur = SLTItem{}
		}
		cur[k] = v
	}
	flush()
	return archive, items
}

// Size is the item's declared size, -1 when 7z does not know it (solid NSIS).
func (it SLTItem) Size() int64 {
	n, err := strconv.ParseInt(it["Size"], 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// IsDir tells whether the item is a folder.
func (it SLTItem) IsDir() bool {
	return it["Folder"] == "+" || strings.Contains(it["Attributes"], "D")
}

// cappedCommand prefixes a tool run with prlimit, when installed, so that no
// single file the tool writes can exceed maxFile bytes: an external extractor
// is otherwise outside our byte limits until we read its output back.
// Extractors reach it through RunExtractTool, which also caps the total.
func cappedCommand(maxFile int64, path string, args []string) (string, []string) {
	pl, err := exec.LookPath("prlimit")
	if err != nil || maxFile <= 0 {
		return path, args
	}
	return pl, append([]string{"--fsize=" + strconv.FormatInt(maxFile, 10), "--", path}, args...)
}

// EmitDir emits every regular file under d, sorted by name, and reports
// anything else the tool wrote (links, devices) as issues, never following it.
// meta, when set, gives each child its extractor facts.
func EmitDir(ctx context.Context, d *OutDir, sink Sink, maxFiles int, meta func(name string) map[string]string) (int, error) {
	return EmitDirNamed(ctx, d, sink, maxFiles, func(name string) (string, map[string]string) {
		if meta == nil {
			return name, nil
		}
		return name, meta(name)
	})
}

// EmitDirNamed is EmitDir where name maps each extracted path to the
// child's name and facts.
func EmitDirNamed(ctx context.Context, d *OutDir, sink Sink, maxFiles int, name func(path string) (string, map[string]string)) (int, error) {
	return EmitDirEntries(ctx, d, sink, maxFiles, func(path string, body io.Reader, size int64) Entry {
		child, m := name(path)
		return Entry{Name: child, Size: size, Meta: m, Body: body}
	})
}

// EmitDirEntries is EmitDir where entry makes each child from the extracted
// path and its open file (to name it, give it facts, or wrap its body).
func EmitDirEntries(ctx context.Context, d *OutDir, sink Sink, maxFiles int, entry func(path string, body io.Reader, size int64) Entry) (int, error) {
	files, others, err := d.Files(ctx, maxFiles)
	for _, o := range others {
		sink.Issue("unsafe-name", fmt.Sprintf("the tool wrote %q, which is not a regular file: not read", o))
	}
	if err != nil {
		sink.Issue("limit", fmt.Sprintf("listing extracted files: %v", err))
	}
	n := 0
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		f, size, err := d.Open(path)
		if err != nil {
			sink.Issue("extract-error", fmt.Sprintf("open extracted %q: %v", path, err))
			continue
		}
		err = sink.Emit(ctx, entry(path, f, size))
		f.Close()
		n++
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
