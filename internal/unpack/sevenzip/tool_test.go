package sevenzip

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// coderFiles repeat a name's content in two entries, so that matching 7-Zip's
// files by content is seen to give both.
func coderFiles() map[string][]byte {
	files := fixtureFiles()
	files["app/copy.exe"] = files["app/Skype.exe"]
	files["empty.txt"] = nil
	return files
}

func coderArchive(t *testing.T, files map[string][]byte, args ...string) []byte {
	t.Helper()
	return unpacktest.Build(t, files, "a.7z", "7zz", append(append([]string{"a", "-bd"}, args...), "a.7z", "app", "readme.txt", "empty.txt")...)
}

// TestCodersBodgitLacks: archives whose coders bodgit does not decode
// (Deflate64, the RISC-V filter, Swap4) give the files put in, under their
// own names, marked as 7-Zip's decoding, with no issue: not "corrupt".
func TestCodersBodgitLacks(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	files := coderFiles()
	for _, args := range [][]string{
		{"-m0=Deflate64"},
		{"-mf=RISCV"},
		{"-m0=Swap4", "-m1=LZMA"},
		{"-m0=Deflate64", "-ms=off"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			res := unpacktest.Run(t, Extractor{}, coderArchive(t, files, args...), unpacktest.Options{})
			if res.Err != nil || len(res.Issues) > 0 {
				t.Fatalf("err %v issues %v", res.Err, res.Issues)
			}
			if got, want := res.Set(), unpacktest.SetOf(files); !slices.Equal(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, f := range res.Files {
				if f.Err != "" || f.Size > 0 && f.Meta["decoded_by"] != "7-Zip" {
					t.Errorf("%s: err %q meta %v", f.Name, f.Err, f.Meta)
				}
			}
		})
	}
}

// TestCoderWithout7z: without 7-Zip each such entry is a tool-missing issue.
func TestCoderWithout7z(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data := coderArchive(t, coderFiles(), "-m0=Deflate64")
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{Tools: &unpack.Tools{}})
	// The empty file has no stream, so no coder: it is read.
	if !slices.Equal(res.Names(), []string{"empty.txt"}) || len(res.Issues) != 4 {
		t.Fatalf("files %v issues %v", res.Names(), res.Issues)
	}
	for _, is := range res.Issues {
		if !strings.HasPrefix(is, artifact.KindToolMissing+": ") {
			t.Errorf("issue %q", is)
		}
	}
}

// TestCoderDamaged: a flipped byte in a Deflate64 archive's data never
// yields a child without an error.
func TestCoderDamaged(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	files := coderFiles()
	data := bytes.Clone(coderArchive(t, files, "-m0=Deflate64", "-ms=off"))
	data[32+200] ^= 0x55 // in the packed streams, which follow the 32-byte start header
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	want := unpacktest.SetOf(files)
	seen := len(res.Issues) > 0
	for _, f := range res.Files {
		seen = seen || f.Err != ""
		if f.Err == "" && !slices.Contains(want, f.String()) {
			t.Errorf("damaged entry emitted without error: %s", f)
		}
	}
	if !seen {
		t.Errorf("damage unseen: %v", res.Set())
	}
}

// TestCoderEncrypted: encrypted content under a coder bodgit lacks cannot
// prove any password, and says so; it never claims the password list
// failed (the first of them is the right one).
func TestCoderEncrypted(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	for _, args := range [][]string{{"-pinfected"}, {"-pinfected", "-mhe=on"}} {
		data := coderArchive(t, coderFiles(), append([]string{"-m0=Deflate64"}, args...)...)
		res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
		if len(res.Files) != 0 || len(res.Issues) != 1 || !strings.HasPrefix(res.Issues[0], artifact.KindUnsupported+": ") ||
			!strings.Contains(res.Issues[0], "under a coder bodgit does not decode: no password of the 3 could be proven") {
			t.Errorf("%v: files %v issues %v", args, res.Names(), res.Issues)
		}
	}
}
