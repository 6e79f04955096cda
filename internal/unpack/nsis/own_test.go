package nsis

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	nsisscript "github.com/tomscan/tomscan/internal/unpack/nsis/script"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// ownOnly is the extractor with 7z left out: our reader alone.
type ownOnly struct{}

func (ownOnly) Name() string                       { return "nsis" }
func (ownOnly) Match(head []byte, size int64) bool { return Extractor{}.Match(head, size) }
func (ownOnly) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	decoded, err := nsisscript.Decode(ctx, in.Blob.ReaderAt(), in.Blob.Size())
	if err != nil {
		return err
	}
	return readOwn(ctx, in, sink, decoded, "not run")
}

// richScript has what makes names and offsets interesting: files under
// several output folders ($PLUGINSDIR, $TEMP, a subfolder, a folder outside
// $INSTDIR), the same bytes under two names (makensis stores them once:
// one data offset), the same name written twice with different bytes, a
// plugin called twice (extracted by each call), an empty file, and a
// 1.6 MB file (two bzip2 blocks), and an uninstaller (7z rebuilds it, our
// reader does not).
const richScript = `Unicode %UNICODE%
SetCompressor %COMP%
OutFile "setup.exe"
InstallDir "$PROGRAMFILES\Skype\Phone"
RequestExecutionLevel user
Section
SetOutPath "$INSTDIR"
File Skype.exe
File /oname=SkypeCopy.exe Skype.exe
File big.bin
File empty.txt
SetOutPath "$INSTDIR\Tom"
File ContentFilter.exe
File /oname=ContentFilter.exe keyfile.dat
SetOutPath "$TEMP"
File keyfile.dat
SetOutPath "C:\Tom"
File keyfile.dat
InitPluginsDir
SetOutPath "$PLUGINSDIR"
File /oname=$PLUGINSDIR\helper.dll Skype.exe
System::Call 'kernel32::GetTickCount() i .r0'
System::Call 'kernel32::GetTickCount() i .r1'
WriteUninstaller "$INSTDIR\uninst.exe"
SectionEnd
Section Uninstall
Delete "$INSTDIR\uninst.exe"
SectionEnd
`

func richInstaller(t testing.TB, comp string, unicode bool) []byte {
	t.Helper()
	big := make([]byte, 1_600_000)
	rng := rand.NewChaCha8([32]byte{9})
	for i := 0; i < len(big); i += 1000 {
		rng.Read(big[i : i+200]) // compressible, not trivially
	}
	u := "false"
	if unicode {
		u = "true"
	}
	return unpacktest.Build(t, map[string][]byte{
		"s.nsi":             []byte(strings.NewReplacer("%COMP%", comp, "%UNICODE%", u).Replace(richScript)),
		"Skype.exe":         []byte(strings.Repeat("client ", 1000)),
		"ContentFilter.exe": bytes.Repeat([]byte("filter\x00\x01"), 3000),
		"keyfile.dat":       []byte("encrypted keyword list"),
		"big.bin":           big,
		"empty.txt":         {},
	}, "setup.exe", "makensis", "-V1", "s.nsi")
}

// TestOwnReaderMatches7z: for every compressor, solid or not, Unicode or
// ANSI, x86 or amd64, our reader alone gives the same (name, size,
// sha256) set as 7z's extraction, and the full extractor, which runs both,
// finds nothing to complain about.
func TestOwnReaderMatches7z(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	for _, c := range []struct {
		comp    string
		unicode bool
	}{
		{"zlib", true}, {"/SOLID zlib", false}, {"bzip2", true}, {"/SOLID bzip2", true},
		{"bzip2", false}, {"/SOLID bzip2", false}, {"lzma", true}, {"/SOLID lzma", true},
		{"/SOLID bzip2\nTarget amd64-unicode", true}, {"lzma\nTarget amd64-unicode", true},
	} {
		name := strings.ReplaceAll(c.comp, "\n", " ")
		if !c.unicode {
			name += " ansi"
		}
		t.Run(name, func(t *testing.T) {
			data := richInstaller(t, c.comp, c.unicode)
			own := unpacktest.Run(t, ownOnly{}, data, unpacktest.Options{})
			if own.Err != nil || len(own.Issues) > 0 {
				t.Fatalf("own reader: %v %v", own.Err, own.Issues)
			}
			both := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
			if both.Err != nil {
				t.Fatal(both.Err)
			}
			if _, ok := both.Installer.Tables["listed"]; !ok {
				t.Skip("7z cannot open this one: nothing to compare with")
			}
			var files []string
			for _, f := range both.Files {
				if f.Name != "uninst.exe" {
					files = append(files, f.String())
				}
			}
			slices.Sort(files)
			if !slices.Equal(own.Set(), files) || len(both.Issues) > 0 || len(files) != len(both.Files)-1 {
				t.Errorf("own reader:\n%s\n7z:\n%s\nissues %v", strings.Join(own.Set(), "\n"), strings.Join(both.Set(), "\n"), both.Issues)
			}
			if r := own.Installer.Tables["reader"].Rows; len(r) != 2 || !strings.HasSuffix(r[1][1], "the uninstaller WriteUninstaller writes (uninst.exe) is not rebuilt") {
				t.Errorf("reader table %q", r)
			}
			for _, want := range []string{"$PLUGINSDIR/System.dll", "$PLUGINSDIR/helper.dll", "$TEMP/keyfile.dat", "C:/Tom/keyfile.dat", "SkypeCopy.exe", "empty.txt", "big.bin"} {
				if !slices.Contains(own.Names(), want) {
					t.Errorf("no %s in %v", want, own.Names())
				}
			}
		})
	}
}

