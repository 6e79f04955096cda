package zip

// A ZIP whose central directory the standard library cannot read (a
// download cut short loses it, as the directory comes last) still holds its
// entries behind their local headers. 7-Zip reads those; the standard
// library reads nothing. So when the reader refuses the archive, one 7zz run
// extracts what it can (the engine's tool runner and caps), the children
// keep the names 7-Zip writes, each marked decoded_by: 7-Zip, and one
// malformed issue on the archive says why its entries came that way and
// what 7-Zip said. An entry 7-Zip writes short stays as written, and is only
// as good as 7-Zip's own checks: there is no central directory to hold it
// to. Nothing recovered leaves the reader's error as it was.

import (
	"context"
	"fmt"
	"io"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
)

func recoverWithTool(ctx context.Context, in unpack.Input, sink unpack.Sink, openErr error) error {
	refused := fmt.Errorf("zip: open: %w", openErr)
	if in.Tools.SevenZip == "" {
		return refused
	}
	file, cleanup, err := unpack.InputPath(in, "zip-in")
	if err != nil {
		return refused
	}
	defer cleanup()
	out, err := unpack.NewOutDir(in, "zip-recover")
	if err != nil {
		return refused
	}
	defer out.Remove()
	// -aou: a name repeated is renamed, not overwritten; -pX: never wait
	// for a password on the (closed) stdin.
	res, err := unpack.RunExtractTool(ctx, in, out, sink, out.Abs, "7z", in.Tools.SevenZip,
		"x", "-tzip", "-y", "-aou", "-bd", "-bb0", "-pX", "-o"+out.Abs, "--", file)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w (7-Zip: %v)", refused, err)
	}
	_, fileSaid := unpack.SevenZipSays(res.Stderr)
	said := ""
	if res.ExitCode != 0 {
		said = "; 7-Zip: " + unpack.SevenZipFailure(res)
	}
	files, _, _ := out.Files(ctx, in.Limits.MaxEntries)
	if len(files) == 0 {
		return fmt.Errorf("%w (7-Zip found no entry either%s)", refused, said)
	}
	sink.Issue(artifact.KindMalformed, fmt.Sprintf("zip: the central directory is unreadable (%v): %d entries read from their local headers by 7-Zip, under the names it writes, not checked against a directory%s",
		openErr, len(files), said))
	_, err = unpack.EmitDirEntries(ctx, out, sink, in.Limits.MaxEntries, func(p string, body io.Reader, size int64) unpack.Entry {
		if msg := fileSaid[p]; msg != "" {
			// The bytes as 7-Zip wrote them, and its verdict on them as
			// the child's read error.
			body = unpack.ErrAtEnd(body, fmt.Errorf("7-Zip: %s", msg))
		}
		return unpack.Entry{Name: p, Size: size, Meta: map[string]string{"decoded_by": "7-Zip"}, Body: body}
	})
	return err
}
