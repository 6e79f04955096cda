package installshield

import (
	"errors"
	"github.com/tomscan/tomscan/internal/artifact"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

var damaged = []byte("ISc(\x00\x00\x00\x01 not a real cabinet")

// unshield 1.5 segfaults on this cabinet: the crash must come back as an
// error naming the signal, not as an empty success.
func TestDamagedCabinetIsAnError(t *testing.T) {
	unpacktest.Tool(t, "unshield")
	res := unpacktest.Run(t, Extractor{}, damaged, unpacktest.Options{})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "unshield") || len(res.Files) != 0 {
		t.Errorf("err %v files %v", res.Err, res.Files)
	}
}

func TestToolMissing(t *testing.T) {
	res := unpacktest.Run(t, Extractor{}, damaged, unpacktest.Options{Tools: &unpack.Tools{}})
	var tm *unpack.ToolMissingError
	if !errors.As(res.Err, &tm) || tm.Tool != "unshield" {
		t.Errorf("err %v", res.Err)
	}
}

// No InstallShield cabinet can be built here; a stand-in unshield checks
// the adapter's command line and read-back.
func TestExtractWithStandIn(t *testing.T) {
	p := filepath.Join(t.TempDir(), "unshield")
	script := "#!/bin/sh\n[ \"$5\" = x ] || exit 9\nmkdir -p \"$4/Program_Files\"\nprintf skype > \"$4/Program_Files/Skype.exe\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	res := unpacktest.Run(t, Extractor{}, damaged, unpacktest.Options{Tools: &unpack.Tools{Unshield: p}})
	want := []string{"Program_Files/Skype.exe 5 " + unpacktest.Digest([]byte("skype"))}
	if res.Err != nil || !slices.Equal(res.Set(), want) {
		t.Errorf("err %v files %v", res.Err, res.Set())
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(damaged)
	f.Fuzz(func(t *testing.T, data []byte) {
		if !(Extractor{}).Match(data, int64(len(data))) {
			return
		}
		unpacktest.Run(t, Extractor{}, data, unpacktest.Options{MaxBody: 1 << 20})
	})
}

func TestLoneHeaderIsUnsupported(t *testing.T) {
	res := unpacktest.Run(t, Extractor{}, damaged, unpacktest.Options{Node: artifact.NewRoot("Disk1/data1.hdr")})
	if !errors.Is(res.Err, unpack.ErrUnsupported) || len(res.Files) != 0 {
		t.Errorf("err %v files %v", res.Err, res.Files)
	}
}

func TestFailedRunDropsEmptyFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "unshield")
	script := "#!/bin/sh\nmkdir -p \"$4/c\"\n: > \"$4/c/empty.dll\"\nprintf data > \"$4/c/full.dll\"\necho 'Failed to read' >&2\nexit 1\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	res := unpacktest.Run(t, Extractor{}, damaged, unpacktest.Options{Tools: &unpack.Tools{Unshield: p}})
	if !slices.Equal(res.Names(), []string{"c/full.dll"}) || len(res.Issues) != 1 {
		t.Errorf("names %v issues %v err %v", res.Names(), res.Issues, res.Err)
	}
}