// TestCrossCheckDisagreement feeds the cross-check a listing that differs
// from the installer: a file 7z did not extract is supplied by our reader,
// and the disagreement is an issue.
func TestCrossCheckDisagreement(t *testing.T) {
	data, files := installer(t, "/SOLID lzma")
	decoded, err := nsisscript.Decode(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	listed := []unpack.SLTItem{
		{"Path": "Skype.exe", "Size": "7000"},
		{"Path": `Tom\ContentFilter.exe`, "Size": "49999"},
		{"Path": "ghost.exe", "Size": "1"},
	}
	already := map[string]int{"Skype.exe": 1} // what "7z" extracted
	x := &crossChecker{decoded: decoded, listed: listed, already: already}
	res := unpacktest.Run(t, x, data, unpacktest.Options{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	cf := files["Tom/ContentFilter.exe"]
	want := []string{unpacktest.File{Name: "Tom/ContentFilter.exe", Size: int64(len(cf)), SHA256: unpacktest.Digest(cf)}.String()}
	if !slices.Equal(res.Set(), want) || already["Tom/ContentFilter.exe"] != 1 {
		t.Errorf("emitted %v, want %v", res.Set(), want)
	}
	wantIssue := "extract-error: nsis: 7z's listing and tomscan's reader of the decoded files table disagree: 2 names: Tom/ContentFilter.exe: 7z says 49999 bytes, tomscan reads 50000; ghost.exe: only 7z lists it"
	if !slices.Equal(res.Issues, []string{wantIssue}) {
		t.Errorf("issues %q\nwant %q", res.Issues, wantIssue)
	}
}

type crossChecker struct {
	decoded *nsisscript.Result
	listed  []unpack.SLTItem
	already map[string]int
}

func (*crossChecker) Name() string             { return "nsis" }
func (*crossChecker) Match([]byte, int64) bool { return true }
func (c *crossChecker) Extract(ctx context.Context, in unpack.Input, sink unpack.Sink) error {
	return crossCheck(ctx, in, sink, c.decoded, c.listed, c.already)
}

func TestCompareListings(t *testing.T) {
	a := []sized{{"a", 1}, {"b", -1}, {"c", 3}, {"c", 4}}
	if d := compareListings(a, []sized{{"c", 4}, {"b", 2}, {"a", 1}, {"c", 3}}); d != "" {
		t.Errorf("same multiset: %s", d)
	}
	if d := compareListings(a, []sized{{"a", 1}, {"b", 2}, {"c", 3}}); d != "1 names: c: 7z lists it 2 times, the script 1" {
		t.Errorf("got %q", d)
	}
}

// solidZlibWith rebuilds a solid zlib installer around a changed stream.
func solidZlibWith(t *testing.T, data []byte, change func(stream []byte) []byte) []byte {
	t.Helper()
	decoded, err := nsisscript.Decode(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	l := decoded.Layout
	if !l.Solid || l.Method != nsisscript.Deflate {
		t.Fatalf("layout %+v", l)
	}
	stream, err := io.ReadAll(flate.NewReader(bytes.NewReader(data[l.Start:l.End])))
	if err != nil {
		t.Fatal(err)
	}
	stream = change(stream)
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, 6)
	w.Write(stream)
	w.Close()
	out := append(bytes.Clone(data[:l.Start]), z.Bytes()...)
	out = append(out, 0, 0, 0, 0) // the CRC32 slot
	binary.LittleEndian.PutUint32(out[l.FirstHeader.Offset+24:], uint32(int64(len(out))-l.FirstHeader.Offset))
	return out
}

// TestForgedLength: an item that claims 2 GiB is an issue (the engine's
// declared-size check), never an allocation; the stream ends inside it,
// which is an issue too, and the files before it are kept.
func TestForgedLength(t *testing.T) {
	data, _ := installerSeeded(t, "/SOLID zlib", 0)
	decoded, err := nsisscript.Decode(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	second, _ := parseInt(decoded.Files[1][3])
	forged := solidZlibWith(t, data, func(s []byte) []byte {
		at := 4 + int64(decoded.Layout.FirstHeader.HeaderLen) + second
		binary.LittleEndian.PutUint32(s[at:], 0x7ffffff0)
		return s
	})
	root := unpacktest.RunEngine(context.Background(), t, []unpack.Extractor{ownOnly{}}, "setup.exe", forged, limits.Default())
	issues := strings.Join(unpacktest.Issues(root), "\n")
	for _, want := range []string{"declared size 2147483632 exceeds max entry bytes", "Tom/ContentFilter.exe (data offset " + decoded.Files[1][3] + "): solid zlib stream ends inside the item"} {
		if !strings.Contains(issues, want) {
			t.Errorf("issues lack %q:\n%s", want, issues)
		}
	}
	if unpacktest.Find(root, "setup.exe", "Skype.exe") == nil {
		t.Error("the file before the forged one is lost")
	}
}

func parseInt(s string) (int64, error) {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// TestBudget: the reader's decompression, skips included, stops at the
// build's byte limit with a limit issue.
func TestBudget(t *testing.T) {
	data := richInstaller(t, "/SOLID bzip2", true)
	l := limits.Default()
	l.MaxTotalBytes, l.MaxEntryBytes = 1<<20, 1<<20
	root := unpacktest.RunEngine(context.Background(), t, []unpack.Extractor{ownOnly{}}, "setup.exe", data, l)
	issues := strings.Join(unpacktest.Issues(root), "\n")
	// The 1.6 MB file is over the entry limit (not extracted) and skipping
	// it in the solid stream runs into the budget.
	if !strings.Contains(issues, "limit: nsis: big.bin (data offset 7004): solid bzip2 stream: more than max total bytes decompressed: the rest of the installer's data is not read") {
		t.Errorf("no budget issue:\n%s", issues)
	}
	var total int64
	root.Walk(func(n *artifact.Node) error {
		if n != root && n.SHA256 != "" {
			total += n.Size
		}
		return nil
	})
	if total > 1<<20 {
		t.Errorf("%d bytes extracted", total)
	}
}

func TestCancelled(t *testing.T) {
	data := richInstaller(t, "bzip2", true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := unpacktest.RunContext(ctx, t, ownOnly{}, data, unpacktest.Options{})
	if res.Err == nil {
		t.Errorf("cancelled: no error, files %v", res.Names())
	}
}

func FuzzOwnReader(f *testing.F) {
	// The NSIS part of small installers: the fuzzer minimises every new
	// input, which is slow on whole installers.
	for _, c := range []string{"zlib", "/SOLID zlib", "bzip2", "/SOLID bzip2", "lzma", "/SOLID lzma"} {
		data := unpacktest.Build(f, map[string][]byte{
			"s.nsi":     []byte(strings.Replace(script, "%s", c, 1)),
			"Skype.exe": []byte(strings.Repeat("client ", 50)), "ContentFilter.exe": []byte("filter"),
		}, "setup.exe", "makensis", "-V1", "s.nsi")
		off, err := Find(context.Background(), bytes.NewReader(data))
		if err != nil || off < 0 {
			f.Fatal("no NSIS header", err)
		}
		f.Add(data[off:])
	}
	l := limits.Default()
	l.MaxTotalBytes, l.MaxEntryBytes, l.InMemoryBytes = 16<<20, 4<<20, 1<<20
	f.Fuzz(func(t *testing.T, data []byte) {
		res := unpacktest.Run(t, ownOnly{}, data, unpacktest.Options{Limits: &l, MaxBody: 4 << 20})
		for _, f := range res.Files {
			if f.Size > 4<<20 {
				t.Fatalf("%s: %d bytes", f.Name, f.Size)
			}
		}
	})
}

// TestCorpus runs both readers over every NSIS installer of the synthetic
// and real corpora (outermost files): our reader alone gets what 7z gets,
// and the cross-check finds no disagreement.
func TestCorpus(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	n := 0
	for _, p := range unpacktest.CorpusFiles(t, []byte("MZ")) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if off, _ := Find(context.Background(), bytes.NewReader(data)); off < 0 {
			continue
		}
		n++
		t.Run(filepath.Base(p), func(t *testing.T) {
			both := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
			for _, i := range both.Issues {
				if strings.Contains(i, "disagree") || strings.Contains(i, "tomscan") {
					t.Errorf("issue %s", i)
				}
			}
			decoded, err := nsisscript.Decode(context.Background(), bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Skipf("script not decoded (%v): no reader of our own", err)
			}
			var uninstallers []string
			for _, u := range decoded.Uninstallers {
				uninstallers = append(uninstallers, nsisscript.ListedName(u[0]))
			}
			own := unpacktest.Run(t, ownOnly{}, data, unpacktest.Options{})
			if own.Err != nil || len(own.Issues) > 0 {
				t.Errorf("own reader: %v %v", own.Err, own.Issues)
			}
			// 7z also rebuilds the uninstaller WriteUninstaller writes.
			var fromFiles []string
			for _, f := range both.Files {
				if !slices.Contains(uninstallers, f.Name) {
					fromFiles = append(fromFiles, f.String())
				}
			}
			slices.Sort(fromFiles)
			if !slices.Equal(own.Set(), fromFiles) {
				t.Errorf("own reader:\n%s\nextractor:\n%s", strings.Join(own.Set(), "\n"), strings.Join(fromFiles, "\n"))
			}
		})
	}
	if n == 0 {
		t.Error("no NSIS installers in the corpora")
	}
}
