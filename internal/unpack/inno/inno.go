// Package inno unpacks Inno Setup installers through innoextract 1.9, which
// reads Inno Setup up to 6.0.5 (no Go reader exists). A newer installer is a
// clear "unsupported" issue on the node, never a silent empty result.
package inno

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
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
	const chunk = 1 << 20
	const overlap = 32
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

// listLine is one file of `innoextract --list`: ` - "app/Skype.exe" [lang] (1.2 MiB)`.
var listLine = regexp.MustCompile(`^ - "(.*)"(?: \[[^\]]*\])?(?: \(([^)]*)\))?$`)

// unsupportedHints are innoextract's words for a version it cannot read.
var unsupportedHints = []string{"not a supported inno setup installer", "unexpected setup data version", "unknown version", "is not supported"}

// Extract implements unpack.Extractor.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	found, err := Find(ctx, in.Blob.Reader())
	if err != nil {
		return fmt.Errorf("inno: scan: %w", err)
	}
	if !found {
		return nil
	}
	if in.Tools.Innoextract == "" {
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
		for _, h := range unsupportedHints {
			if strings.Contains(all, h) {
				return fmt.Errorf("inno: innoextract 1.9 reads Inno Setup up to 6.0.5: %s: %w", msg, unpack.ErrUnsupported)
			}
		}
		return fmt.Errorf("inno: list: innoextract exit %d: %s", res.ExitCode, msg)
	}
	info := &artifact.Installer{Format: "inno", Tables: map[string]artifact.Table{"files": ParseList(res.Stdout)}}
	sink.Installer(info)

	dir, err := unpack.NewOutDir(in, "inno-out")
	if err != nil {
		return fmt.Errorf("inno: %w", err)
	}
	defer dir.Remove()
	tool, args := unpack.CappedCommand(in.Limits.MaxEntryBytes, in.Tools.Innoextract,
		[]string{"--extract", "--no-extract-unknown", "--collisions=rename", "--color=0", "--progress=0", "--silent", "--output-dir", dir.Abs, "--", path})
	res, err = unpack.RunTool(ctx, in.Limits.ToolTimeout, "", "innoextract", tool, args...)
	if err != nil {
		return fmt.Errorf("inno: extract: %w", err)
	}
	if res.ExitCode != 0 {
		sink.Issue(artifact.KindExtract, fmt.Sprintf("inno: innoextract exit %d: %s", res.ExitCode, unpack.FirstLine(res.Stderr)))
	}
	_, err = unpack.EmitDir(ctx, dir, sink, in.Limits.MaxEntries, nil)
	return err
}

// ParseList turns `innoextract --list --list-sizes` output into the
// installer's files table: destination path (as innoextract maps it:
// "app/..." for {app}, "tmp/..." for {tmp}) and size as printed.
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
