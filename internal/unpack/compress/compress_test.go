package compress

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

var payload = bytes.Repeat([]byte("TOM-Skype keyfile line\r\n"), 100)

func gz(t testing.TB, name string, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Name = name
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func xzOf(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestExtract(t *testing.T) {
	bz := unpacktest.Build(t, map[string][]byte{"keyfile": payload}, "keyfile.bz2", "bzip2", "-k", "keyfile")
	for _, tc := range []struct {
		name, parent string
		data         []byte
		want         string
	}{
		{"gzip header name", "x.gz", gz(t, "keyfile_u.dat", payload), "keyfile_u.dat"},
		{"gzip no name", "lists/keyfile.gz", gz(t, "", payload), "keyfile"},
		{"tgz", "a.tgz", gz(t, "", payload), "a.tar"},
		{"bzip2", "keyfile.bz2", bz, "keyfile"},
		{"xz no extension", "blob", xzOf(t, payload), Unnamed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !(Extractor{}).Match(tc.data, int64(len(tc.data))) {
				t.Fatal("no match")
			}
			res := unpacktest.Run(t, Extractor{}, tc.data, unpacktest.Options{Node: artifact.NewRoot(tc.parent)})
			if res.Err != nil || len(res.Files) != 1 {
				t.Fatalf("err %v files %v", res.Err, res.Files)
			}
			f := res.Files[0]
			if f.Name != tc.want || f.SHA256 != unpacktest.Digest(payload) || f.Err != "" {
				t.Errorf("got %+v, want %s with the payload", f, tc.want)
			}
		})
	}
}

func TestTruncated(t *testing.T) {
	for name, data := range map[string][]byte{"gzip": gz(t, "a", payload), "xz": xzOf(t, payload)} {
		res := unpacktest.Run(t, Extractor{}, data[:len(data)-8], unpacktest.Options{})
		if res.Err == nil && (len(res.Files) != 1 || res.Files[0].Err == "") {
			t.Errorf("%s truncated: no error reported: %+v", name, res)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(gz(f, "n", payload))
	f.Add(xzOf(f, payload))
	f.Add([]byte("BZh91AY&SY"))
	f.Fuzz(func(t *testing.T, data []byte) {
		unpacktest.Run(t, Extractor{}, data, unpacktest.Options{MaxBody: 1 << 20})
	})
}
