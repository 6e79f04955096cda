// Package sevenzip lists the entries of 7z archives with
// github.com/bodgit/sevenzip (LZMA, LZMA2, BCJ, Deflate, BZip2, PPMd, solid
// and non-solid). A 7z self-extractor is a PE whose overlay is the archive:
// the PE extractor carves that overlay and it comes back here as a child.
package sevenzip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	sz "github.com/bodgit/sevenzip"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
)

// Magic starts every 7z archive.
var Magic = []byte("7z\xbc\xaf\x27\x1c")

// Extractor is the 7z extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "7z" }

// Match implements unpack.Extractor.
// A file that is only the first 4 or 5 bytes of the magic is a 7z archive
// cut short, and is matched so that it is reported as truncated.
func (Extractor) Match(head []byte, size int64) bool {
	return bytes.HasPrefix(head, Magic) || len(head) >= 4 && len(head) < len(Magic) && int64(len(head)) == size && bytes.HasPrefix(Magic, head)
}

// Extract implements unpack.Extractor. Entries are read in archive order, so
// a solid block is decompressed once, front to back.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) (err error) {
	// The library allocates what the header declares: check it first.
	pws := make([]string, len(in.Passwords))
	for i, p := range in.Passwords {
		pws[i] = p.Value
	}
	aes, err := inspectHeader(in.Blob.ReaderAt(), in.Blob.Size(), pws)
	if err != nil {
		if errors.Is(err, errTooMany) {
			sink.Issue(artifact.KindLimit, err.Error()+": not unpacked")
			return nil
		}
		return err
	}
	r, err := sz.NewReader(in.Blob.ReaderAt(), in.Blob.Size())
	var enc *opened
	switch {
	case err != nil && isEncrypted(err):
		if r, enc, err = openEncrypted(ctx, in, sink, true); r == nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("7z: open: %w", err)
	case aes == aesUsed || aes == aesUnknown && contentEncrypted(r):
		// bodgit reads encrypted content without a password as if the
		// password were empty: garbage that fails to decode, mostly, but
		// that decodes (to nothing, or to bytes) under one key in a few
		// hundred. The header's coders say it; only a header this package
		// did not read is left to the probe.
		if r, enc, err = openEncrypted(ctx, in, sink, false); r == nil {
			return err
		}
	}
	var tool *toolFiles // made at the first entry whose coder bodgit lacks
	defer func() {
		if tool != nil {
			tool.remove()
		}
	}()
	for _, f := range r.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			continue
		}
		meta := map[string]string{"crc32": strconv.FormatUint(uint64(f.CRC32), 16), "stream": strconv.Itoa(f.Stream)}
		if !f.Modified.IsZero() {
			meta["modified"] = f.Modified.UTC().Format("2006-01-02T15:04:05Z")
		}
		enc.meta(meta)
		size := int64(-1)
		if f.UncompressedSize < 1<<62 {
			size = int64(f.UncompressedSize)
		}
		var rc io.ReadCloser
		rc, err := f.Open()
		if unsupportedCoder(err) {
			rc, err = nil, fmt.Errorf("a coder bodgit does not decode, under encryption (7-Zip is given unencrypted archives only): %w", unpack.ErrUnsupported)
			if enc == nil {
				if tool == nil {
					tool = extractWithTool(ctx, in, sink)
				}
				if rc, err = tool.open(ctx, f); err == nil {
					meta["decoded_by"] = "7-Zip"
				}
			}
		}
		if err != nil {
			sink.Issue(unpack.IssueKind(err), fmt.Sprintf("7z: open entry %q: %v", f.Name, err))
			continue
		}
		err = sink.Emit(ctx, unpack.Entry{Name: f.Name, Size: size, Meta: meta, Body: newCheckedEntry(rc, f)})
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// checkedEntry reads one file of the archive held to its header: its size,
// and its CRC-32 where the header stores one (0 when it does not, as bodgit
// reads it). bodgit checks neither, and a folder that decodes short or wrong
// (damaged bytes, a header that lies, a key that is not the archive's)
// would otherwise become a short or garbled child with no issue.
func newCheckedEntry(r io.Reader, f *sz.File) io.Reader {
	d := unpack.Declared{Size: f.UncompressedSize, HasSize: true, CRC32: f.CRC32, HasCRC: f.CRC32 != 0}
	return unpack.CheckedReader(r, d, fmt.Sprintf("7z: entry %q", f.Name))
}
