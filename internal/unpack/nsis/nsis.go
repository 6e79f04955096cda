// Package nsis unpacks Nullsoft installers. 7z lists (`l -slt`) and
// extracts into a fresh folder of the scratch root, read back through the
// root so nothing leads outside. The installer's script (files, exec,
// registry, shortcuts tables) comes from our own header decoder, package
// nsis/script, and with it our own reader of the files (items.go, zlib,
// NSIS bzip2 via package nsis/bzip2, LZMA; solid or not): it extracts
// when 7z cannot, supplies what 7z did not extract, and cross-checks 7z's
// listing.
package nsis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
	nsisscript "github.com/tomscan/tomscan/internal/unpack/nsis/script"
	"github.com/tomscan/tomscan/pe"
)

// ScriptName is the decompiled script some 7z builds expose as an entry.
const ScriptName = "[NSIS].nsi"

// maxScript caps the script kept in the report.
const maxScript = 8 << 20

// signature follows the 4-byte flags of NSIS's first header, which starts
// on a 512-byte boundary of the installer.
var signature = []byte("\xef\xbe\xad\xdeNullsoftInst")

// Extractor is the NSIS extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "nsis" }

// Match implements unpack.Extractor: any PE; Extract looks for the header.
func (Extractor) Match(head []byte, size int64) bool { return pe.IsPE(head) }

// Find returns the offset of NSIS's first header, or -1. It reads the blob
// front to back once, in chunks, so a spilled installer is not loaded.
func Find(ctx context.Context, r io.Reader) (int64, error) {
	chunk := 1 << 20 // a multiple of 512
	if sz, ok := r.(interface{ Size() int64 }); ok && sz.Size() < int64(chunk) {
		// Find runs on every PE: a small one gets a buffer its size
		// (rounded up to 512), not a cleared MiB.
		chunk = int(max(sz.Size(), 0)+1+511) &^ 511 // one read, which meets the end
	}
	buf := make([]byte, chunk+32)
	var base int64
	for {
		if err := ctx.Err(); err != nil {
			return -1, err
		}
		n, err := io.ReadFull(r, buf[:chunk])
		if off := FindBytes(buf[:n]); off >= 0 {
			return base + off, nil
		}
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return -1, nil
			}
			return -1, err
		}
		base += int64(n)
	}
}

// FindBytes is Find over bytes in memory (and Find's search of each chunk
// it reads, which starts on a sector).
func FindBytes(data []byte) int64 {
	for off := 0; off+4+len(signature) <= len(data); off += 512 {
		if bytes.Equal(data[off+4:off+4+len(signature)], signature) {
			return int64(off)
		}
	}
	return -1
}

