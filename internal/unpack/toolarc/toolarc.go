// Package toolarc reads the archive and image formats that have no Go
// reader worth trusting here, through Debian's tools and the engine's tool
// runner (unpack.RunExtractTool: prlimit per file, the container's disk cap,
// the tool timeout): 7-Zip for ISO 9660, UDF, WIM, xar, cpio, ar/deb, RPM,
// ARJ, LZH, SZDD, SquashFS, CHM and .Z; unar for RAR and StuffIt (Debian's
// 7-Zip is built without RAR).
//
// The format is the one filetype sniffed, passed to the tool explicitly so
// that it cannot reinterpret the bytes as something else. Files come back
// through unpack.EmitDir, which reads only regular files under the scratch
// root and reports anything else the tool wrote.
package toolarc

import (
	"context"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/unpack"
)

// sevenZipTypes maps a sniffed type to 7-Zip's -t name.
var sevenZipTypes = map[string]string{
	filetype.ISO9660:   "Iso",
	filetype.UDF:       "Udf",
	filetype.WIM:       "Wim",
	filetype.Xar:       "Xar",
	filetype.Cpio:      "Cpio",
	filetype.Ar:        "Ar",
	filetype.Deb:       "Ar",
	filetype.RPM:       "Rpm",
	filetype.ARJ:       "Arj",
	filetype.LZH:       "Lzh",
	filetype.MSLZ:      "MsLZ",
	filetype.SquashFS:  "SquashFS",
	filetype.CHM:       "Chm",
	filetype.ZCompress: "Z",
}

// unarTypes are the formats unar reads and 7-Zip (as Debian builds it) does not.
var unarTypes = map[string]bool{filetype.RAR: true, filetype.StuffIt: true}

// SevenZip is the extractor for the formats 7-Zip reads.
type SevenZip struct{}

// Name implements unpack.Extractor.
func (SevenZip) Name() string { return "7z-cli" }

// Match implements unpack.Extractor.
func (SevenZip) Match(head []byte, size int64) bool {
	return sevenZipTypes[filetype.Sniff(head)] != ""
}

// Extract implements unpack.Extractor.
func (SevenZip) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	kind := filetype.Sniff(in.Blob.Head(filetype.HeadSize))
	t := sevenZipTypes[kind]
	if t == "" {
		return nil
	}
	return run(ctx, in, sink, "7z", in.Tools.SevenZip, kind, singleName(in, kind), func(file, out string) []string {
		// -p with a dummy: never wait for a password on the (closed) stdin.
		return []string{"x", "-y", "-bd", "-bb0", "-t" + t, "-pX", "-o" + out, "--", file}
	})
}

// Unar is the extractor for RAR and StuffIt.
type Unar struct{}

// Name implements unpack.Extractor.
func (Unar) Name() string { return "unar" }

// Match implements unpack.Extractor.
func (Unar) Match(head []byte, size int64) bool { return unarTypes[filetype.Sniff(head)] }

// Extract implements unpack.Extractor. Passwords are not tried on RAR
// (no encrypted RAR can be made here to test it): a protected archive is the
// tool's error, quoted in an extract-error issue.
func (Unar) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	kind := filetype.Sniff(in.Blob.Head(filetype.HeadSize))
	if !unarTypes[kind] {
		return nil
	}
	return run(ctx, in, sink, "unar", in.Tools.Unar, kind, "", func(file, out string) []string {
		// -nr: the engine recurses, not unar; -k skip: no AppleDouble side files.
		return []string{"-q", "-f", "-D", "-nr", "-k", "skip", "-o", out, "--", file}
	})
}

// toolName names the tools in child errors.
var toolName = map[string]string{"7z": "7-Zip", "unar": "unar"}

// unarLine is unar's report of a file it failed: `  dir/b.bin  (50000 B)...
// Failed! (Wrong checksum)`. unar leaves such a file on disk, short or whole.
var unarLine = regexp.MustCompile(`^\s+(.+?)\s+\(\d+ B\)\.\.\. Failed! \((.*)\)\s*$`)

