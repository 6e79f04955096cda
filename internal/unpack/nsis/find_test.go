package nsis

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// onlyReader hides Size, so Find takes its full-chunk path: the reference.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestFindSmallBuffer: a small input, read with a buffer its size rounded
// to 512, gives the answer of the full-chunk path, header or not, at sizes
// on and off the 512-byte grid.
func TestFindSmallBuffer(t *testing.T) {
	for _, n := range []int{0, 1, 19, 20, 511, 512, 513, 1024, 1500, 4096, 4097} {
		for _, at := range []int{-1, 0, 512, 1024, 3584} {
			data := bytes.Repeat([]byte{'x'}, n)
			if at >= 0 && at+4+len(signature) <= n {
				copy(data[at+4:], signature)
			}
			got, err := Find(context.Background(), io.NewSectionReader(bytes.NewReader(data), 0, int64(n)))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Find(context.Background(), onlyReader{bytes.NewReader(data)})
			if got != want {
				t.Fatalf("n %d header at %d: Find %d, reference %d", n, at, got, want)
			}
		}
	}
}

// TestFindBytes: the in-memory search gives the reader's answer, header or
// not, on and off the 512-byte grid and past the first chunk.
func TestFindBytes(t *testing.T) {
	for _, n := range []int{0, 1, 19, 20, 511, 512, 513, 1500, 4097, 1<<20 + 700} {
		for _, at := range []int{-1, 0, 3, 512, 3584, 1 << 20} {
			data := bytes.Repeat([]byte{'x'}, n)
			if at >= 0 && at+4+len(signature) <= n {
				copy(data[at+4:], signature)
			}
			checkFindBytes(t, data)
		}
	}
}

func checkFindBytes(t *testing.T, data []byte) {
	t.Helper()
	want, err := Find(context.Background(), onlyReader{bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if got := FindBytes(data); got != want {
		t.Fatalf("%d bytes: FindBytes %d, Find %d", len(data), got, want)
	}
}

func FuzzFindBytes(f *testing.F) {
	at512 := append(bytes.Repeat([]byte{0}, 516), signature...)
	f.Add(at512)
	f.Add(append([]byte{1, 2, 3, 4}, signature...))
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, data []byte) { checkFindBytes(t, data) })
}
