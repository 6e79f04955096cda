// Package cab is the extractor for Microsoft cabinets. The format reading is
// in cabfile (shared with the MSI extractor) and the LZX decoder in lzx; this
// package turns a cabinet into children, issues and its Authenticode record.
package cab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/cab/authenticode"
	"github.com/tomscan/tomscan/internal/unpack/cab/cabfile"
)

// Extractor is the CAB extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "cab" }

// Match implements unpack.Extractor: "MSCF", then reserved1 = 0, as real cabinets have.
// A file of fewer than 36 bytes that starts so is a cabinet cut inside its
// header: it is matched so that it is reported as truncated.
func (Extractor) Match(head []byte, size int64) bool {
	return bytes.HasPrefix(head, []byte("MSCF\x00\x00\x00\x00")) && (len(head) >= 36 || int64(len(head)) == size)
}

// Extract implements unpack.Extractor.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	if in.Blob.Size() < 36 {
		return fmt.Errorf("cab: %d bytes, the header alone has 36: %w", in.Blob.Size(), unpack.ErrTruncated)
	}
	c, err := cabfile.Open(in.Blob.ReaderAt(), in.Blob.Size())
	if err != nil {
		return fmt.Errorf("cab: open: %w", err)
	}
	if c.NextCabinet != "" || c.PrevCabinet != "" {
		sink.Issue(artifact.KindUnsupported, fmt.Sprintf("cab: part %d of a multi-cabinet set (previous %q, next %q): files spanning cabinets are not extracted", c.Index, c.PrevCabinet, c.NextCabinet))
	}
	for _, p := range c.Check() {
		sink.Issue(ProblemKind(p), "cab: "+p.String())
	}
	if off, size, ok := c.Signature(); ok {
		sink.Signature(authenticode.CabSignature(in.Blob.ReaderAt(), off, size))
	} else if off != 0 || size != 0 {
		sink.Issue(artifact.KindParse, fmt.Sprintf("cab: signature reserve points at %d bytes at offset %d, outside the %d-byte file", size, off, in.Blob.Size()))
	}
	return emit(ctx, c, in.Limits.MaxTotalBytes, sink)
}

// emit lists every file of c as a child. maxWork bounds the bytes
// decompressed (see cabfile.Cabinet.Walk).
func emit(ctx context.Context, c *cabfile.Cabinet, maxWork int64, sink unpack.Sink) error {
	issue := func(msg string) { sink.Issue(artifact.KindParse, msg) }
	quantumSeen := false
	for _, f := range c.Folders {
		if f.Compression&0x0F == cabfile.CompressQuantum && !quantumSeen {
			quantumSeen = true
			sink.Issue(artifact.KindUnsupported, "CAB: Quantum compression not supported")
		}
	}
	skip := func(f *cabfile.File, why string) {
		sink.Issue(artifact.KindUnsupported, fmt.Sprintf("cab: file %q: %s", f.Name, why))
	}
	err := c.Walk(ctx, maxWork, issue, skip, func(f *cabfile.File, body io.Reader) error {
		meta := map[string]string{"folder": strconv.Itoa(int(f.Folder))}
		if int(f.Folder) < len(c.Folders) {
			meta["compression"] = c.Folders[f.Folder].Method()
		}
		if !f.Modified.IsZero() {
			meta["modified"] = f.Modified.Format("2006-01-02T15:04:05Z")
		}
		name := f.Name
		if f.RawName != f.Name {
			// Not UTF-8 (flagged so or not: gcab flags the bytes it was
			// given): the creator's ANSI code page, which for a Chinese
			// Windows' cabinet is GBK; cabextract's ISO-8859-1 otherwise.
			// The bytes as stored stay beside the name.
			meta["name_encoding"] = "iso-8859-1"
			if s, ok := unpack.DecodeGBK(f.RawName); ok {
				name, meta["name_encoding"] = s, "gbk"
			}
			meta["original_name"] = strconv.Quote(f.RawName)
		}
		return sink.Emit(ctx, unpack.Entry{Name: name, Size: int64(f.Size), Meta: meta, Body: body})
	})
	if errors.Is(err, cabfile.ErrWorkLimit) {
		sink.Issue(artifact.KindLimit, fmt.Sprintf("cab: %v: the rest is not listed", err))
		return nil
	}
	return err
}

// ProblemKind is the issue kind of a cabinet's header problem.
func ProblemKind(p cabfile.Problem) string {
	if p.Truncated {
		return artifact.KindTruncated
	}
	return artifact.KindMalformed
}
