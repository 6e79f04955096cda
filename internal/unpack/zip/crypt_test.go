package zip

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

func cryptFiles() map[string][]byte {
	noise := make([]byte, 40000) // incompressible: deflate falls back to stored blocks
	rand.Read(noise)
	return map[string][]byte{
		"app/Skype.exe":   bytes.Repeat([]byte("MZ TOM-Skype client text \x00\x01\x02"), 2000),
		"app/keyfile_u":   bytes.Repeat([]byte("keyword\r\n"), 300),
		"ContentFilter.x": noise,
		"tiny.txt":        []byte("x"),
	}
}

var cryptNames = []string{"app", "ContentFilter.x", "tiny.txt"}

// referenceSet is what `7zz x -pPW` extracts, as unpacktest.Set lines: the
// independent decryption the extractor is checked against.
func referenceSet(t *testing.T, data []byte, pw string) []string {
	t.Helper()
	return unpacktest.SevenZipX(t, data, "a.zip", pw)
}

// TestEncryptedAgainst7z builds archives encrypted by Info-ZIP (ZipCrypto,
// with and without data descriptors, deflated and stored) and by 7-Zip
// (ZipCrypto, AES-128, AES-256) with the password "infected": each opens
// with the default list, every entry says how it was encrypted and which
// list entry opened it, and the bytes equal 7-Zip's own decryption.
func TestEncryptedAgainst7z(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	unpacktest.Tool(t, "zip")
	files := cryptFiles()
	for _, tc := range []struct {
		name, prog string
		args       []string
		kind       string
	}{
		{"zip -P", "zip", append([]string{"-q", "-r", "-X", "-P", "infected", "out.zip"}, cryptNames...), "zipcrypto"},
		{"zip -0 -P", "zip", append([]string{"-q", "-0", "-r", "-X", "-P", "infected", "out.zip"}, cryptNames...), "zipcrypto"},
		{"zip -P to a pipe (data descriptors)", "sh", []string{"-c", "zip -q -r -X -P infected - app ContentFilter.x tiny.txt > out.zip"}, "zipcrypto"},
		{"7z ZipCrypto", "7zz", append([]string{"a", "-tzip", "-bd", "-pinfected", "-mem=ZipCrypto", "out.zip"}, cryptNames...), "zipcrypto"},
		{"7z AES-128", "7zz", append([]string{"a", "-tzip", "-bd", "-pinfected", "-mem=AES128", "out.zip"}, cryptNames...), "aes-128"},
		{"7z AES-256", "7zz", append([]string{"a", "-tzip", "-bd", "-pinfected", "-mem=AES256", "out.zip"}, cryptNames...), "aes-256"},
		{"7z AES-256 stored", "7zz", append([]string{"a", "-tzip", "-bd", "-mx=0", "-pinfected", "-mem=AES256", "out.zip"}, cryptNames...), "aes-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := unpacktest.Build(t, files, "out.zip", tc.prog, tc.args...)
			res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
			if res.Err != nil || len(res.Issues) > 0 {
				t.Fatalf("err %v issues %v", res.Err, res.Issues)
			}
			want := unpacktest.SetOf(files)
			if got := res.Set(); !slices.Equal(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if ref := referenceSet(t, data, "infected"); !slices.Equal(res.Set(), ref) {
				t.Errorf("7zz x -p disagrees:\n%s", strings.Join(ref, "\n"))
			}
			for _, f := range res.Files {
				if f.Err != "" || f.Meta["encrypted"] != "true" || f.Meta["encryption"] != tc.kind || f.Meta["password"] != "infected" {
					t.Errorf("%s: err %q meta %v, want encrypted %s opened by infected", f.Name, f.Err, f.Meta, tc.kind)
				}
			}
		})
	}
}

// TestEncryptedUserPasswords: an archive no default opens is an encrypted
// issue with no child of garbage; given the password by flag or file it
// opens, and the report names the list entry, never the password.
func TestEncryptedUserPasswords(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	files := cryptFiles()
	const secret = "s3cret-Passw0rd"
	for _, mem := range []string{"ZipCrypto", "AES256"} {
		t.Run(mem, func(t *testing.T) {
			data := unpacktest.Build(t, files, "out.zip", "7zz", append([]string{"a", "-tzip", "-bd", "-p" + secret, "-mem=" + mem, "out.zip"}, cryptNames...)...)

			res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
			if len(res.Files) != 0 || len(res.Issues) != 1 || !strings.HasPrefix(res.Issues[0], artifact.KindEncrypted+": ") ||
				!strings.Contains(res.Issues[0], "4 encrypted entries") || !strings.Contains(res.Issues[0], "3 passwords") {
				t.Fatalf("defaults only: files %v issues %v", res.Names(), res.Issues)
			}

			pwFile := filepath.Join(t.TempDir(), "pw.txt")
			os.WriteFile(pwFile, []byte("wrong\r\n\r\n"+secret+"\r\n"), 0o600)
			for label, list := range map[string][]string{
				"--password #2":          {"nope", secret},
				"--password-file line 3": nil,
			} {
				file := ""
				if list == nil {
					file = pwFile
				}
				pws, err := unpack.PasswordList(list, file)
				if err != nil {
					t.Fatal(err)
				}
				res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{Passwords: pws})
				if len(res.Issues) > 0 || !slices.Equal(res.Set(), unpacktest.SetOf(files)) {
					t.Fatalf("%s: issues %v files %v", label, res.Issues, res.Names())
				}
				for _, f := range res.Files {
					if f.Meta["password"] != label {
						t.Errorf("%s: password meta %q, want %q", f.Name, f.Meta["password"], label)
					}
					for k, v := range f.Meta {
						if strings.Contains(v, secret) {
							t.Errorf("meta %s holds the user's password", k)
						}
					}
				}
			}
		})
	}
}

