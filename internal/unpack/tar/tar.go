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
	tr := tar.NewReader(in.Blob.Reader())
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
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
