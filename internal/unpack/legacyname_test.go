package unpack_test

import (
	"context"
	"strconv"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
	"github.com/tomscan/tomscan/internal/unpack/zip"
)

func gbk(t *testing.T, s string) string {
	b, err := simplifiedchinese.GBK.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeLegacyName(t *testing.T) {
	cp437, _ := charmap.CodePage437.NewEncoder().String("Résumé/café.txt")
	for _, tc := range []struct {
		raw, name, encoding string
	}{
		{"app/Skype.exe", "app/Skype.exe", ""},
		{"TOM-Skype/说明.txt", "TOM-Skype/说明.txt", ""}, // UTF-8 already
		{gbk(t, "TOM-Skype/说明.txt"), "TOM-Skype/说明.txt", "gbk"},
		// 僜 is 0x83 0x5C in GBK: its second byte is "\", which must not
		// become a folder separator.
		{gbk(t, `程序\僜.exe`), `程序\僜.exe`, "gbk"},
		{cp437, "Résumé/café.txt", "cp437"},
		{"\xff\xfe\x01", "\u00a0■\x01", "cp437"},
	} {
		name, enc := unpack.DecodeLegacyName(tc.raw)
		if name != tc.name || enc != tc.encoding {
			t.Errorf("%q: %q %q, want %q %q", tc.raw, name, enc, tc.name, tc.encoding)
		}
	}
}

// TestLegacyNameInEngine: a ZIP entry named in GBK without the UTF-8 flag
// (Chinese Windows' zips) is reported under its Chinese name, with the
// encoding and the bytes as found beside it, and no unsafe-name issue.
func TestLegacyNameInEngine(t *testing.T) {
	raw := gbk(t, `TOM-Skype\僜说明.txt`)
	data := unpacktest.ZipOf(t, [2]string{raw, "hello"})
	root := unpacktest.RunEngine(context.Background(), t, []unpack.Extractor{zip.Extractor{}}, "cn.zip", data, limits.Default())
	if len(root.Children) != 1 || len(unpacktest.Issues(root)) != 0 {
		t.Fatalf("children %d issues %v", len(root.Children), unpacktest.Issues(root))
	}
	c := root.Children[0]
	if c.Name != "TOM-Skype/僜说明.txt" || c.Meta["name_encoding"] != "gbk" || c.Meta["original_name"] != strconv.Quote(raw) {
		t.Errorf("name %q meta %v", c.Name, c.Meta)
	}
}
