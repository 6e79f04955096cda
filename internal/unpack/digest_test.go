package unpack_test

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

// spareAlways lends a core every time; spareNever never; spareEvery every
// k-th time, so a build mixes both ways.
type spareAlways struct{}

func (spareAlways) TryGo(f func()) bool { go f(); return true }

type spareNever struct{}

func (spareNever) TryGo(func()) bool { return false }

type spareEvery struct {
	mu   sync.Mutex
	k, i int
}

func (s *spareEvery) TryGo(f func()) bool {
	s.mu.Lock()
	s.i++
	yes := s.i%s.k == 0
	s.mu.Unlock()
	if yes {
		go f()
	}
	return yes
}

// TestDigestsBesideTheWalk: whether a node's MD5 and SHA-1 are made by the
// walk, beside it, or copied from an earlier node with the same bytes, every
// node ends with the digests of its own bytes, and the tree is the same as
// with no spare core at all. Nodes: small and large, in memory and spilled,
// repeated at the same level and inside a nested ZIP; the root in memory
// and in a file. The bytes a visitor is given stay its own (entries are
// read into a buffer reused from entry to entry).
func TestDigestsBesideTheWalk(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	blob := func(n int) string {
		b := make([]byte, n)
		rng.Read(b)
		return string(b)
	}
	small, mid, big := blob(1000), blob(200<<10), blob(700<<10)
	inner := string(unpacktest.ZipOf(t, [2]string{"again-mid", mid}, [2]string{"own", blob(90 << 10)}, [2]string{"again-big", big}))
	data := unpacktest.ZipOf(t,
		[2]string{"small", small}, [2]string{"mid", mid}, [2]string{"big", big},
		[2]string{"small2", small}, [2]string{"mid2", mid}, [2]string{"big2", big},
		[2]string{"inner.zip", inner}, [2]string{"inner2.zip", inner}, [2]string{"empty", ""})
	l := limits.Default()
	l.InMemoryBytes = 256 << 10 // "big" is spilled to a scratch file

	spares := map[string]func() unpack.Spare{
		"nil":    func() unpack.Spare { return nil },
		"always": func() unpack.Spare { return spareAlways{} },
		"never":  func() unpack.Spare { return spareNever{} },
		"every2": func() unpack.Spare { return &spareEvery{k: 2} },
		"every3": func() unpack.Spare { return &spareEvery{k: 3} },
	}
	for _, inFile := range []bool{false, true} {
		var want []byte
		for _, name := range []string{"nil", "always", "never", "every2", "every3"} {
			bytesOf := map[string][]byte{} // node ID -> bytes, as the visitor saw them
			kept := map[string][]byte{}    // node ID -> the visitor's slice itself, which must never change
			var mu sync.Mutex
			visit := func(_ context.Context, n, _ *artifact.Node) {
				b, err := n.Blob().Bytes(1 << 30)
				if err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				bytesOf[n.ID] = append([]byte(nil), b...)
				kept[n.ID] = b
				mu.Unlock()
			}
			root := runBeside(t, data, inFile, l, visit, spares[name](), "")
			byID := map[string]*artifact.Node{}
			root.Walk(func(n *artifact.Node) error { byID[n.ID] = n; return nil })
			repeats := 0
			root.Walk(func(n *artifact.Node) error {
				src := n.ID
				if n.DuplicateOf != "" {
					src = n.DuplicateOf
					repeats++
				}
				b, ok := bytesOf[src]
				if !ok {
					t.Fatalf("%s/%v: %s: no bytes seen for %s", name, inFile, n.ID, src)
				}
				m, s1, s256 := md5.Sum(b), sha1.Sum(b), sha256.Sum256(b)
				if n.MD5 != hex.EncodeToString(m[:]) || n.SHA1 != hex.EncodeToString(s1[:]) || n.SHA256 != hex.EncodeToString(s256[:]) {
					t.Errorf("%s/%v: %s: digests %s %s %s are not its bytes'", name, inFile, n.ID, n.MD5, n.SHA1, n.SHA256)
				}
				if len(n.Issues) > 0 {
					t.Errorf("%s/%v: %s: issues %+v", name, inFile, n.ID, n.Issues)
				}
				return nil
			})
			for id, b := range kept {
				if string(b) != string(bytesOf[id]) {
					t.Errorf("%s/%v: %s: the bytes a visitor was given changed after its visit", name, inFile, id)
				}
			}
			if repeats < 6 {
				t.Errorf("%s/%v: %d repeats, want at least 6: the fixture lost its point", name, inFile, repeats)
			}
			got, err := json.Marshal(root)
			if err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = got
			} else if string(got) != string(want) {
				t.Errorf("%s/%v: tree differs from the one with no spare core", name, inFile)
			}
		}
	}
}

// TestClaimedSHA256IsChecked: the SHA-256 a caller puts in the root (the
// parent's, which keys the build) spares the walk a pass when a core is
// spare; right, it is the root's with no issue, whichever way the digests
// were made; wrong (the input changed after it was hashed), the root gets
// the SHA-256 of the bytes read and an issue saying so.
func TestClaimedSHA256IsChecked(t *testing.T) {
	noise := make([]byte, 200<<10) // the ZIP must stay past digestBeside
	rand.New(rand.NewSource(3)).Read(noise)
	data := unpacktest.ZipOf(t, [2]string{"a", string(noise)}, [2]string{"b", "small"})
	sum := sha256.Sum256(data)
	right := hex.EncodeToString(sum[:])
	wrong := strings.Repeat("0", 64)
	for _, inFile := range []bool{false, true} {
		for name, spare := range map[string]unpack.Spare{"nil": nil, "always": spareAlways{}, "never": spareNever{}} {
			for _, claimed := range []string{right, wrong} {
				root := runBeside(t, data, inFile, limits.Default(), nil, spare, claimed)
				if root.SHA256 != right {
					t.Errorf("%s/%v/%s: root sha256 %s, want the bytes' %s", name, inFile, claimed[:4], root.SHA256, right)
				}
				m, s1 := md5.Sum(data), sha1.Sum(data)
				if root.MD5 != hex.EncodeToString(m[:]) || root.SHA1 != hex.EncodeToString(s1[:]) {
					t.Errorf("%s/%v/%s: root md5 %s sha1 %s", name, inFile, claimed[:4], root.MD5, root.SHA1)
				}
				changed := false
				for _, is := range root.Issues {
					changed = changed || strings.Contains(is.Message, "the input changed while it was scanned")
				}
				if changed != (claimed == wrong) {
					t.Errorf("%s/%v/%s: issues %+v", name, inFile, claimed[:4], root.Issues)
				}
				if len(root.Children) != 2 {
					t.Errorf("%s/%v/%s: %d children", name, inFile, claimed[:4], len(root.Children))
				}
			}
		}
	}
}

// runBeside unpacks data as the pipeline does, the root in memory or in a
// file, with the given spare cores and the root's SHA-256 as the caller
// claims it ("": none).
func runBeside(t *testing.T, data []byte, inFile bool, l limits.Limits, visit unpack.Visitor, spare unpack.Spare, claimed string) *artifact.Node {
	t.Helper()
	sc, err := scratch.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	root := artifact.NewRoot("d.zip")
	root.SHA256 = claimed
	if inFile {
		p := filepath.Join(t.TempDir(), "d.zip")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		root.SetBlob(artifact.FileBlob(f, int64(len(data))))
	} else {
		root.SetBlob(artifact.MemoryBlob(data))
	}
	unpack.New(extractors(), unpack.FindTools()).RunBeside(context.Background(), root, limits.NewBudget(l), sc, visit, spare)
	return root
}
