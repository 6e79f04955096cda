package registry

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"github.com/tomscan/tomscan/internal/artifact"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// TestReferenceComparisonFixtures runs the reference comparison on nested
// fixtures built here, so the comparison itself is tested without the corpus.
func TestReferenceComparisonFixtures(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	client := unpacktest.MinimalPE(t, "", nil)
	filter := make([]byte, 30000)
	rand.Read(filter)
	var gzbuf bytes.Buffer
	zw := gzip.NewWriter(&gzbuf)
	zw.Name = "keyfile_u"
	zw.Write([]byte(strings.Repeat("keyword\r\n", 500)))
	zw.Close()

	inner7z := unpacktest.Build(t, map[string][]byte{"app/Skype.exe": client, "app/keyfile_u.gz": gzbuf.Bytes()}, "inner.7z", "7zz", "a", "-bd", "inner.7z", "app")
	outerZip := unpacktest.ZipOf(t, [2]string{"payload/inner.7z", string(inner7z)}, [2]string{"ContentFilter.exe", string(filter)})
	nsisFiles := map[string][]byte{
		"s.nsi":     []byte("SetCompressor /SOLID lzma\nOutFile setup.exe\nRequestExecutionLevel user\nSection\nSetOutPath $INSTDIR\nFile Skype.exe\nFile bundle.zip\nSectionEnd\n"),
		"Skype.exe": client, "bundle.zip": outerZip,
	}
	setup := unpacktest.Build(t, nsisFiles, "setup.exe", "makensis", "-V1", "s.nsi")
	sfx := append(slices.Clone(client), outerZip...)

	for name, data := range map[string][]byte{"outer.zip": outerZip, "setup.exe": setup, "sfx.exe": sfx} {
		t.Run(name, func(t *testing.T) {
			root, rows := compareBuild(t, name, data)
			if len(rows) == 0 {
				t.Fatal("no container compared")
			}
			t.Logf("\n%s", strings.Join(rows, "\n"))
			hit := false
			root.Walk(func(n *artifact.Node) error {
				hit = hit || (len(n.Path) >= 2 && slices.Equal(n.Path[len(n.Path)-1:], []string{"app/Skype.exe"}))
				return nil
			})
			if !hit {
				t.Error("the client inside the 7z is not in the tree")
			}
		})
	}
}
