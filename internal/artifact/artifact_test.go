package artifact

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestChildIdentityIsThePathChain(t *testing.T) {
	root := NewRoot("setup.zip")
	msi := root.NewChild("app/setup.msi", "zip")
	exe := msi.NewChild("Program Files/Skype/Skype.exe", "msi")
	if exe.ID != "setup.zip!app/setup.msi!Program Files/Skype/Skype.exe" {
		t.Fatalf("ID = %q", exe.ID)
	}
	if exe.Depth != 2 || len(exe.Path) != 3 || exe.Extractor != "msi" {
		t.Fatalf("child = %+v", exe)
	}
	// The parent's path must not be shared with the child's slice.
	exe.Path[0] = "changed"
	if msi.Path[0] != "setup.zip" {
		t.Fatal("child path aliases the parent's")
	}
}

func TestSortChildrenIsDeterministic(t *testing.T) {
	build := func(order []string) *Node {
		r := NewRoot("r")
		for _, n := range order {
			c := r.NewChild(n, "zip")
			c.SHA256 = n
			r.Children = append(r.Children, c)
		}
		r.SortChildren()
		return r
	}
	a := build([]string{"b", "a", "c"})
	b := build([]string{"c", "b", "a"})
	for i := range a.Children {
		if a.Children[i].ID != b.Children[i].ID {
			t.Fatalf("order differs at %d: %s vs %s", i, a.Children[i].ID, b.Children[i].ID)
		}
	}
	var seen []string
	_ = a.Walk(func(n *Node) error { seen = append(seen, n.Name); return nil })
	if len(seen) != 4 || seen[0] != "r" || seen[1] != "a" {
		t.Fatalf("Walk order = %v", seen)
	}
}

func TestBlobMemoryAndFile(t *testing.T) {
	m := MemoryBlob([]byte("MZ-hello"))
	if !m.InMemory() || m.Size() != 8 || string(m.Head(2)) != "MZ" || string(m.Head(100)) != "MZ-hello" {
		t.Fatal("memory blob head/size wrong")
	}
	p := filepath.Join(t.TempDir(), "b")
	if err := os.WriteFile(p, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fb := FileBlob(f, 10)
	if fb.InMemory() || fb.Path() != p || string(fb.Head(3)) != "012" {
		t.Fatal("file blob wrong")
	}
	if _, err := fb.Bytes(9); err == nil {
		t.Fatal("Bytes loaded more than allowed")
	}
	all, err := fb.Bytes(10)
	if err != nil || string(all) != "0123456789" {
		t.Fatalf("Bytes = %q, %v", all, err)
	}
	r, _ := io.ReadAll(fb.Reader())
	if string(r) != "0123456789" {
		t.Fatalf("Reader = %q", r)
	}
}

// TestInMemoryBytes: a blob in memory hands out its own bytes through its
// reader; a spilled one does not.
func TestInMemoryBytes(t *testing.T) {
	data := []byte("MZ in memory")
	got, ok := InMemoryBytes(MemoryBlob(data).ReaderAt())
	if !ok || &got[0] != &data[0] || len(got) != len(data) {
		t.Fatalf("in memory: %q %v", got, ok)
	}
	f, err := os.CreateTemp(t.TempDir(), "blob")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := InMemoryBytes(FileBlob(f, 0).ReaderAt()); ok {
		t.Fatal("a spilled blob gave bytes")
	}
	if _, ok := InMemoryBytes(bytes.NewReader(data)); ok {
		t.Fatal("a plain reader gave bytes")
	}
}
