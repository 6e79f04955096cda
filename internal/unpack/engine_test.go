package unpack_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/compress"
	"github.com/tomscan/tomscan/internal/unpack/nsis"
	"github.com/tomscan/tomscan/internal/unpack/peimage"
	"github.com/tomscan/tomscan/internal/unpack/sevenzip"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
	uzip "github.com/tomscan/tomscan/internal/unpack/zip"
)

// extractors is the registry's order for the formats this package's tests
// build (the registry itself also holds MSI and CAB).
func extractors() []unpack.Extractor {
	return []unpack.Extractor{uzip.Extractor{}, sevenzip.Extractor{}, compress.Extractor{}, nsis.Extractor{}, peimage.Extractor{}}
}

func hasIssue(root *artifact.Node, id, kind, substr string) bool {
	n := root
	if id != root.ID {
		n = nil
		root.Walk(func(x *artifact.Node) error {
			if x.ID == id {
				n = x
			}
			return nil
		})
	}
	if n == nil {
		return false
	}
	for _, i := range n.Issues {
		if i.Kind == kind && strings.Contains(i.Message, substr) {
			return true
		}
	}
	return false
}

func zipRaw(t testing.TB, entries ...[2]string) []byte {
	return unpacktest.ZipOf(t, entries...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestRatioBombStopsEarly(t *testing.T) {
	bomb := gz(make([]byte, 32<<20)) // ~32 KiB in, 32 MiB out
	l := limits.Default()
	l.MaxRatio = 20 // 1 MiB (the floor) may come out of this container
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	root := unpacktest.RunEngine(context.Background(), t, extractors(), "bomb.gz", bomb, l)
	runtime.ReadMemStats(&after)
	if !hasIssue(root, root.ID, artifact.KindLimit, "compression ratio") {
		t.Errorf("no ratio issue: %v", unpacktest.Issues(root))
	}
	if len(root.Children) != 1 || !hasIssue(root, root.Children[0].ID, artifact.KindLimit, "not analysed") {
		t.Errorf("the bomb's child carries no limit issue: %v", unpacktest.Issues(root))
	}
	// The read stops at the ratio room: allocations stay near it, far
	// below the 32 MiB the bomb would inflate to.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 12<<20 {
		t.Errorf("allocated %d MiB for a 32 MiB bomb", alloc>>20)
	}
}

func TestNestedBombHitsBuildBudget(t *testing.T) {
	layer := make([]byte, 1<<20)
	for i := range 4 {
		var entries [][2]string
		for j := range 8 {
			// Distinct content per copy, so sha256 dedupe does not defuse it.
			entries = append(entries, [2]string{fmt.Sprintf("copy%d.bin", j), string(append(slices.Clone(layer), byte(i), byte(j)))})
		}
		layer = zipRaw(t, entries...)
	}
	l := limits.Default()
	l.MaxTotalBytes = 16 << 20
	l.MaxEntryBytes = 8 << 20
	root := unpacktest.RunEngine(context.Background(), t, extractors(), "nested.zip", layer, l)
	found := false
	root.Walk(func(n *artifact.Node) error {
		for _, i := range n.Issues {
			found = found || (i.Kind == artifact.KindLimit && (strings.Contains(i.Message, "total bytes") || strings.Contains(i.Message, "ratio")))
		}
		return nil
	})
	if !found {
		t.Errorf("no budget or ratio issue in the tree: %v", unpacktest.Issues(root))
	}
}

func TestHugeDeclaredSize(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	fw, _ := w.CreateRaw(&zip.FileHeader{Name: "huge.bin", Method: zip.Store, UncompressedSize64: 1 << 40, CompressedSize64: 4})
	fw.Write([]byte("tiny"))
	w.Close()
	root := unpacktest.RunEngine(context.Background(), t, extractors(), "huge.zip", buf.Bytes(), limits.Default())
	if !hasIssue(root, "huge.zip!huge.bin", artifact.KindLimit, "declared size") {
		t.Errorf("issues: %v", unpacktest.Issues(root))
	}
}

func TestDeepNesting(t *testing.T) {
	data := []byte("the bottom")
	for range 50 {
		data = zipRaw(t, [2]string{"inner.zip", string(data)})
	}
	root := unpacktest.RunEngine(context.Background(), t, extractors(), "deep.zip", data, limits.Default())
	depth := 0
	var deepest *artifact.Node
	root.Walk(func(n *artifact.Node) error {
		if n.Depth >= depth {
			depth, deepest = n.Depth, n
		}
		return nil
	})
	if depth != 16 || !hasIssue(root, deepest.ID, artifact.KindLimit, "max depth 16") {
		t.Errorf("deepest %d, issues %v", depth, unpacktest.Issues(root))
	}
}

func TestUnsafeAndDuplicateNames(t *testing.T) {
	data := zipRaw(t,
		[2]string{"../../evil.txt", "a"}, [2]string{"/etc/passwd", "b"}, [2]string{`C:\Windows\system32\x.dll`, "c"},
		[2]string{"COM1.txt", "d"}, [2]string{"dup.txt", "e"}, [2]string{"dup.txt", "f"})
	root := unpacktest.RunEngine(context.Background(), t, extractors(), "names.zip", data, limits.Default())
	var names []string
	for _, c := range root.Children {
		names = append(names, c.Name)
	}
	want := []string{"Windows/system32/x.dll", "_COM1.txt", "dup.txt", "dup.txt#2", "etc/passwd", "evil.txt"}
	if !slices.Equal(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
	for _, id := range []string{"names.zip!evil.txt", "names.zip!etc/passwd", "names.zip!Windows/system32/x.dll", "names.zip!_COM1.txt"} {
		if !hasIssue(root, id, artifact.KindUnsafeName, "") {
			t.Errorf("%s: no unsafe-name issue", id)
		}
	}
}

// TestTruncatedArchive: a ZIP cut inside its central directory is an issue
// on the archive, and the entry before the cut, whole, is still read (by
// 7-Zip, from its local header).
func TestTruncatedArchive(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	data := zipRaw(t, [2]string{"a.txt", strings.Repeat("x", 5000)})
	root := unpacktest.RunEngine(context.Background(), t, extractors(), "cut.zip", data[:len(data)-30], limits.Default())
	if len(root.Issues) != 1 || root.Issues[0].Kind != artifact.KindMalformed || len(root.Children) != 1 || root.Children[0].Size != 5000 {
		t.Errorf("issues %v, %d children", unpacktest.Issues(root), len(root.Children))
	}
}

func TestCancelledBuild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := zipRaw(t, [2]string{"a.txt", "x"})
	root := unpacktest.RunEngine(ctx, t, extractors(), "c.zip", data, limits.Default())
	if !hasIssue(root, root.ID, artifact.KindTimeout, "") || len(root.Children) != 0 {
		t.Errorf("issues %v children %d", unpacktest.Issues(root), len(root.Children))
	}
}

type panicky struct{}

func (panicky) Name() string                    { return "panicky" }
func (panicky) Match(head []byte, _ int64) bool { return true }
func (panicky) Extract(ctx context.Context, in unpack.Input, s unpack.Sink) error {
	dir, _ := unpack.NewOutDir(in, "panicky") // left behind on purpose: the scratch Close must remove it
	_ = dir
	s.Emit(ctx, unpack.Entry{Name: "before-panic", Size: 1, Body: strings.NewReader("x")})
	panic("boom")
}

func TestPanicIsAnIssueAndTempFilesGo(t *testing.T) {
	root := unpacktest.RunEngine(context.Background(), t, []unpack.Extractor{panicky{}}, "p.bin", []byte("data"), limits.Default())
	if !hasIssue(root, root.ID, artifact.KindPanic, "boom") {
		t.Errorf("issues %v", unpacktest.Issues(root))
	}
	if unpacktest.Find(root, "p.bin", "before-panic") == nil {
		t.Error("the child emitted before the panic is lost")
	}
}

func TestExtractorOrder(t *testing.T) {
	pe := unpacktest.MinimalPE(t, "", nil)
	appended := zipRaw(t, [2]string{"Skype.exe", "client"})
	root := unpacktest.RunEngine(context.Background(), t, extractors(), "sfx.exe", append(slices.Clone(pe), appended...), limits.Default())
	if root.Container != "pe" || unpacktest.Find(root, "sfx.exe", "[overlay]", "Skype.exe") == nil {
		t.Errorf("plain PE with appended zip: container %q, issues %v", root.Container, unpacktest.Issues(root))
	}

	unpacktest.Tool(t, "7zz")
	setup := unpacktest.Build(t, map[string][]byte{"s.nsi": []byte("OutFile setup.exe\nRequestExecutionLevel user\nSection\nSetOutPath $INSTDIR\nFile Skype.exe\nSectionEnd\n"), "Skype.exe": pe}, "setup.exe", "makensis", "-V1", "s.nsi")
	root = unpacktest.RunEngine(context.Background(), t, extractors(), "setup.exe", setup, limits.Default())
	if root.Container != "nsis" || unpacktest.Find(root, "setup.exe", "Skype.exe") == nil || root.Installer == nil {
		t.Errorf("NSIS installer: container %q, children %d, issues %v", root.Container, len(root.Children), unpacktest.Issues(root))
	}
}

func TestDuplicateContentAnalysedOnce(t *testing.T) {
	data := zipRaw(t, [2]string{"a/Skype.exe", "same"}, [2]string{"b/Skype.exe", "same"})
	root := unpacktest.RunEngine(context.Background(), t, extractors(), "d.zip", data, limits.Default())
	b := unpacktest.Find(root, "d.zip", "b/Skype.exe")
	if b == nil || b.DuplicateOf != "d.zip!a/Skype.exe" {
		t.Errorf("duplicate not recorded: %+v", b)
	}
}
