// Package installshield unpacks InstallShield cabinets ("ISc(" magic, not
// Microsoft CABs) through unshield. unshield needs the cabinet's header; a
// cabinet whose header lives in a separate data1.hdr that is not part of
// this node cannot be read, and says so as an issue.
package installshield

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
)

var magic = []byte("ISc(")

// Extractor is the InstallShield cabinet extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "installshield" }

// Match implements unpack.Extractor.
func (Extractor) Match(head []byte, size int64) bool { return bytes.HasPrefix(head, magic) }

// Extract implements unpack.Extractor.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	if strings.HasSuffix(strings.ToLower(in.Node.Name), ".hdr") {
		// A header alone lists files but holds no data: unshield would
		// write every file empty. The setup stream that carries the header
		// with its cabinets unpacks the set (package isstream).
		return fmt.Errorf("installshield: %s is a cabinet header without its cabinets: %w", in.Node.Name, unpack.ErrUnsupported)
	}
	if in.Tools.Unshield == "" {
		return fmt.Errorf("installshield: %w", &unpack.ToolMissingError{Tool: "unshield"})
	}
	// unshield finds a cabinet's siblings by name ("data1.cab" -> "data1.hdr"),
	// so the copy gets a fixed name of our choosing in a folder of its own.
	work, err := unpack.NewOutDir(in, "is-in")
	if err != nil {
		return fmt.Errorf("installshield: %w", err)
	}
	defer work.Remove()
	cab, err := work.Write("data1.cab", in.Blob.Reader())
	if err != nil {
		return fmt.Errorf("installshield: %w", err)
	}
	out, err := unpack.NewOutDir(in, "is-out")
	if err != nil {
		return fmt.Errorf("installshield: %w", err)
	}
	defer out.Remove()
	res, err := unpack.RunExtractTool(ctx, in, out, sink, work.Abs, "unshield", in.Tools.Unshield, "-D", "1", "-d", out.Abs, "x", cab)
	if err != nil {
		return fmt.Errorf("installshield: extract: %w", err)
	}
	if res.ExitCode != 0 {
		// unshield creates each file before it fails to fill it: an empty
		// file from a failed run is an artefact, not content.
		files, _, _ := out.Files(ctx, in.Limits.MaxEntries)
		for _, f := range files {
			if fh, size, err := out.Open(f); err == nil {
				fh.Close()
				if size == 0 {
					out.Remove1(f)
				}
			}
		}
	}
	n, err := unpack.EmitDir(ctx, out, sink, in.Limits.MaxEntries, nil)
	if res.ExitCode != 0 {
		msg := unpack.FirstLine(res.Stderr)
		if msg == "" {
			msg = unpack.FirstLine(res.Stdout)
		}
		if msg == "" {
			msg = res.State // unshield crashes on some damaged cabinets
		}
		if n == 0 && err == nil {
			if strings.Contains(strings.ToLower(string(res.Stderr)), "header") {
				return fmt.Errorf("installshield: unshield exit %d: %s (the cabinet's header file is not in this node): %w", res.ExitCode, msg, unpack.ErrUnsupported)
			}
			return fmt.Errorf("installshield: unshield exit %d: %s", res.ExitCode, msg)
		}
		sink.Issue(artifact.KindExtract, fmt.Sprintf("installshield: unshield exit %d: %s", res.ExitCode, msg))
	}
	return err
}
