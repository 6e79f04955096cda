// Package peimage carves what a PE carries besides its code: the overlay
// (data appended after the last section: a 7z SFX's archive, an appended
// ZIP or CAB) as one child "[overlay]", and every resource leaf that holds a
// PE or an archive as "[rsrc]/<TYPE>/<NAME>/<LANG>". Both, when a PE has
// both. Installer formats that own their PE (NSIS, Inno Setup) come earlier
// in the registry and win; this extractor is the generic fallback.
package peimage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/pe"
)

// OverlayName is the overlay child's name (docs/contracts.md).
const OverlayName = "[overlay]"

// containerTypes are the sniffed types worth carving out of a resource:
// anything the engine can unpack or analyse as a PE.
var containerTypes = map[string]bool{
	filetype.PE: true, filetype.ZIP: true, filetype.CAB: true, filetype.OLE: true,
	filetype.SevenZ: true, filetype.Gzip: true, filetype.Bzip2: true, filetype.XZ: true,
	filetype.ISCab: true, filetype.RAR: true,
}

// Extractor is the PE overlay and resource extractor.
type Extractor struct{}

// Name implements unpack.Extractor.
func (Extractor) Name() string { return "pe" }

// Match implements unpack.Extractor.
func (Extractor) Match(head []byte, size int64) bool { return pe.IsPE(head) }

// Extract implements unpack.Extractor. It uses the node's PE summary when
// the visitor already made one, else parses the PE itself.
func (Extractor) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	sum := in.Node.PE
	if sum == nil {
		data, err := in.Blob.Bytes(in.Limits.MaxPEBytes)
		if err != nil {
			return fmt.Errorf("pe: %w", err)
		}
		sum, err = pe.Analyze(ctx, data, pe.Options{MaxBytes: in.Limits.MaxPEBytes})
		if err != nil {
			if errors.Is(err, pe.ErrNotPE) {
				return nil
			}
			return fmt.Errorf("pe: %w", err)
		}
	}
	ra, size := in.Blob.ReaderAt(), in.Blob.Size()

	for _, r := range sum.Resources {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.OutsideFile || r.Size <= 0 || r.Offset < 0 || r.Offset+r.Size > size {
			continue
		}
		head := make([]byte, min(r.Size, filetype.HeadSize))
		if _, err := ra.ReadAt(head, r.Offset); err != nil && err != io.EOF {
			sink.Issue("extract-error", fmt.Sprintf("pe: read resource %s: %v", r.NodeName(), err))
			continue
		}
		kind := filetype.Sniff(head)
		if !containerTypes[kind] {
			continue
		}
		meta := map[string]string{"offset": strconv.FormatInt(r.Offset, 10), "type": kind}
		if err := sink.Emit(ctx, unpack.Entry{Name: r.NodeName(), Size: r.Size, Meta: meta, Body: io.NewSectionReader(ra, r.Offset, r.Size)}); err != nil {
			return err
		}
	}

	if sum.Overlay == nil || sum.Overlay.Type == "authenticode" {
		return nil
	}
	start, end := sum.Overlay.Offset, size
	// A signed PE keeps its certificate table at the end of the file, after
	// any appended data: the overlay child stops where the table starts.
	if off, n, ok := certTable(ra, size); ok && off >= start && off+n == end {
		end = off
	}
	if start <= 0 || start >= end {
		return nil
	}
	meta := map[string]string{"offset": strconv.FormatInt(start, 10)}
	if sum.Overlay.Type != "" {
		meta["type"] = sum.Overlay.Type
	}
	return sink.Emit(ctx, unpack.Entry{Name: OverlayName, Size: end - start, Meta: meta, Body: io.NewSectionReader(ra, start, end-start)})
}

// certTable reads the security data directory (a file offset, unlike the
// other directories' RVAs) from the optional header.
func certTable(ra io.ReaderAt, size int64) (off, n int64, ok bool) {
	var dos [0x40]byte
	if _, err := ra.ReadAt(dos[:], 0); err != nil {
		return 0, 0, false
	}
	nt := int64(binary.LittleEndian.Uint32(dos[0x3c:]))
	var magic [2]byte
	if _, err := ra.ReadAt(magic[:], nt+24); err != nil {
		return 0, 0, false
	}
	dirs := nt + 24
	switch binary.LittleEndian.Uint16(magic[:]) {
	case 0x10b:
		dirs += 96
	case 0x20b:
		dirs += 112
	default:
		return 0, 0, false
	}
	var d [8]byte
	if _, err := ra.ReadAt(d[:], dirs+4*8); err != nil {
		return 0, 0, false
	}
	off, n = int64(binary.LittleEndian.Uint32(d[0:])), int64(binary.LittleEndian.Uint32(d[4:]))
	if off == 0 || n == 0 || off+n > size {
		return 0, 0, false
	}
	return off, n, true
}
