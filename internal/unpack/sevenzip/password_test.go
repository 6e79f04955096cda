package sevenzip

import (
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// sevenZipX is what `7zz x -pPW` extracts, as unpacktest.Set lines.
func sevenZipX(t *testing.T, data []byte, pw string) []string {
	t.Helper()
	return unpacktest.SevenZipX(t, data, "a.7z", pw)
}

// TestPasswordAgainst7z: archives made with `7zz a -p` (content encrypted;
// with -mhe=on the header too; solid and not) open with the default list,
// equal 7-Zip's own extraction, and every child says it was encrypted and
// which list entry opened it.
func TestPasswordAgainst7z(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	files := fixtureFiles()
	for _, tc := range []struct{ name, pw string }{{"content", "infected"}, {"header", "malware"}, {"non-solid", "virus"}} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"a", "-bd", "-p" + tc.pw}
			switch tc.name {
			case "header":
				args = append(args, "-mhe=on")
			case "non-solid":
				args = append(args, "-ms=off")
			}
			data := unpacktest.Build(t, files, "a.7z", "7zz", append(args, "a.7z", "app", "readme.txt")...)
			res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
			if res.Err != nil || len(res.Issues) > 0 {
				t.Fatalf("err %v issues %v", res.Err, res.Issues)
			}
			if got, want := res.Set(), unpacktest.SetOf(files); !slices.Equal(got, want) {
				t.Fatalf("got %v\nwant %v", got, want)
			}
			if ref := sevenZipX(t, data, tc.pw); !slices.Equal(res.Set(), ref) {
				t.Errorf("7zz x disagrees: %v", ref)
			}
			for _, f := range res.Files {
				if f.Meta["encrypted"] != "true" || f.Meta["password"] != tc.pw || f.Meta["encryption"] != "7z-aes-256" {
					t.Errorf("%s: meta %v", f.Name, f.Meta)
				}
			}
		})
	}
}

// TestPasswordNoneWorks: a password outside the list is an encrypted
// issue, never an extract-error or a child of garbage; with the password
// given by the user it opens and the label hides it.
func TestPasswordNoneWorks(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	files := fixtureFiles()
	const secret = "not-in-the-list-7"
	for _, hdr := range []string{"-mhe=off", "-mhe=on"} {
		t.Run(hdr, func(t *testing.T) {
			data := unpacktest.Build(t, files, "a.7z", "7zz", "a", "-bd", "-p"+secret, hdr, "a.7z", "app", "readme.txt")
			res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
			if res.Err != nil || len(res.Files) != 0 || len(res.Issues) != 1 || !strings.HasPrefix(res.Issues[0], artifact.KindEncrypted+": ") {
				t.Fatalf("err %v files %v issues %v", res.Err, res.Names(), res.Issues)
			}
			pws, _ := unpack.PasswordList([]string{secret}, "")
			res = unpacktest.Run(t, Extractor{}, data, unpacktest.Options{Passwords: pws})
			if res.Err != nil || len(res.Issues) > 0 || !slices.Equal(res.Set(), unpacktest.SetOf(files)) {
				t.Fatalf("with --password: err %v issues %v files %v", res.Err, res.Issues, res.Names())
			}
			if res.Files[0].Meta["password"] != "--password #1" {
				t.Errorf("label %q", res.Files[0].Meta["password"])
			}
		})
	}
}
