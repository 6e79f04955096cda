package sevenzip

import (
	"bytes"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	sz "github.com/bodgit/sevenzip"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// wrongKeyArchive was made with `7zz a -pvirus -ms=off x.7z a.txt b.txt`,
// again and again until one came out whose first file, decrypted with
// "malware", starts with LZMA2's end marker (one key in 256): bodgit then
// reads it as an empty file, without an error.
const wrongKeyArchive = "testdata/wrongkey-decodes-empty.7z"

var wrongKeyFiles = map[string][]byte{
	"a.txt": []byte("a file encrypted with the password virus\n"),
	"b.txt": []byte("another one\n"),
}

// openWrongKey reads wrongKeyArchive and opens its first file under the
// wrong password, "malware".
func openWrongKey(t *testing.T) ([]byte, *sz.Reader, io.ReadCloser) {
	t.Helper()
	data, err := os.ReadFile(wrongKeyArchive)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sz.NewReaderWithPassword(bytes.NewReader(data), int64(len(data)), "malware")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	return data, r, rc
}

// TestWrongKeyThatDecodesEmpty: a wrong password whose first file decodes
// empty does not open the archive (it took 1 test run in 100 to open one
// made by TestPasswordAgainst7z with "malware" and emit empty or garbled
// children, without an issue); the default list goes on to the password
// that does.
func TestWrongKeyThatDecodesEmpty(t *testing.T) {
	data, _, rc := openWrongKey(t)
	defer rc.Close()
	// The archive still is what its comment says, or this test proves nothing.
	if b, err := io.ReadAll(rc); err != nil || len(b) != 0 {
		t.Fatalf("under \"malware\" the first file reads %d bytes, error %v: want 0 and none", len(b), err)
	}

	only := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{Passwords: []unpack.Password{{Value: "malware", Label: "malware"}}})
	if only.Err != nil || len(only.Files) != 0 || len(only.Issues) != 1 || !strings.HasPrefix(only.Issues[0], artifact.KindEncrypted+": ") {
		t.Errorf("only the wrong password: err %v files %v issues %v; want one encrypted issue and no file", only.Err, only.Set(), only.Issues)
	}

	wantOpenedWithVirus(t, unpacktest.Run(t, Extractor{}, data, unpacktest.Options{}))
}

// wantOpenedWithVirus: the default password list opened one of
// wrongKeyFiles' archives with "virus", every file whole, without an issue.
func wantOpenedWithVirus(t *testing.T, res *unpacktest.Result) {
	t.Helper()
	if res.Err != nil || len(res.Issues) > 0 {
		t.Fatalf("default passwords: err %v issues %v", res.Err, res.Issues)
	}
	if got, want := res.Set(), unpacktest.SetOf(wrongKeyFiles); !slices.Equal(got, want) {
		t.Fatalf("default passwords: got %v\nwant %v", got, want)
	}
	for _, f := range res.Files {
		if f.Meta["password"] != "virus" || f.Meta["encrypted"] != "true" || f.Err != "" {
			t.Errorf("%s: meta %v, read error %q", f.Name, f.Meta, f.Err)
		}
	}
}

