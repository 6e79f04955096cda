package peimage

import (
	"slices"
	"strconv"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

func TestOverlayAndResources(t *testing.T) {
	inner := unpacktest.ZipOf(t, [2]string{"keyfile", "secret list"})
	appended := unpacktest.ZipOf(t, [2]string{"Skype.exe", "client"})
	plain := unpacktest.MinimalPE(t, "", nil)
	withRes := unpacktest.MinimalPE(t, "CFEXE RCDATA \"inner.zip\"\n7 RCDATA \"note.txt\"\n", map[string][]byte{"inner.zip": inner, "note.txt": []byte("just text, not carved")})

	for _, tc := range []struct {
		name string
		data []byte
		want []string
	}{
		{"plain PE", plain, nil},
		{"appended zip", append(slices.Clone(plain), appended...), []string{OverlayName + " " + itoa(len(appended)) + " " + unpacktest.Digest(appended)}},
		{"rcdata zip", withRes, []string{"[rsrc]/RCDATA/CFEXE/1033 " + itoa(len(inner)) + " " + unpacktest.Digest(inner)}},
		{"rcdata zip and overlay", append(slices.Clone(withRes), appended...), []string{
			OverlayName + " " + itoa(len(appended)) + " " + unpacktest.Digest(appended),
			"[rsrc]/RCDATA/CFEXE/1033 " + itoa(len(inner)) + " " + unpacktest.Digest(inner)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !(Extractor{}).Match(tc.data[:4096], int64(len(tc.data))) {
				t.Fatal("no match")
			}
			res := unpacktest.Run(t, Extractor{}, tc.data, unpacktest.Options{})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := res.Set(); !slices.Equal(got, tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// A signed self-extractor keeps its certificate table after the appended
// archive: the overlay child must stop where the table starts, and a PE
// whose only overlay is the table has no overlay child.
func TestSignedPEOverlayStopsAtCertificate(t *testing.T) {
	unpacktest.Tool(t, "osslsigncode")
	unpacktest.Tool(t, "openssl")
	appended := unpacktest.ZipOf(t, [2]string{"Skype.exe", "client"})
	plain := unpacktest.MinimalPE(t, "", nil)
	keyPEM := unpacktest.Build(t, nil, "k.pem", "openssl", "genrsa", "-out", "k.pem", "2048")
	cert := unpacktest.Build(t, map[string][]byte{"k.pem": keyPEM}, "c.pem", "openssl", "req", "-x509", "-new", "-key", "k.pem", "-out", "c.pem", "-days", "2", "-subj", "/CN=tomscan test")
	sign := func(pe []byte) []byte {
		return unpacktest.Build(t, map[string][]byte{"k.pem": keyPEM, "c.pem": cert, "in.exe": pe}, "out.exe", "osslsigncode", "sign", "-certs", "c.pem", "-key", "k.pem", "-in", "in.exe", "-out", "out.exe")
	}
	res := unpacktest.Run(t, Extractor{}, sign(append(slices.Clone(plain), appended...)), unpacktest.Options{})
	want := []string{OverlayName + " " + itoa(len(appended)) + " " + unpacktest.Digest(appended)}
	if res.Err != nil || !slices.Equal(res.Set(), want) {
		t.Errorf("signed SFX: err %v set %v, want %v", res.Err, res.Set(), want)
	}
	res = unpacktest.Run(t, Extractor{}, sign(plain), unpacktest.Options{})
	if res.Err != nil || len(res.Files) != 0 {
		t.Errorf("signed plain PE: err %v set %v", res.Err, res.Set())
	}
}

func itoa(n int) string { return fmtInt(int64(n)) }

func FuzzExtract(f *testing.F) {
	plain := unpacktest.MinimalPE(f, "", nil)
	f.Add(append(slices.Clone(plain), unpacktest.ZipOf(f, [2]string{"a", "b"})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		unpacktest.Run(t, Extractor{}, data, unpacktest.Options{MaxBody: 1 << 20})
	})
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
