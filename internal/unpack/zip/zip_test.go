package zip

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/ulikunitz/xz/lzma"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

func TestExtract(t *testing.T) {
	data := unpacktest.ZipOf(t, [2]string{"app/Skype.exe", "client"}, [2]string{"app/", ""}, [2]string{"../up.txt", "x"})
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	want := []string{
		"../up.txt 1 " + unpacktest.Digest([]byte("x")),
		"app/Skype.exe 6 " + unpacktest.Digest([]byte("client")),
	}
	// The raw name goes to the engine, which vets it: the extractor must not
	// drop or rewrite an insecure name itself.
	if res.Err != nil || !slices.Equal(res.Set(), want) {
		t.Errorf("err %v set %v", res.Err, res.Set())
	}
}

func TestCorruptEntry(t *testing.T) {
	data := unpacktest.ZipOf(t, [2]string{"a.txt", "some content here"})
	data[40] ^= 0xff // inside the stored data: the CRC check must fail
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	if len(res.Files) != 1 || res.Files[0].Err == "" {
		t.Errorf("corrupt entry read without error: %+v", res)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(unpacktest.ZipOf(f, [2]string{"a/b.txt", "hello"}, [2]string{"c", "world"}))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add(lzmaZipOf(f, "a.txt", []byte("hello LZMA hello LZMA hello")))
	f.Fuzz(func(t *testing.T, data []byte) {
		unpacktest.Run(t, Extractor{}, data, unpacktest.Options{MaxBody: 1 << 20})
	})
}

// lzmaZipOf is a ZIP of one LZMA entry (method 14), framed as APPNOTE 5.8.8
// says: version, properties size, properties, then the stream.
func lzmaZipOf(t testing.TB, name string, body []byte) []byte {
	t.Helper()
	var classic bytes.Buffer
	lw, err := lzma.NewWriter(&classic)
	if err != nil {
		t.Fatal(err)
	}
	lw.Write(body)
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	c := classic.Bytes() // props(5), size(8), stream
	data := append([]byte{9, 20, 5, 0}, c[:5]...)
	data = append(data, c[lzma.HeaderLen:]...)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: methodLZMA, Flags: 0x2, CRC32: crc32.ChecksumIEEE(body),
		CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	zw.Close()
	return buf.Bytes()
}

// TestLZMAFraming: the fuzz seed's own LZMA framing decodes.
func TestLZMAFraming(t *testing.T) {
	body := []byte("hello LZMA hello LZMA hello")
	res := unpacktest.Run(t, Extractor{}, lzmaZipOf(t, "a.txt", body), unpacktest.Options{})
	if len(res.Issues) > 0 || !slices.Equal(res.Set(), []string{"a.txt 27 " + unpacktest.Digest(body)}) {
		t.Fatalf("issues %v files %v", res.Issues, res.Set())
	}
}