// A file that decodes short or wrong is a read error naming the entry and
// the mismatch, never a child that looks whole; a CRC of 0 is bodgit's "none
// stored" (unpack.TestCheckedReader covers the checking itself).
func TestCheckedEntry(t *testing.T) {
	body := []byte("the bytes the header describes")
	file := func(size uint64, crc uint32) *sz.File {
		return &sz.File{FileHeader: sz.FileHeader{Name: "x.exe", UncompressedSize: size, CRC32: crc}}
	}
	read := func(b []byte, f *sz.File) error {
		_, err := io.ReadAll(newCheckedEntry(bytes.NewReader(b), f))
		return err
	}
	sum := crc32.ChecksumIEEE(body)
	for _, c := range []struct {
		name string
		b    []byte
		f    *sz.File
		want string // "" no error
	}{
		{"whole", body, file(uint64(len(body)), sum), ""},
		{"no stored CRC", bytes.ToUpper(body), file(uint64(len(body)), 0), ""},
		{"short", body[:5], file(uint64(len(body)), sum), `7z: entry "x.exe": 5 bytes decoded, the header says 30`},
		{"garbled", bytes.ToUpper(body), file(uint64(len(body)), sum), `7z: entry "x.exe": CRC-32`},
	} {
		err := read(c.b, c.f)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one starting %q", c.name, err, c.want)
		}
	}

	// The archive read under the wrong key, past tryPassword: its children
	// carry the error.
	_, r, rc := openWrongKey(t)
	defer rc.Close()
	if _, err := io.ReadAll(newCheckedEntry(rc, r.File[0])); err == nil || !strings.Contains(err.Error(), "0 bytes decoded") {
		t.Errorf("first file under the wrong key: %v", err)
	}
}

// TestDamagedStoredFileIsAnError: one byte changed in a stored (Copy) file
// of a 7z made by 7-Zip: the child carries a CRC-32 read error, and the
// others are whole.
func TestDamagedStoredFileIsAnError(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data := unpacktest.Build(t, wrongKeyFiles, "a.7z", "7zz", "a", "-bd", "-m0=Copy", "-ms=off", "a.7z", "a.txt", "b.txt")
	i := bytes.Index(data, []byte("another one"))
	if i < 0 {
		t.Fatal("b.txt's bytes are not stored as they are")
	}
	data = slices.Clone(data)
	data[i] ^= 0x20
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, f := range res.Files {
		switch {
		case f.Name == "b.txt" && !strings.Contains(f.Err, `"b.txt": CRC-32`):
			t.Errorf("damaged b.txt: read error %q, want a CRC-32 mismatch", f.Err)
		case f.Name == "a.txt" && (f.Err != "" || f.SHA256 != unpacktest.Digest(wrongKeyFiles["a.txt"])):
			t.Errorf("a.txt: error %q, sha256 %s", f.Err, f.SHA256)
		}
	}
	if len(res.Files) != 2 {
		t.Errorf("files %v", res.Set())
	}
}

// noPasswordArchive was made with `7zz a -pvirus x.7z a.txt b.txt` (solid,
// the header plain and compressed), again and again until one came out
// whose first file, read with no password, gives a byte without an error:
// bodgit reads encrypted content without a password as if the password were
// empty, so probing a read for an error (contentEncrypted) takes such an
// archive for a plain one, and its children for garbage (it took 1 test run
// in 70 with TestPasswordAgainst7z's archives).
const noPasswordArchive = "testdata/nopassword-decodes.7z"

// TestEncryptedContentKnownFromTheHeader: the header's coders say the
// content is encrypted, whatever a read without a password gives.
func TestEncryptedContentKnownFromTheHeader(t *testing.T) {
	data, err := os.ReadFile(noPasswordArchive)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sz.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if contentEncrypted(r) {
		t.Fatal("the probe already sees this archive's encryption: the test proves nothing")
	}
	if aes, err := inspectHeader(bytes.NewReader(data), int64(len(data)), nil); aes != aesUsed || err != nil {
		t.Errorf("inspectHeader: %v, %v; want aesUsed", aes, err)
	}
	wantOpenedWithVirus(t, unpacktest.Run(t, Extractor{}, data, unpacktest.Options{}))
	// And a plain archive's header says none.
	unpacktest.Tool(t, "7zz")
	plain := unpacktest.Build(t, wrongKeyFiles, "p.7z", "7zz", "a", "-bd", "p.7z", "a.txt", "b.txt")
	if aes, err := inspectHeader(bytes.NewReader(plain), int64(len(plain)), nil); aes != aesNone || err != nil {
		t.Errorf("plain archive: inspectHeader %v, %v; want aesNone", aes, err)
	}
}
