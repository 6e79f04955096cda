package nsis

import (
	"encoding/binary"
	"fmt"

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
func checkLength(in unpack.Input, off int64, sink unpack.Sink) {
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
	}
}
