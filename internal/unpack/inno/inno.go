// Package inno unpacks Inno Setup installers through innoextract 1.9, which
// reads Inno Setup up to 6.0.5 (no Go reader of file data exists). What the
// installer would do (files and where they go, directories, registry
// values, run entries, shortcuts) comes from our own reader of the setup
// data, package inno/setupdata, since innoextract does not print it. A
// version either cannot read is a clear "unsupported" issue on the node,
// never a silent empty result.
package inno

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/inno/setupdata"
	"github.com/tomscan/tomscan/pe"
)

// markers are byte strings only Inno Setup's loader or data carry: the
// loader's offset table ("rDlPtS", in the exe or its RCDATA 11111) and the
// setup data header.
var markers = [][]byte{[]byte("rDlPtS"), []byte("Inno Setup Setup Data (")}

// Extractor is the Inno Setup extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "inno" }

// Match implements unpack.Extractor: any PE; Extract looks for the markers.
func (Extractor) Match(head []byte, size int64) bool { return pe.IsPE(head) }

// Find tells whether r holds an Inno Setup marker, reading it once in chunks
// that overlap by the longest marker.
func Find(ctx context.Context, r io.Reader) (bool, error) {
	chunk := 1 << 20
	const overlap = 32
	if sz, ok := r.(interface{ Size() int64 }); ok && sz.Size() < int64(chunk) {
		// Find runs on every PE: a small one gets a buffer its size, not
		// a cleared MiB.
		chunk = int(max(sz.Size(), 0)) + 1 // one read, which meets the end
	}
	buf := make([]byte, overlap+chunk)
	keep := 0
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		n, err := io.ReadFull(r, buf[keep:keep+chunk])
		win := buf[:keep+n]
		for _, m := range markers {
			if bytes.Contains(win, m) {
				return true, nil
			}
		}
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return false, nil
			}
			return false, err
		}
		keep = copy(buf, win[len(win)-overlap:])
	}
}

// markerPastImage tells, for a PE whose offset table we cannot read,
// whether it still is an Inno Setup installer: one of a table revision we
// do not know (a newer Inno Setup's, which must reach innoextract and become
// an issue) still has its setup data appended, so a marker lies past the PE
// image. Inno's compiler, its DLLs and bare loader stubs hold the markers
// inside their sections and have no appended data: they are not installers.
func markerPastImage(ctx context.Context, in unpack.Input) (bool, error) {
	ra, size := in.Blob.ReaderAt(), in.Blob.Size()
	start := int64(0) // without a PE summary (too large to parse), the whole file
	if sum := in.Node.PE; sum != nil {
		if sum.Overlay == nil || sum.Overlay.Offset <= 0 || sum.Overlay.Offset >= size {
			return false, nil
		}
		start = sum.Overlay.Offset
	}
	return Find(ctx, io.NewSectionReader(ra, start, size-start))
}

// listLine is one file of `innoextract --list`: ` - "app/Skype.exe" [lang] (1.2 MiB)`.
var listLine = regexp.MustCompile(`^ - "(.*)"(?: \[[^\]]*\])?(?: \(([^)]*)\))?$`)

// unsupportedHints are innoextract's words for a version it cannot read.
var unsupportedHints = []string{"not a supported inno setup installer", "unexpected setup data version", "unknown version", "is not supported"}

