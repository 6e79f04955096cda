package sevenzip

import (
	"crypto/rand"
	"slices"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

func fixtureFiles() map[string][]byte {
	big := make([]byte, 70000)
	rand.Read(big)
	return map[string][]byte{"app/Skype.exe": []byte("MZ fake client"), "app/sub/ContentFilter.exe": big, "readme.txt": []byte("hello\r\n")}
}

func TestExtractMatchesFixture(t *testing.T) {
	files := fixtureFiles()
	for _, tc := range []struct{ name, solid string }{{"solid", "-ms=on"}, {"non-solid", "-ms=off"}} {
		t.Run(tc.name, func(t *testing.T) {
			data := unpacktest.Build(t, files, "a.7z", "7zz", "a", "-bd", tc.solid, "a.7z", "app", "readme.txt")
			if !(Extractor{}).Match(data[:64], int64(len(data))) {
				t.Fatal("Match refused a 7z archive")
			}
			res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			want := unpacktest.SetOf(files)
			if got := res.Set(); !slices.Equal(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
		})
	}
}

func TestTruncatedKeepsIssue(t *testing.T) {
	data := unpacktest.Build(t, fixtureFiles(), "a.7z", "7zz", "a", "-bd", "-ms=off", "a.7z", "app", "readme.txt")
	for _, cut := range []int{len(data) / 2, len(data) - 10, 40} {
		res := unpacktest.Run(t, Extractor{}, data[:cut], unpacktest.Options{})
		if res.Err == nil && len(res.Issues) == 0 {
			bad := false
			for _, f := range res.Files {
				bad = bad || f.Err != ""
			}
			if !bad {
				t.Errorf("cut at %d: no error, no issue, files %v", cut, res.Names())
			}
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte("7z\xbc\xaf\x27\x1c\x00\x04"))
	f.Add(HugeCoderProperties())
	if data, err := readSeed(); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		unpacktest.Run(t, Extractor{}, data, unpacktest.Options{MaxBody: 1 << 20})
	})
}
