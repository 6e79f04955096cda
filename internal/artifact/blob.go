package artifact

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Blob holds the bytes of one node: in memory when small, or in a file under
// the build's scratch root when large, so memory is bounded by the limits and
// not by the size of an installer.
type Blob struct {
	size int64
	data []byte   // in memory
	file *os.File // spilled; owned by the scratch root, which removes it
}

// MemoryBlob wraps bytes already in memory.
func MemoryBlob(b []byte) *Blob { return &Blob{size: int64(len(b)), data: b} }

// FileBlob wraps an open file of known size; the caller keeps ownership.
func FileBlob(f *os.File, size int64) *Blob { return &Blob{size: size, file: f} }

// Size is the blob's length in bytes.
func (b *Blob) Size() int64 { return b.size }

// InMemory tells whether Bytes is free.
func (b *Blob) InMemory() bool { return b.file == nil }

// ReaderAt gives random access without loading a spilled blob. For a blob
// in memory it also has Bytes, which readers that scan a whole region use
// instead of copying it (InMemoryBytes).
func (b *Blob) ReaderAt() io.ReaderAt {
	if b.file != nil {
		return b.file
	}
	return memReader{bytes.NewReader(b.data), b.data}
}

// memReader is a reader over bytes in memory that hands them out too.
type memReader struct {
	*bytes.Reader
	data []byte
}

func (m memReader) Bytes() []byte { return m.data }

// InMemoryBytes returns the bytes behind r when r reads a blob in memory
// (ReaderAt), for reading without a copy; ok is false otherwise. The bytes
// are the blob's own: the caller must not change them.
func InMemoryBytes(r io.ReaderAt) (data []byte, ok bool) {
	m, ok := r.(memReader)
	return m.data, ok
}

// Reader returns a fresh reader over the whole blob. A blob in memory gets
// a bytes.Reader: io.Copy from it hands the bytes over in one Write
// (WriterTo) instead of copying them through a buffer, which cost the
// hashes of every small node a second pass over their bytes.
func (b *Blob) Reader() io.Reader {
	if b.file == nil {
		return bytes.NewReader(b.data)
	}
	return io.NewSectionReader(b.file, 0, b.size)
}

// Head returns up to n leading bytes, for sniffing.
func (b *Blob) Head(n int) []byte {
	if int64(n) > b.size {
		n = int(b.size)
	}
	if b.file == nil {
		return b.data[:n]
	}
	buf := make([]byte, n)
	k, _ := b.file.ReadAt(buf, 0)
	return buf[:k]
}

// Bytes returns the whole blob. A spilled blob is read into memory only when
// it is no larger than max: callers that need every byte (PE parsing, YARA)
// state how much they may hold.
func (b *Blob) Bytes(max int64) ([]byte, error) {
	if b.file == nil {
		return b.data, nil
	}
	if b.size > max {
		return nil, fmt.Errorf("blob: %d bytes is more than the %d that may be loaded", b.size, max)
	}
	buf := make([]byte, b.size)
	if _, err := b.file.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("blob: read spilled file: %w", err)
	}
	return buf, nil
}

// Stat describes the file behind a spilled blob; nil for one in memory.
func (b *Blob) Stat() (os.FileInfo, error) {
	if b.file == nil {
		return nil, nil
	}
	return b.file.Stat()
}

// Path returns the file behind a spilled blob, or "" for one in memory.
func (b *Blob) Path() string {
	if b.file == nil {
		return ""
	}
	return b.file.Name()
}
