// Package tar lists the members of tar archives (POSIX ustar, pax, GNU, V7)
// with the standard library's archive/tar. Compressed tarballs arrive here
// as the single child of the compress extractor (x.tar.gz -> x.tar -> its
// members), so each layer is unpacked once and stays a node of its own.
//
// Links and special files are recorded, never followed: a member that is a
// symbolic or hard link, a device or a FIFO becomes an empty child whose meta
// says what it is and where it points; a link pointing out of the archive is
// an unsafe-name issue on the archive. Member names go through the engine's
// name vetting like every other container's.
package tar

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/unpack"
)

// Extractor is the tar extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "tar" }

// Match implements unpack.Extractor: a tar header with a right checksum.
func (Extractor) Match(head []byte, size int64) bool { return filetype.IsTar(head) }

// specials names the member types that carry no bytes of their own.
var specials = map[byte]string{
	tar.TypeSymlink: "symlink",
	tar.TypeLink:    "hardlink",
	tar.TypeChar:    "chardev",
	tar.TypeBlock:   "blockdev",
	tar.TypeFifo:    "fifo",
}

// Extract implements unpack.Extractor. Members are read in archive order
// from one pass over the stream; the engine reads each body through its
// limits, and a body it does not read (over the entry limit) is skipped by
// archive/tar, never loaded.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	pos := &position{r: in.Blob.Reader().(io.ReadSeeker)}
	tr := tar.NewReader(pos)
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return checkEnd(in.Blob, pos.n)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("tar: the file ends inside the header of member %d (%d bytes): %w", i+1, in.Blob.Size(), unpack.ErrTruncated)
		}
		if err != nil {
			return fmt.Errorf("tar: read header of member %d: %w", i+1, err)
		}
		meta := map[string]string{"tar_type": typeName(hdr.Typeflag), "mode": strconv.FormatInt(hdr.Mode&0o7777, 8)}
		if !hdr.ModTime.IsZero() {
			meta["modified"] = hdr.ModTime.UTC().Format("2006-01-02T15:04:05Z")
		}
		switch {
		case hdr.Typeflag == tar.TypeDir:
			continue
		case hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeCont || hdr.Typeflag == tar.TypeGNUSparse:
			if hdr.Size < 0 {
				sink.Issue(artifact.KindExtract, fmt.Sprintf("tar: member %q declares a negative size %d: not read", hdr.Name, hdr.Size))
				continue
			}
			if err := sink.Emit(ctx, unpack.Entry{Name: hdr.Name, Size: hdr.Size, Meta: meta, Body: tr}); err != nil {
				return err
			}
		case specials[hdr.Typeflag] != "":
			if hdr.Linkname != "" {
				meta["link_target"] = strings.ToValidUTF8(hdr.Linkname, "\uFFFD")
				if why := escapes(hdr); why != "" {
					sink.Issue(artifact.KindUnsafeName, fmt.Sprintf("tar: %s %q -> %q %s: recorded, not followed", specials[hdr.Typeflag], hdr.Name, hdr.Linkname, why))
				}
			}
			// The member itself has no bytes: an empty child records it.
			if err := sink.Emit(ctx, unpack.Entry{Name: hdr.Name, Size: 0, Meta: meta, Body: bytes.NewReader(nil)}); err != nil {
				return err
			}
		default:
			// Pax/GNU metadata headers are consumed by archive/tar; any other
			// type is a vendor extension whose bytes are still emitted.
			meta["tar_type"] = "unknown type " + strconv.Quote(string(hdr.Typeflag))
			if err := sink.Emit(ctx, unpack.Entry{Name: hdr.Name, Size: hdr.Size, Meta: meta, Body: tr}); err != nil {
				return err
			}
		}
	}
}

// position counts how far archive/tar has read or sought, so that the end
// of the archive can be checked after it returns io.EOF.
type position struct {
	r io.ReadSeeker
	n int64
}

func (p *position) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

// Seek lets archive/tar skip unread bodies without reading them.
func (p *position) Seek(off int64, whence int) (int64, error) {
	n, err := p.r.Seek(off, whence)
	if err == nil {
		p.n = n
	}
	return n, err
}

// checkEnd tells a whole tar from a cut one after archive/tar said io.EOF,
// which it also says when the file stops right at a block boundary, with
// no or only one of the two zero blocks that end an archive. A tar is made
// of 512-byte blocks (GNU tar pads to 10240-byte records), so a size that
// is not a multiple of 512 or an end without the two zero blocks means the
// file was cut: truncated, with the figures.
func checkEnd(blob *artifact.Blob, at int64) error {
	const block = 512
	size := blob.Size()
	if size%block != 0 {
		return fmt.Errorf("tar: the file has %d bytes, not a whole number of %d-byte blocks (%d bytes past the last whole block): %w",
			size, block, size%block, unpack.ErrTruncated)
	}
	if at < 2*block {
		return fmt.Errorf("tar: the archive ends at %d without its two zero end blocks: %w", at, unpack.ErrTruncated)
	}
	tail := make([]byte, 2*block)
	if _, err := blob.ReaderAt().ReadAt(tail, at-2*block); err != nil {
		return fmt.Errorf("tar: read the end blocks at %d: %w", at-2*block, err)
	}
	if !bytes.Equal(tail, make([]byte, 2*block)) {
		return fmt.Errorf("tar: the archive ends at %d without its two zero end blocks: %w", at, unpack.ErrTruncated)
	}
	return nil
}

func typeName(t byte) string {
	if s, ok := specials[t]; ok {
		return s
	}
	switch t {
	case tar.TypeReg: // archive/tar reports the old NUL type (TypeRegA) as TypeReg
		return "file"
	case tar.TypeCont:
		return "contiguous"
	case tar.TypeGNUSparse:
		return "sparse"
	case tar.TypeDir:
		return "dir"
	}
	return "other"
}

// escapes says why a link's target lies outside the archive, or "". A
// symbolic link resolves against its own folder, a hard link against the
// archive's root.
func escapes(hdr *tar.Header) string {
	target := strings.ReplaceAll(hdr.Linkname, "\\", "/")
	if strings.HasPrefix(target, "/") || (len(target) >= 2 && target[1] == ':') {
		return "points to an absolute path"
	}
	base := "."
	if hdr.Typeflag == tar.TypeSymlink {
		base = path.Dir(strings.ReplaceAll(hdr.Name, "\\", "/"))
	}
	full := path.Join(base, target)
	if full == ".." || strings.HasPrefix(full, "../") || strings.HasPrefix(full, "/") {
		return "points outside the archive"
	}
	return ""
}
