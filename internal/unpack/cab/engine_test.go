package cab

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/cab/cabfile"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// storedCab writes a one-folder stored cabinet; declared sizes may lie.
func storedCab(names []string, bodies [][]byte, declared []uint32) []byte {
	le := binary.LittleEndian
	var data []byte
	var fileRecs bytes.Buffer
	for i, n := range names {
		fh := make([]byte, 16)
		le.PutUint32(fh[0:], declared[i])
		le.PutUint32(fh[4:], uint32(len(data)))
		fileRecs.Write(fh)
		fileRecs.WriteString(n)
		fileRecs.WriteByte(0)
		data = append(data, bodies[i]...)
	}
	coffFiles := 36 + 8
	dataStart := coffFiles + fileRecs.Len()
	out := make([]byte, 36)
	copy(out, "MSCF")
	le.PutUint32(out[16:], uint32(coffFiles))
	out[24], out[25] = 3, 1
	le.PutUint16(out[26:], 1)
	le.PutUint16(out[28:], uint16(len(names)))
	fo := make([]byte, 8)
	le.PutUint32(fo, uint32(dataStart))
	le.PutUint16(fo[4:], 1)
	out = append(out, fo...)
	out = append(out, fileRecs.Bytes()...)
	dh := make([]byte, 8)
	le.PutUint16(dh[4:], uint16(len(data)))
	le.PutUint16(dh[6:], uint16(len(data)))
	le.PutUint32(dh[0:], cabfile.Checksum(dh[4:8], cabfile.Checksum(data, 0)))
	out = append(out, dh...)
	out = append(out, data...)
	le.PutUint32(out[8:], uint32(len(out)))
	return out
}

// TestEngineOnHostileCabinet runs the real engine: traversal names are
// cleaned and reported, a lying size is an issue, and nothing is written
// outside the scratch root.
func TestEngineOnHostileCabinet(t *testing.T) {
	cab := storedCab(
		[]string{`..\..\evil.exe`, `C:\Windows\system32\x.dll`, "ok.txt", "liar.bin"},
		[][]byte{[]byte("MZ evil"), []byte("MZ x"), []byte("fine"), []byte("short")},
		[]uint32{7, 4, 4, 0xFFFFFF00},
	)
	parent := t.TempDir()
	sc, err := scratch.New(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	l := limits.Default()
	root := artifact.NewRoot("hostile.cab")
	root.SetBlob(artifact.MemoryBlob(cab))
	unpack.New([]unpack.Extractor{Extractor{}}, unpack.Tools{}).Run(context.Background(), root, limits.NewBudget(l), sc, nil)

	byName := map[string]*artifact.Node{}
	for _, c := range root.Children {
		byName[c.Name] = c
	}
	for _, want := range []string{"evil.exe", "Windows/system32/x.dll", "ok.txt", "liar.bin"} {
		if byName[want] == nil {
			t.Fatalf("child %q missing; children %v", want, names(root))
		}
	}
	for _, n := range []string{"evil.exe", "Windows/system32/x.dll"} {
		if !hasIssue(byName[n], artifact.KindUnsafeName) {
			t.Errorf("%s: no unsafe-name issue: %+v", n, byName[n].Issues)
		}
	}
	if !hasIssue(byName["liar.bin"], artifact.KindLimit) {
		t.Errorf("liar.bin: declared 4 GiB, issues %+v", byName["liar.bin"].Issues)
	}
	if byName["ok.txt"].Size != 4 || len(byName["ok.txt"].Issues) != 0 {
		t.Errorf("ok.txt: %+v", byName["ok.txt"])
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		if !strings.HasPrefix(filepath.Join(parent, e.Name()), sc.Dir()) && e.Name() != filepath.Base(sc.Dir()) {
			t.Errorf("something written outside the scratch root: %s", e.Name())
		}
	}
}

func names(n *artifact.Node) []string {
	var out []string
	for _, c := range n.Children {
		out = append(out, c.Name)
	}
	return out
}

func hasIssue(n *artifact.Node, kind string) bool {
	for _, i := range n.Issues {
		if i.Kind == kind {
			return true
		}
	}
	return false
}

func FuzzExtractor(f *testing.F) {
	f.Add(storedCab([]string{"a.exe", `dir\b.dll`}, [][]byte{[]byte("MZ a"), []byte("MZ bb")}, []uint32{4, 5}))
	f.Add(storedCab([]string{`..\x`}, [][]byte{[]byte("x")}, []uint32{1 << 30}))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := limits.Default()
		l.MaxTotalBytes = 8 << 20
		if (Extractor{}).Match(data, int64(len(data))) {
			unpacktest.Run(t, Extractor{}, data, unpacktest.Options{Limits: &l, MaxBody: 1 << 20})
		}
	})
}

func TestQuantumIsAnIssue(t *testing.T) {
	cab := storedCab([]string{"old.exe"}, [][]byte{[]byte("MZ quantum")}, []uint32{10})
	binary.LittleEndian.PutUint16(cab[36+6:], 2|10<<8) // CFFOLDER.typeCompress = Quantum, level 10
	res := unpacktest.Run(t, Extractor{}, cab, unpacktest.Options{})
	if !strings.Contains(strings.Join(res.Issues, "\n"), "CAB: Quantum compression not supported") {
		t.Errorf("issues %q", res.Issues)
	}
	if len(res.Files) != 1 || res.Files[0].Name != "old.exe" || !strings.Contains(res.Files[0].Err, "Quantum") {
		t.Errorf("files %+v", res.Files)
	}
}
