package cabfile

import (
	"encoding/binary"
	"fmt"
)

// Problem is a disagreement between what the cabinet declares and its
// bytes. Reading goes on past it (the files that fit are still read); the
// extractors report it as an issue.
type Problem struct {
	Truncated bool   // the cabinet's own lengths say bytes are missing at its end
	Field     string // the CFHEADER/CFFOLDER/CFFILE field that disagrees
	Msg       string
}

func (p Problem) String() string { return p.Field + ": " + p.Msg }

// Check compares the declared sizes with the file: cbCabinet with the
// bytes present, each folder's cCFData with the CFDATA blocks that follow
// its coffCabStart, and each file's range with its folder's uncompressed
// size. It reads only CFDATA headers (8 bytes each, bounded by the file).
func (c *Cabinet) Check() []Problem {
	var probs []Problem
	declared := int64(c.Size)
	limit := min(declared, c.size) // where the cabinet's bytes can be
	if declared < headerSize {
		probs = append(probs, Problem{Field: "cbCabinet", Msg: fmt.Sprintf("%d bytes, less than the header", declared)})
		limit = c.size
	}
	dataEnd := int64(0)
	pastEOF := false
	outSize := map[int]int64{} // uncompressed bytes of each folder whose blocks all fit
	for fi, f := range c.Folders {
		end, total, blocks, err := c.chain(f, c.size)
		dataEnd = max(dataEnd, end)
		if err == nil {
			outSize[fi] = total
		}
		if err == nil {
			if end > limit {
				probs = append(probs, Problem{Field: "cbCabinet", Msg: fmt.Sprintf("%d bytes, but folder %d's data ends at %d", declared, fi, end)})
			}
			continue
		}
		if end >= c.size && declared > c.size {
			// the data stops at the end of the file, short of the size
			// the header gives: the cabinet was cut
			pastEOF = true
			probs = append(probs, Problem{Truncated: true, Field: "cbCabinet",
				Msg: fmt.Sprintf("%d bytes declared, %d present: folder %d's block %d of %d %v", declared, c.size, fi, blocks, f.NumBlocks, err)})
			continue
		}
		probs = append(probs, Problem{Field: fmt.Sprintf("folder %d cCFData", fi),
			Msg: fmt.Sprintf("%d blocks declared, but block %d %v", f.NumBlocks, blocks, err)})
	}
	if declared > c.size && !pastEOF {
		probs = append(probs, Problem{Field: "cbCabinet", Msg: fmt.Sprintf("%d bytes declared, the file has %d and its data ends at %d", declared, c.size, dataEnd)})
	}
	for _, f := range c.Files {
		total, ok := outSize[int(f.Folder)]
		if ok && int64(f.FolderOffset)+int64(f.Size) > total {
			probs = append(probs, Problem{Field: fmt.Sprintf("file %q uoffFolderStart/cbFile", f.Name),
				Msg: fmt.Sprintf("bytes %d to %d of folder %d, which holds %d", f.FolderOffset, int64(f.FolderOffset)+int64(f.Size), f.Folder, total)})
		}
	}
	return probs
}

// chain walks a folder's CFDATA headers: where its data ends, the sum of
// cbUncomp, and, when a block does not fit before limit, how many blocks
// fitted and why.
func (c *Cabinet) chain(f Folder, limit int64) (end, total int64, blocks int, err error) {
	off := int64(f.DataOffset)
	hdr := make([]byte, 8+c.dataReserve)
	for blocks = 0; blocks < int(f.NumBlocks); blocks++ {
		if off+int64(len(hdr)) > limit {
			return off, total, blocks, fmt.Errorf("header at %d is past the end (%d)", off, limit)
		}
		if _, err := c.r.ReadAt(hdr, off); err != nil {
			return off, total, blocks, fmt.Errorf("header at %d unreadable: %v", off, err)
		}
		cbData := int64(binary.LittleEndian.Uint16(hdr[4:]))
		total += int64(binary.LittleEndian.Uint16(hdr[6:]))
		next := off + int64(len(hdr)) + cbData
		if next > limit {
			return next, total, blocks, fmt.Errorf("at %d (%d bytes) runs past the end (%d)", off, cbData, limit)
		}
		off = next
	}
	return off, total, blocks, nil
}