// TestEncryptedTampered: one flipped ciphertext byte fails AES's HMAC and
// ZipCrypto's CRC; the entry is never emitted as garbage.
func TestEncryptedTampered(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	one := map[string][]byte{"a.bin": bytes.Repeat([]byte("abcdefgh"), 5000)}
	for _, mem := range []string{"ZipCrypto", "AES256"} {
		data := unpacktest.Build(t, one, "out.zip", "7zz", "a", "-tzip", "-bd", "-pinfected", "-mem="+mem, "out.zip", "a.bin")
		i := bytes.Index(data, []byte("a.bin")) + len("a.bin") + 11 + 40 // local header name, extra, then into the data
		if mem == "ZipCrypto" {
			i = 30 + len("a.bin") + 30
		}
		data[i] ^= 0x55
		res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
		for _, f := range res.Files {
			if f.Err == "" {
				t.Errorf("%s: tampered entry emitted without error: %+v", mem, f)
			}
		}
		if len(res.Issues) == 0 {
			t.Errorf("%s: tampered archive: no issue", mem)
		}
	}
}

// TestEncryptedSizeLie: an AE-2 entry (7-Zip writes AE-2, with no CRC)
// whose headers both declare one byte more than it holds: the HMAC over
// the ciphertext passes, so only the size can tell, and the child carries
// the mismatch as a read error with its bytes as found.
func TestEncryptedSizeLie(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	body := bytes.Repeat([]byte("abcdefgh"), 5000)
	data := unpacktest.Build(t, map[string][]byte{"a.bin": body}, "out.zip", "7zz", "a", "-tzip", "-bd", "-pinfected", "-mem=AES256", "out.zip", "a.bin")
	data = bytes.Clone(data)
	bump := func(at int) {
		binary.LittleEndian.PutUint32(data[at:], binary.LittleEndian.Uint32(data[at:])+1)
	}
	local := bytes.Index(data, []byte("PK\x03\x04"))
	central := bytes.Index(data, []byte("PK\x01\x02"))
	if local != 0 || central < 0 || binary.LittleEndian.Uint32(data[local+22:]) != uint32(len(body)) || binary.LittleEndian.Uint32(data[central+24:]) != uint32(len(body)) {
		t.Fatalf("unexpected layout: local header at %d, central at %d", local, central)
	}
	bump(local + 22)
	bump(central + 24)
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	if len(res.Files) != 1 {
		t.Fatalf("files %v, issues %v", res.Set(), res.Issues)
	}
	f := res.Files[0]
	if !strings.Contains(f.Err, "decrypted entry: 40000 bytes decoded, the header says 40001") {
		t.Errorf("read error %q, want the size mismatch", f.Err)
	}
	if sum := sha256.Sum256(body); f.Size != int64(len(body)) || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("bytes as found: %d bytes, sha256 %s; want the %d decoded", f.Size, f.SHA256, len(body))
	}
}

// TestEncryptedInEngine: the node of an archive none of the passwords opens
// carries the encrypted issue (not extract-error).
func TestEncryptedInEngine(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data := unpacktest.Build(t, cryptFiles(), "out.zip", "7zz", append([]string{"a", "-tzip", "-bd", "-pother", "out.zip"}, cryptNames...)...)
	root := unpacktest.RunEngine(context.Background(), t, []unpack.Extractor{Extractor{}}, "x.zip", data, limits.Default())
	if len(root.Children) != 0 || len(root.Issues) != 1 || root.Issues[0].Kind != artifact.KindEncrypted {
		t.Fatalf("children %d issues %v", len(root.Children), unpacktest.Issues(root))
	}
	opened := unpacktest.Build(t, cryptFiles(), "out.zip", "7zz", append([]string{"a", "-tzip", "-bd", "-pvirus", "out.zip"}, cryptNames...)...)
	root = unpacktest.RunEngine(context.Background(), t, []unpack.Extractor{Extractor{}}, "x.zip", opened, limits.Default())
	if len(root.Issues) != 0 || len(root.Children) != 4 || root.Meta["encrypted"] != "true" || root.Meta["password"] != "virus" {
		t.Fatalf("opened: meta %v issues %v", root.Meta, unpacktest.Issues(root))
	}
}

func FuzzEncrypted(f *testing.F) {
	f.Add([]byte("PK\x03\x04"))
	small := map[string][]byte{"a.txt": bytes.Repeat([]byte("keyword\r\n"), 20)}
	for _, mem := range []string{"ZipCrypto", "AES256", "AES128"} {
		if _, err := exec.LookPath("7zz"); err == nil {
			f.Add(unpacktest.Build(f, small, "s.zip", "7zz", "a", "-tzip", "-bd", "-pinfected", "-mem="+mem, "s.zip", "a.txt"))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		unpacktest.Run(t, Extractor{}, data, unpacktest.Options{MaxBody: 1 << 20})
	})
}
