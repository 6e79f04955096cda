package nsis

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
)

// firstHeader field offsets: flags, siginfo, "NullsoftInst" (12 bytes),
// length_of_header, length_of_all_following_data.
const (
	fhDataLen = 24
	fhLen     = 28
)

// checkLength compares the first header's length_of_all_following_data
// (the first header, the compressed header, the data and the CRC) with the
// bytes present. 7z and our reader both read an installer cut a few bytes
// short without complaint when the cut falls in the CRC or the last block's
// padding; the declared length shows it. A length too small to hold the
// first header itself is malformed. More bytes than declared are normal
// (an Authenticode signature is appended after the data).
func checkLength(ctx context.Context, in unpack.Input, off int64, sink unpack.Sink) {
	var fh [fhLen]byte
	if n, _ := in.Blob.ReaderAt().ReadAt(fh[:], off); n < fhLen {
		sink.Issue(artifact.KindTruncated, fmt.Sprintf("nsis: the file ends inside the first header at %d", off))
		return
	}
	length := int64(binary.LittleEndian.Uint32(fh[fhDataLen:]))
	switch end, size := off+length, in.Blob.Size(); {
	case length < fhLen:
		sink.Issue(artifact.KindMalformed, fmt.Sprintf("nsis: first header length_of_all_following_data %d is smaller than the first header", length))
	case end > size:
		sink.Issue(artifact.KindTruncated, fmt.Sprintf("nsis: first header length_of_all_following_data says the installer ends at %d; the file has %d bytes (%d missing)", end, size, end-size))
	case binary.LittleEndian.Uint32(fh[0:])&flagNoCRC == 0 && length >= fhLen+4:
		checkCRC(ctx, in, end, sink)
	}
}

// flagNoCRC is FH_FLAGS_NO_CRC: the installer was built without its CRC.
const flagNoCRC = 4

// crcFrom is where the installer's CRC32 starts: the stub's first 512-byte
// block is not covered (the NSIS loader reads the file in 512-byte blocks
// and starts its sum after the first).
const crcFrom = 512

// checkCRC compares the CRC32 that NSIS stores in the last 4 bytes of the
// declared data with the bytes before it: a length that lies while the file
// still holds that many bytes (an Authenticode signature follows the data),
// or data changed inside, fail here as they fail the installer's own
// integrity check. The sum costs one read of the installer.
func checkCRC(ctx context.Context, in unpack.Input, end int64, sink unpack.Sink) {
	if end-4 <= crcFrom {
		return
	}
	var stored [4]byte
	if _, err := in.Blob.ReaderAt().ReadAt(stored[:], end-4); err != nil {
		return // end <= size was checked: a read error is the blob's, not the file's
	}
	h := crc32.NewIEEE()
	r := io.NewSectionReader(in.Blob.ReaderAt(), crcFrom, end-4-crcFrom)
	buf := make([]byte, 256<<10)
	for {
		if ctx.Err() != nil {
			return
		}
		n, err := r.Read(buf)
		h.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if want := binary.LittleEndian.Uint32(stored[:]); h.Sum32() != want {
		sink.Issue(artifact.KindMalformed, fmt.Sprintf("nsis: the installer's CRC32 %08x stored at %d (the end that first header length_of_all_following_data declares) does not match its bytes (%08x): the length lies or the data is damaged",
			want, end-4, h.Sum32()))
	}
}