// Extract implements unpack.Extractor.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	var off int64
	var err error
	if data, ok := artifact.InMemoryBytes(in.Blob.ReaderAt()); ok {
		off = FindBytes(data) // Find runs on every PE: no copy of one in memory
	} else {
		off, err = Find(ctx, in.Blob.Reader())
	}
	if err != nil {
		return fmt.Errorf("nsis: scan: %w", err)
	}
	if off < 0 {
		return nil // not an NSIS installer: the next extractor gets it
	}
	checkLength(ctx, in, off, sink)
	if in.Tools.SevenZip == "" {
		return fmt.Errorf("nsis: installer header at %d: %w", off, &unpack.ToolMissingError{Tool: "7z"})
	}
	// Our own decoder reads the compiled script from the header: what the
	// installer would do, which Debian's 7z builds do not decompile.
	decoded, decErr := nsisscript.Decode(ctx, in.Blob.ReaderAt(), in.Blob.Size())
	if err := ctx.Err(); err != nil {
		return err
	}
	path, cleanup, err := unpack.InputPath(in, "nsis-in")
	if err != nil {
		return fmt.Errorf("nsis: %w", err)
	}
	defer cleanup()

	res, err := unpack.RunTool(ctx, in.Limits.ToolTimeout, "", "7z", in.Tools.SevenZip, "l", "-slt", "-tNsis", "-sccUTF-8", "--", path)
	if err != nil {
		return fmt.Errorf("nsis: list: %w", err)
	}
	archive, items := unpack.ParseSLT(res.Stdout)
	if archive["Type"] != "Nsis" {
		// 7-Zip 26.02 guesses an installer's compression from its first
		// bytes and fails on some solid zlib installers.
		msg := toolComplaint(res, path)
		if decErr == nil {
			return readOwn(ctx, in, sink, decoded, "7z cannot open it ("+msg+")")
		}
		// Without the script, the files have no names: the raw reader
		// still gets a solid zlib installer's bytes, named by offset.
		if n, rerr := readSolidZlib(ctx, in, sink, off); !errors.Is(rerr, errNotSolidZlib) {
			sink.Installer(&artifact.Installer{Format: "nsis"})
			sink.Issue(artifact.KindUnsupported, fmt.Sprintf("nsis: 7z cannot read this solid zlib installer (%s): %d blocks read raw, named by data offset; file names and script unknown (script not decoded: %v)", msg, n, decErr))
			return rerr
		}
		return fmt.Errorf("nsis: header at %d but 7z cannot read this installer (%s; 7-Zip misreads some solid zlib installers) and the script was not decoded (%v): %w", off, msg, decErr, unpack.ErrUnsupported)
	}
	info := &artifact.Installer{Format: "nsis", Tables: map[string]artifact.Table{"files": filesTable(items)}}
	if decErr == nil {
		// The decoded tables; 7z's listing stays as "listed".
		info = decoded.Installer()
		info.Tables["listed"] = filesTable(items)
	}

	dir, err := unpack.NewOutDir(in, "nsis-out")
	if err != nil {
		sink.Installer(info)
		return fmt.Errorf("nsis: %w", err)
	}
	defer dir.Remove()
	res, err = unpack.RunExtractTool(ctx, in, dir, sink, "", "7z", in.Tools.SevenZip,
		"x", "-tNsis", "-y", "-bd", "-aou", "-sccUTF-8", "-o"+dir.Abs, "--", path)
	if err != nil {
		if decErr == nil && ctx.Err() == nil {
			dir.Remove()
			return readOwn(ctx, in, sink, decoded, fmt.Sprintf("7z cannot extract it (%v)", err))
		}
		sink.Installer(info)
		return fmt.Errorf("nsis: extract: %w", err)
	}
	if res.ExitCode != 0 {
		sink.Issue(artifact.KindExtract, "nsis: 7z "+unpack.SevenZipFailure(res))
	}

	if decErr == nil {
		dir.Remove1(ScriptName) // our decoded script is kept; 7z's, if any, is not a child
	} else if f, _, err := dir.Open(ScriptName); err == nil {
		script, rerr := io.ReadAll(io.LimitReader(f, maxScript+1))
		f.Close()
		if rerr == nil {
			if len(script) > maxScript {
				script = script[:maxScript]
				sink.Issue(artifact.KindLimit, fmt.Sprintf("nsis: script longer than %d bytes: truncated", maxScript))
			}
			info.Script = strings.ToValidUTF8(string(script), "\uFFFD")
		}
		dir.Remove1(ScriptName)
	} else {
		sink.Issue(artifact.KindUnsupported, fmt.Sprintf("nsis: script not decompiled: this 7z build does not expose [NSIS].nsi and tomscan's decoder failed (%v); only the file list is recorded", decErr))
	}
	sink.Installer(info)

	meta := map[string]map[string]string{}
	listed := map[string]bool{}
	sizes := map[string][]int64{}
	for _, it := range items {
		if it.IsDir() || it["Path"] == ScriptName {
			continue
		}
		name := strings.ReplaceAll(it["Path"], "\\", "/")
		listed[name] = true
		sizes[name] = append(sizes[name], it.Size())
		m := map[string]string{}
		for _, k := range []string{"Method", "Solid", "Modified"} {
			if v := it[k]; v != "" {
				m[strings.ToLower(k)] = v
			}
		}
		meta[name] = m
	}
	emitted := map[string]int{}
	_, fileSaid := unpack.SevenZipSays(res.Stderr)
	_, err = unpack.EmitDirEntries(ctx, dir, sink, in.Limits.MaxEntries, func(written string, body io.Reader, size int64) unpack.Entry {
		// 7z -aou writes a repeated name as "name_1.ext": the child keeps
		// the listed name, and the engine numbers repeats ("name#2").
		name := written
		if !listed[name] {
			if orig := dedupedName(name); listed[orig] {
				name = orig
			}
		}
		emitted[name]++
		// A file 7z wrote short (an installer cut off, a damaged block) is
		// held to the size 7z listed for it, when it listed the name once
		// with a size, and carries 7z's own verdict on it.
		if s := sizes[name]; len(s) == 1 && s[0] >= 0 {
			body = unpack.CheckedReader(body, unpack.Declared{Size: uint64(s[0]), HasSize: true}, "nsis: against 7z's listing")
		}
		if msg := fileSaid[written]; msg != "" {
			body = unpack.ErrAtEnd(body, fmt.Errorf("7z: %s", msg))
		}
		return unpack.Entry{Name: name, Size: size, Meta: meta[name], Body: body}
	})
	if err == nil && decErr == nil {
		// Our reader checks 7z's work and supplies what 7z did not extract.
		err = crossCheck(ctx, in, sink, decoded, items, emitted)
	}
	var missing []string
	for name := range listed {
		if emitted[name] == 0 {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 && err == nil {
		sink.Issue(artifact.KindExtract, fmt.Sprintf("nsis: %d listed entries not extracted: %s", len(missing), strings.Join(first(missing, 20), ", ")))
	}
	return err
}

func filesTable(items []unpack.SLTItem) artifact.Table {
	t := artifact.Table{Columns: []string{"path", "size", "method", "modified"}}
	for _, it := range items {
		if it.IsDir() {
			continue
		}
		t.Rows = append(t.Rows, []string{it["Path"], it["Size"], it["Method"], it["Modified"]})
	}
	return t
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

// toolComplaint picks 7z's error line out of its output, with our scratch
// path replaced so that messages are the same on every machine.
func toolComplaint(res *unpack.ToolResult, path string) string {
	for _, out := range [][]byte{res.Stdout, res.Stderr} {
		for _, l := range strings.Split(string(out), "\n") {
			l = strings.TrimSpace(strings.ReplaceAll(l, path, "input"))
			if strings.Contains(l, "Cannot open") || strings.Contains(l, "ERROR") && !strings.HasSuffix(l, "input : input") {
				return l
			}
		}
	}
	return "7z does not open it as NSIS"
}

// renamed matches 7z's -aou renaming: "$5_1", "dir/a_2.txt".
var renamed = regexp.MustCompile(`^(.*?)_[0-9]+((?:\.[^./]*)?)$`)

// dedupedName undoes 7z's -aou renaming of a repeated name, or returns "".
func dedupedName(name string) string {
	m := renamed.FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}
