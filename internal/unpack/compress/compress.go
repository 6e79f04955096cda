// Package compress unwraps single-stream compressors: gzip, bzip2, xz and
// zstd (github.com/klauspost/compress/zstd, single-threaded, window capped).
// Each has one child; its name is the gzip header's file name, else the
// container's name without its compression extension, else "[decompressed]".
package compress

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/tomscan/tomscan/internal/unpack"
)

// Unnamed is the child's name when nothing better is known.
const Unnamed = "[decompressed]"

var (
	gzipMagic  = []byte{0x1f, 0x8b, 0x08}
	bzip2Magic = []byte("BZh")
	xzMagic    = []byte("\xfd7zXZ\x00")
	zstdMagic  = []byte{0x28, 0xB5, 0x2F, 0xFD}
)

// zstdMaxWindow caps the window a zstd frame may ask for: zstd -22 --ultra
// uses 128 MiB; a larger request is a memory attack, not a real file.
const zstdMaxWindow = 128 << 20

// Extractor handles gzip, bzip2, xz and zstd.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "compress" }

// Match implements unpack.Extractor.
func (Extractor) Match(head []byte, size int64) bool { return format(head) != "" }

func format(head []byte) string {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return "gzip"
	case bytes.HasPrefix(head, xzMagic):
		return "xz"
	case bytes.HasPrefix(head, zstdMagic):
		return "zstd"
	case len(head) >= 4 && bytes.HasPrefix(head, bzip2Magic) && head[3] >= '1' && head[3] <= '9':
		return "bzip2"
	}
	return ""
}

// Extract implements unpack.Extractor. The engine reads the body through
// the entry and ratio limits, so a bomb costs at most those bytes.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	kind := format(in.Blob.Head(8))
	var (
		body io.Reader
		name string
		err  error
	)
	src := in.Blob.Reader()
	switch kind {
	case "gzip":
		zr, gerr := gzip.NewReader(src)
		if gerr != nil {
			return fmt.Errorf("gzip: header: %w", gerr)
		}
		defer zr.Close()
		body, name = zr, zr.Name
	case "bzip2":
		body = bzip2.NewReader(src)
	case "xz":
		body, err = xz.NewReader(FitDict(in.Blob.ReaderAt(), in.Blob.Size()))
		if err != nil {
			return fmt.Errorf("xz: header: %w", err)
		}
	case "zstd":
		zr, zerr := NewZstd(src, in.Limits.MaxEntryBytes)
		if zerr != nil {
			return fmt.Errorf("zstd: header: %w", zerr)
		}
		defer zr.Close()
		body = zr
	default:
		return nil
	}
	if name == "" && in.Node != nil {
		name = StripExt(in.Node.Name)
	}
	if name == "" {
		name = Unnamed
	}
	return sink.Emit(ctx, unpack.Entry{Name: name, Size: -1, Meta: map[string]string{"compression": kind}, Body: unpack.ContextReader(ctx, body, kind)})
}

// NewZstd is the zstd decoder every extractor uses: one goroutine, the
// window capped at zstdMaxWindow and the output at maxOut bytes, so that a
// frame's header cannot make it allocate more. Close it after use.
func NewZstd(r io.Reader, maxOut int64) (*zstd.Decoder, error) {
	return zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderMaxMemory(uint64(max(maxOut, 1))))
}

// StripExt returns the base of name without a compression extension
// ("data.tar.gz" -> "data.tar", "x.tgz" -> "x.tar"), or "" when name has none.
func StripExt(name string) string {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	lower := strings.ToLower(base)
	for _, ext := range []string{".gz", ".gzip", ".bz2", ".bzip2", ".xz", ".zst", ".zstd", ".z"} {
		if strings.HasSuffix(lower, ext) && len(base) > len(ext) {
			return base[:len(base)-len(ext)]
		}
	}
	for _, ext := range []string{".tgz", ".tbz2", ".tbz", ".txz", ".tzst"} {
		if strings.HasSuffix(lower, ext) && len(base) > len(ext) {
			return base[:len(base)-len(ext)] + ".tar"
		}
	}
	return ""
}
