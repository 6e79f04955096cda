package inno

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// onlyReader hides Size, so Find takes its full-chunk path: the reference.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestFindSmallBuffer: a small input, read with a buffer its size, gives the
// answer of the full-chunk path, at every length around the marker.
func TestFindSmallBuffer(t *testing.T) {
	m := markers[0]
	for n := 0; n <= 2*len(m)+40; n++ {
		for _, at := range []int{-1, 0, n / 2, n - len(m)} {
			data := bytes.Repeat([]byte{'x'}, n)
			if at >= 0 && at+len(m) <= n {
				copy(data[at:], m)
			}
			got, err := Find(context.Background(), io.NewSectionReader(bytes.NewReader(data), 0, int64(n)))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Find(context.Background(), onlyReader{bytes.NewReader(data)})
			if got != want {
				t.Fatalf("n %d marker at %d: Find %v, reference %v", n, at, got, want)
			}
		}
	}
}
