package nsis

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

var script = `SetCompressor %s
OutFile "setup.exe"
InstallDir "$PROGRAMFILES\Skype\Phone"
RequestExecutionLevel user
Section
SetOutPath "$INSTDIR"
File Skype.exe
SetOutPath "$INSTDIR\Tom"
File ContentFilter.exe
SectionEnd
`

func installer(t testing.TB, compressor string) ([]byte, map[string][]byte) {
	return installerSeeded(t, compressor, 0)
}

func installerSeeded(t testing.TB, compressor string, seed byte) ([]byte, map[string][]byte) {
	// Fixed pseudo-random content: 7-Zip's reading of solid zlib
	// installers depends on the data (see TestSolidZlibMisread).
	big := make([]byte, 50000)
	rand.NewChaCha8([32]byte{seed}).Read(big)
	files := map[string][]byte{"Skype.exe": []byte(strings.Repeat("client ", 1000)), "ContentFilter.exe": big}
	in := map[string][]byte{"s.nsi": []byte(strings.Replace(script, "%s", compressor, 1))}
	for k, v := range files {
		in[k] = v
	}
	return unpacktest.Build(t, in, "setup.exe", "makensis", "-V1", "s.nsi"), map[string][]byte{"Skype.exe": files["Skype.exe"], "Tom/ContentFilter.exe": big}
}

func TestExtractEveryCompressor(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	for _, c := range []string{"zlib", "bzip2", "lzma", "/SOLID bzip2", "/SOLID lzma", "bzip2\nTarget amd64-unicode"} { // solid zlib: below
		t.Run(c, func(t *testing.T) {
			data, files := installer(t, c)
			res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			want := unpacktest.SetOf(files)
			got := res.Set()
			if !slices.Equal(got, want) {
				t.Errorf("got %v\nwant %v\nissues %v", got, want, res.Issues)
			}
			if res.Installer == nil || res.Installer.Format != "nsis" || len(res.Installer.Tables["files"].Rows) != 2 || len(res.Installer.Tables["listed"].Rows) != 2 {
				t.Errorf("installer record %+v", res.Installer)
			}
			// 7z read it, and our reader's cross-check agrees.
			if len(res.Issues) > 0 {
				t.Errorf("issues %v", res.Issues)
			}
		})
	}
}

func TestToolMissing(t *testing.T) {
	data, _ := installer(t, "zlib")
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{Tools: &unpack.Tools{}})
	var tm *unpack.ToolMissingError
	if !errors.As(res.Err, &tm) || tm.Tool != "7z" {
		t.Errorf("err %v, want a ToolMissingError for 7z", res.Err)
	}
}

func TestDeclinesPlainPE(t *testing.T) {
	res := unpacktest.Run(t, Extractor{}, unpacktest.MinimalPE(t, "", nil), unpacktest.Options{})
	if res.Err != nil || len(res.Files) != 0 || res.Installer != nil {
		t.Errorf("plain PE: %+v", res)
	}
}

func TestTruncated(t *testing.T) {
	data, _ := installer(t, "lzma")
	res := unpacktest.Run(t, Extractor{}, data[:len(data)-3000], unpacktest.Options{})
	if res.Err == nil && len(res.Issues) == 0 {
		t.Errorf("truncated installer: no error and no issue, files %v", res.Names())
	}
}

// TestTruncatedChildCarriesVerdict: a solid installer cut inside its last
// file: 7z writes that file short; the child carries 7z's verdict as its
// read error (over its bytes as written), and the installer's issue quotes
// what 7z said of the archive, not its "ERRORS:" heading.
func TestTruncatedChildCarriesVerdict(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data, files := installer(t, "/SOLID lzma")
	res := unpacktest.Run(t, Extractor{}, data[:len(data)-20000], unpacktest.Options{})
	var cut *unpacktest.File
	for i, f := range res.Files {
		if f.Name == "Tom/ContentFilter.exe" {
			cut = &res.Files[i]
		}
	}
	if cut == nil || cut.Size >= int64(len(files["Tom/ContentFilter.exe"])) || !strings.Contains(cut.Err, "7z: Data Error") {
		t.Fatalf("cut file %+v; files %v", cut, res.Set())
	}
	if !slices.Contains(res.Issues, "extract-error: nsis: 7z exit 2: Unexpected end of archive") {
		t.Errorf("issues %v", res.Issues)
	}
}

func TestFindOnlyOnSectorBoundary(t *testing.T) {
	buf := make([]byte, 4096)
	copy(buf[1000+4:], signature) // not 512-aligned: NSIS never puts it there
	if off, _ := Find(context.Background(), strings.NewReader(string(buf))); off != -1 {
		t.Errorf("found at %d", off)
	}
	copy(buf[1024+4:], signature)
	if off, _ := Find(context.Background(), strings.NewReader(string(buf))); off != 1024 {
		t.Errorf("found at %d, want 1024", off)
	}
}

func FuzzExtract(f *testing.F) {
	data, _ := installer(f, "zlib")
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		unpacktest.Run(t, Extractor{}, data, unpacktest.Options{MaxBody: 1 << 20})
	})
}

// 7-Zip 26.02 cannot open this solid zlib installer (seed 0; it reads
// seeds 1, 2 and 6): our own reader extracts every file under its name
// from the decoded files table, and says so in the "reader" table.
func TestSolidZlibMisread(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data, files := installerSeeded(t, "/SOLID zlib", 0)
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := unpacktest.SetOf(files)
	if got := res.Set(); !slices.Equal(got, want) || len(res.Issues) > 0 {
		t.Errorf("files %v, want %v; issues %v", got, want, res.Issues)
	}
	if res.Installer == nil || len(res.Installer.Tables["reader"].Rows) != 2 || res.Installer.Script == "" {
		t.Fatalf("installer record %+v", res.Installer)
	}
	if r := res.Installer.Tables["reader"].Rows; !strings.HasPrefix(r[0][1], "7z cannot open it") || !strings.HasPrefix(r[1][1], "2 files read") {
		t.Errorf("reader table %q", r)
	}
}

func TestSolidZlibReadBy7z(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data, files := installerSeeded(t, "/SOLID zlib", 1)
	res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
	if res.Err != nil || len(res.Files) != len(files) || res.Files[0].Name != "Skype.exe" {
		t.Errorf("err %v files %v", res.Err, res.Set())
	}
}

// rawReader runs the fallback for installers whose script is not decoded.
type rawReader struct{}

func (rawReader) Name() string                       { return "nsis" }
func (rawReader) Match(head []byte, size int64) bool { return true }
func (rawReader) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	off, err := Find(ctx, in.Blob.Reader())
	if err != nil {
		return err
	}
	_, err = readSolidZlib(ctx, in, sink, off)
	return err
}

// TestRawFallback: without the script, a solid zlib installer's blocks are
// read raw, named by data offset.
func TestRawFallback(t *testing.T) {
	data, files := installerSeeded(t, "/SOLID zlib", 0)
	res := unpacktest.Run(t, rawReader{}, data, unpacktest.Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var want, got []string
	for _, b := range files {
		want = append(want, unpacktest.Digest(b))
	}
	for _, f := range res.Files {
		if strings.HasPrefix(f.Name, "[nsis-data]/") {
			got = append(got, f.SHA256)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) || !slices.Contains(res.Names(), HeaderName) {
		t.Errorf("files %v, want the contents %v", res.Set(), want)
	}
}