// Extract implements unpack.Extractor.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	// Our own reader first: a readable offset table is what makes a PE an
	// installer, and its tables stand even when innoextract is missing or
	// fails.
	s, decErr := setupdata.Parse(ctx, in.Blob.ReaderAt(), in.Blob.Size(), setupdata.DefaultLimits)
	if errors.Is(decErr, setupdata.ErrNotInno) {
		found, err := markerPastImage(ctx, in)
		if err != nil {
			return fmt.Errorf("inno: scan: %w", err)
		}
		if !found {
			return nil
		}
	}
	info := setupInstaller(ctx, s, decErr, sink)
	checkSetup(s, in.Blob.Size(), sink)
	if in.Tools.Innoextract == "" {
		sink.Installer(info)
		return fmt.Errorf("inno: %w", &unpack.ToolMissingError{Tool: "innoextract"})
	}
	path, cleanup, err := unpack.InputPath(in, "inno-in")
	if err != nil {
		return fmt.Errorf("inno: %w", err)
	}
	defer cleanup()

	res, err := unpack.RunTool(ctx, in.Limits.ToolTimeout, "", "innoextract", in.Tools.Innoextract,
		"--list", "--list-sizes", "--no-extract-unknown", "--color=0", "--progress=0", "--", path)
	if err != nil {
		return fmt.Errorf("inno: list: %w", err)
	}
	if res.ExitCode != 0 {
		all := strings.ToLower(string(res.Stdout) + string(res.Stderr))
		msg := unpack.FirstLine(res.Stderr)
		if msg == "" {
			msg = unpack.FirstLine(res.Stdout)
		}
		sink.Installer(info)
		for _, h := range unsupportedHints {
			if strings.Contains(all, h) {
				return fmt.Errorf("inno: innoextract 1.9 reads Inno Setup up to 6.0.5: %s: %w", msg, unpack.ErrUnsupported)
			}
		}
		return fmt.Errorf("inno: list: innoextract exit %d: %s", res.ExitCode, msg)
	}
	listed := ParseList(res.Stdout)
	info.Tables["listed"] = listed
	if _, ok := info.Tables["files"]; !ok {
		// Our reader failed: innoextract's listing is the files table, as before.
		info.Tables["files"] = listed
	}
	sink.Installer(info)

	dir, err := unpack.NewOutDir(in, "inno-out")
	if err != nil {
		return fmt.Errorf("inno: %w", err)
	}
	defer dir.Remove()
	res, err = unpack.RunExtractTool(ctx, in, dir, sink, "", "innoextract", in.Tools.Innoextract,
		"--extract", "--no-extract-unknown", "--collisions=rename", "--color=0", "--progress=0", "--silent", "--output-dir", dir.Abs, "--", path)
	if err != nil {
		return fmt.Errorf("inno: extract: %w", err)
	}
	if res.ExitCode != 0 {
		sink.Issue(artifact.KindExtract, fmt.Sprintf("inno: innoextract exit %d: %s", res.ExitCode, unpack.FirstLine(res.Stderr)))
	}
	want := expected(info.Tables["files"])
	_, err = unpack.EmitDirEntries(ctx, dir, sink, in.Limits.MaxEntries, func(p string, body io.Reader, size int64) unpack.Entry {
		if e, ok := want[p]; ok {
			body = e.reader(body)
		}
		return unpack.Entry{Name: p, Size: size, Body: body}
	})
	return err
}

// ParseList turns `innoextract --list --list-sizes` output into the
// installer's listing: destination path (as innoextract maps it: "app/..."
// for {app}, "tmp/..." for {tmp}) and size as printed. Directories from
// [Dirs] end in "/" and have no size.
func ParseList(out []byte) artifact.Table {
	t := artifact.Table{Columns: []string{"path", "size"}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := listLine.FindStringSubmatch(strings.TrimRight(sc.Text(), "\r")); m != nil {
			t.Rows = append(t.Rows, []string{m[1], m[2]})
		}
	}
	return t
}

// setupInstaller turns our reader's result into the node's Installer
// (Format "inno"), always one; its failures become issues on the node: an
// unsupported data version is KindUnsupported, anything else KindParse.
func setupInstaller(ctx context.Context, s *setupdata.Setup, err error, sink unpack.Sink) *artifact.Installer {
	switch {
	case err == nil:
		return s.Installer()
	case errors.Is(err, setupdata.ErrUnsupported):
		sink.Issue(artifact.KindUnsupported, fmt.Sprintf("inno: setup data not decoded: %v", err))
	case errors.Is(err, setupdata.ErrNotInno):
		sink.Issue(artifact.KindParse, "inno: setup data not decoded: no valid loader offset table")
	case ctx.Err() != nil:
	default:
		sink.Issue(artifact.KindParse, fmt.Sprintf("inno: setup data not decoded: %v", err))
	}
	return &artifact.Installer{Format: "inno", Tables: map[string]artifact.Table{}}
}