// unarSays maps the paths unar printed as failed to why.
func unarSays(out []byte) map[string]string {
	files := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if m := unarLine.FindStringSubmatch(line); m != nil {
			files[m[1]] = m[2]
		}
	}
	return files
}

// singleName names the one child of a single-stream format (SZDD, .Z) the
// way compressed streams are named (docs/contracts.md), instead of after our
// scratch copy: SZDD restores the last character it replaced by "_" (kept in
// its header), .Z drops its extension; else the parent's name is kept.
func singleName(in unpack.Input, kind string) string {
	name := "[decompressed]"
	if in.Node != nil && in.Node.Name != "" {
		name = path.Base(in.Node.Name)
	}
	switch kind {
	case filetype.MSLZ:
		h := in.Blob.Head(10)
		if len(h) == 10 && strings.HasSuffix(name, "_") && h[9] >= 0x20 && h[9] < 0x7f {
			return name[:len(name)-1] + string(rune(h[9]))
		}
		return name
	case filetype.ZCompress:
		if b, ok := strings.CutSuffix(name, ".Z"); ok && b != "" {
			return b
		}
		return name
	}
	return ""
}

// run extracts in's bytes with one tool into a fresh scratch folder and
// emits what it wrote. A tool that fails after writing some files keeps
// them; the failure is an issue (or the returned error when nothing came out).
func run(ctx context.Context, in unpack.Input, sink unpack.Sink, tool, path, kind, single string, args func(file, out string) []string) error {
	if path == "" {
		return &unpack.ToolMissingError{Tool: tool}
	}
	file, cleanup, err := unpack.InputPath(in, "arc-in")
	if err != nil {
		return fmt.Errorf("%s: %w", tool, err)
	}
	defer cleanup()
	out, err := unpack.NewOutDir(in, "arc-out")
	if err != nil {
		return fmt.Errorf("%s: %w", tool, err)
	}
	defer out.Remove()
	res, err := unpack.RunExtractTool(ctx, in, out, sink, out.Abs, tool, path, args(file, out.Abs)...)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", tool, filetype.Describe(kind), err)
	}
	var fileSaid map[string]string
	switch tool {
	case "7z":
		_, fileSaid = unpack.SevenZipSays(res.Stderr)
	case "unar":
		fileSaid = unarSays(append(res.Stdout, res.Stderr...))
	}
	n, emitErr := unpack.EmitDirEntries(ctx, out, sink, in.Limits.MaxEntries, func(p string, body io.Reader, size int64) unpack.Entry {
		if msg := fileSaid[p]; msg != "" {
			// The tool's verdict on a file it wrote and left behind (7-Zip's
			// "Data Error", unar's "Wrong checksum"), over its bytes as
			// written: never a clean child.
			body = unpack.ErrAtEnd(body, fmt.Errorf("%s: %s", toolName[tool], msg))
		}
		name := p
		if single != "" {
			name = single
		}
		return unpack.Entry{Name: name, Size: size, Body: body}
	})
	if emitErr != nil {
		return emitErr
	}
	if res.ExitCode == 0 && n == 0 {
		// unar exits 0 on a RAR signature followed by garbage: an archive
		// that yields nothing is never taken for an empty one in silence.
		return fmt.Errorf("%s: %s: the tool extracted no file (damaged, or empty)", tool, filetype.Describe(kind))
	}
	if res.ExitCode != 0 {
		var err error
		if tool == "7z" {
			err = fmt.Errorf("%s: %s: %s", tool, filetype.Describe(kind), unpack.SevenZipFailure(res))
		} else {
			msg := unpack.FirstLine(res.Stderr)
			if msg == "" {
				msg = unpack.FirstLine(res.Stdout)
			}
			if msg == "" {
				msg = res.State
			}
			err = fmt.Errorf("%s: %s: exit %d: %s", tool, filetype.Describe(kind), res.ExitCode, msg)
		}
		if n == 0 {
			return err
		}
		sink.Issue(artifact.KindExtract, err.Error()+fmt.Sprintf(" (%d files extracted before)", n))
	}
	return nil
}
