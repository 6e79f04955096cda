package inno

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// No Inno Setup installer can be built here (ISCC is 32-bit): these tests
// drive a stand-in innoextract that prints what 1.9 prints, so the adapter's
// parsing, extraction and error mapping are tested; the corpus test runs the
// real tool on real installers.
func fakeTool(t *testing.T, script string) *unpack.Tools {
	p := filepath.Join(t.TempDir(), "innoextract")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &unpack.Tools{Innoextract: p}
}

func innoLike(t *testing.T) []byte {
	pe := unpacktest.MinimalPE(t, "", nil)
	return append(pe, []byte("rDlPtS02\x87eVx padding")...)
}

const listing = `Listing "Skype Setup" - setup data version 5.5.0 (unicode)
 - "app/Skype.exe" (12 B)
 - "app/Tom/ContentFilter.exe" [chinese] (3 B)
Done.
`

func TestListAndExtract(t *testing.T) {
	tools := fakeTool(t, `case "$1" in
--list) printf '%s' '`+listing+`' ;;
--extract) while [ "$1" != "--output-dir" ]; do shift; done; d="$2"
  mkdir -p "$d/app/Tom"; printf 'client bytes' > "$d/app/Skype.exe"; printf 'tom' > "$d/app/Tom/ContentFilter.exe"
  ln -s /etc/passwd "$d/app/link" ;;
esac
`)
	res := unpacktest.Run(t, Extractor{}, innoLike(t), unpacktest.Options{Tools: tools})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{
		"app/Skype.exe 12 " + unpacktest.Digest([]byte("client bytes")),
		"app/Tom/ContentFilter.exe 3 " + unpacktest.Digest([]byte("tom")),
	}
	if got := res.Set(); !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if res.Installer == nil || !slices.Equal(res.Installer.Tables["files"].Rows[1], []string{"app/Tom/ContentFilter.exe", "3 B"}) {
		t.Errorf("installer %+v", res.Installer)
	}
	if !strings.Contains(strings.Join(res.Issues, "\n"), "app/link") {
		t.Errorf("the symlink the tool wrote is not reported: %v", res.Issues)
	}
}

func TestNewerVersionIsUnsupported(t *testing.T) {
	tools := fakeTool(t, `echo 'Stream error while parsing setup headers!' >&2; echo ' ├─ detected setup version: 6.4.1 - Not a supported Inno Setup installer!' >&2; exit 1`)
	res := unpacktest.Run(t, Extractor{}, innoLike(t), unpacktest.Options{Tools: tools})
	if !errors.Is(res.Err, unpack.ErrUnsupported) {
		t.Errorf("err %v, want ErrUnsupported", res.Err)
	}
}

func TestToolMissingAndDecline(t *testing.T) {
	res := unpacktest.Run(t, Extractor{}, innoLike(t), unpacktest.Options{Tools: &unpack.Tools{}})
	var tm *unpack.ToolMissingError
	if !errors.As(res.Err, &tm) {
		t.Errorf("err %v, want ToolMissingError", res.Err)
	}
	res = unpacktest.Run(t, Extractor{}, unpacktest.MinimalPE(t, "", nil), unpacktest.Options{Tools: &unpack.Tools{}})
	if res.Err != nil || res.Installer != nil {
		t.Errorf("plain PE: %+v", res)
	}
}

func FuzzParseList(f *testing.F) {
	f.Add([]byte(listing))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab := ParseList(b)
		for _, r := range tab.Rows {
			if len(r) != len(tab.Columns) {
				t.Fatalf("row %v", r)
			}
		}
	})
}
