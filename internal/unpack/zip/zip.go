// Package zip lists the entries of ZIP archives with the standard library's
// reader, which checks CRCs and refuses inconsistent headers.
package zip

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/tomscan/tomscan/internal/unpack"
)

// Extractor is the ZIP extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "zip" }

// Match implements unpack.Extractor: a local file header or an empty archive's end record.
func (Extractor) Match(head []byte, size int64) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
}

// Extract implements unpack.Extractor.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	r, err := zip.NewReader(in.Blob.ReaderAt(), in.Blob.Size())
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("zip: open: %w", err)
	}
	for _, f := range r.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			continue
		}
		meta := map[string]string{"method": strconv.Itoa(int(f.Method))}
		if !f.Modified.IsZero() {
			meta["modified"] = f.Modified.UTC().Format("2006-01-02T15:04:05Z")
		}
		size := int64(f.UncompressedSize64)
		if f.UncompressedSize64 > 1<<62 {
			size = 1 << 62
		}
		rc, err := f.Open()
		if err != nil {
			sink.Issue("extract-error", fmt.Sprintf("zip: open entry %q: %v", f.Name, err))
			continue
		}
		err = sink.Emit(ctx, unpack.Entry{Name: f.Name, Size: size, Meta: meta, Body: rc})
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
