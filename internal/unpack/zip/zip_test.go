package zip

import (
	"slices"
	"testing"

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
	f.Fuzz(func(t *testing.T, data []byte) {
		unpacktest.Run(t, Extractor{}, data, unpacktest.Options{MaxBody: 1 << 20})
	})
}
