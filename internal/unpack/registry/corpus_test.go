package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/corpus/manifest/manifesttest"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/internal/unpack"
)

// reference extracts a container with the established tool into dir.
// Containers with no reference tool (PE carving) are not compared.
var reference = map[string]func(file, dir string) *exec.Cmd{
	// -pinfected: the corpus's encrypted builds use the sample-sharing password.
	"zip": func(f, d string) *exec.Cmd {
		return exec.Command("7zz", "x", "-y", "-aou", "-bd", "-pinfected", "-o"+d, "--", f)
	},
	"7z": func(f, d string) *exec.Cmd {
		return exec.Command("7zz", "x", "-y", "-aou", "-bd", "-pinfected", "-o"+d, "--", f)
	},
	"compress": func(f, d string) *exec.Cmd { return exec.Command("7zz", "x", "-y", "-aou", "-bd", "-o"+d, "--", f) },
	"nsis": func(f, d string) *exec.Cmd {
		return exec.Command("7zz", "x", "-tNsis", "-y", "-aou", "-bd", "-o"+d, "--", f)
	},
	"inno": func(f, d string) *exec.Cmd { return exec.Command("innoextract", "-e", "-s", "-d", d, "--", f) },
	"msi":  func(f, d string) *exec.Cmd { return exec.Command("msiextract", "-C", d, f) },
	"tar":  func(f, d string) *exec.Cmd { return exec.Command("tar", "-x", "-f", f, "-C", d) },
	"7z-cli": func(f, d string) *exec.Cmd {
		return exec.Command("7zz", "x", "-y", "-aou", "-bd", "-o"+d, "--", f)
	},
	"unar": func(f, d string) *exec.Cmd { return exec.Command("unar", "-q", "-D", "-nr", "-o", d, "--", f) },
	"cab":  func(f, d string) *exec.Cmd { return exec.Command("cabextract", "-q", "-d", d, f) },
}

// onlyMissing marks containers whose children legitimately include more
// than the tool writes (MSI: binary and icon streams besides the files).
var onlyMissing = map[string]bool{"msi": true}

func TestReferenceComparison(t *testing.T) {
	dir, m := manifesttest.Load(t)
	var table []string
	for _, b := range m.Builds {
		t.Run(b.ID, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, b.File))
			if err != nil {
				t.Fatal(err)
			}
			root, rows := compareBuild(t, filepath.Base(b.File), data)
			table = append(table, rows...)
			for _, f := range b.Files {
				n := find(root, f.Path)
				switch {
				case n == nil:
					t.Errorf("manifest file %s not in the tree", strings.Join(f.Path, "!"))
				case n.SHA256 != f.SHA256 || n.Size != f.Size:
					t.Errorf("%s: engine %d %s, manifest %d %s", n.ID, n.Size, n.SHA256, f.Size, f.SHA256)
				}
			}
		})
	}
	t.Logf("reference comparison (container | extractor | engine | tool | missing | extra):\n%s", strings.Join(table, "\n"))
}

// TestReferenceComparisonReal runs the comparison on the real installers
// of $TOMSCAN_REAL_CORPUS (manifest files[] whose "installer" is not "none").
func TestReferenceComparisonReal(t *testing.T) {
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Files []struct {
			Path      string `json:"path"`
			Installer string `json:"installer"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("real manifest: %v", err)
	}
	var table []string
	for _, f := range m.Files {
		if f.Installer == "none" || f.Installer == "" {
			continue
		}
		t.Run(f.Path, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, f.Path))
			if err != nil {
				t.Fatal(err)
			}
			root, rows := compareBuild(t, filepath.Base(f.Path), data)
			table = append(table, rows...)
			t.Logf("%s (%s): container %q, %d children, issues %v", f.Path, f.Installer, root.Container, len(root.Children), issues(root))
		})
	}
	t.Logf("reference comparison, real installers:\n%s", strings.Join(table, "\n"))
}

func issues(root *artifact.Node) []string {
	var out []string
	root.Walk(func(n *artifact.Node) error {
		for _, i := range n.Issues {
			out = append(out, n.ID+": "+i.Kind+": "+i.Message)
		}
		return nil
	})
	return out
}

// compareBuild unpacks one build, keeps a copy of every container's bytes,
// and compares each container's children with what the reference tool
// extracts from the same bytes.
func compareBuild(t *testing.T, name string, data []byte) (*artifact.Node, []string) {
	keep := t.TempDir()
	sc, err := scratch.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	l := limits.Default()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root := artifact.NewRoot(name)
	root.SetBlob(artifact.MemoryBlob(data))
	unpack.New(All(), Tools()).Run(ctx, root, limits.NewBudget(l), sc, func(ctx context.Context, n, parent *artifact.Node) {
		f, err := os.Create(filepath.Join(keep, n.SHA256))
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(f, n.Blob().Reader())
		f.Close()
	})
	var rows []string
	root.Walk(func(n *artifact.Node) error {
		ref := reference[n.Container]
		if ref == nil {
			return nil
		}
		out := t.TempDir()
		cmd := ref(filepath.Join(keep, n.SHA256), out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Logf("%s: reference %s: %v: %s", n.ID, cmd.Path, err, firstLine(b))
		}
		// A gzip child's name is ours (contracts.md): compare content only.
		withName := n.Container != "compress" && !(n.Container == "7z-cli" && (n.Type == filetype.MSLZ || n.Type == filetype.ZCompress))
		want := treeSet(t, out, withName)
		var got []string
		for _, c := range n.Children {
			if c.Extractor != n.Container || len(c.Issues) > 0 && c.SHA256 == "" {
				continue
			}
			name := c.Name
			if n.Container != "msi" && n.Container != "cab" && n.Container != "inno" {
				name = aouName(name)
			}
			got = append(got, entry(name, c.Size, c.SHA256, withName))
		}
		sort.Strings(got)
		missing, extra := diff(want, got)
		if onlyMissing[n.Container] {
			extra = nil
		}
		rows = append(rows, fmt.Sprintf("%s | %s | %d | %d | %d | %d", n.ID, n.Container, len(got), len(want), len(missing), len(extra)))
		if len(missing)+len(extra) > 0 {
			t.Errorf("%s (%s): missing %v\nextra %v", n.ID, n.Container, missing, extra)
		}
		return nil
	})
	return root, rows
}

func entry(name string, size int64, sum string, withName bool) string {
	if !withName {
		name = "*"
	}
	return fmt.Sprintf("%s %d %s", name, size, sum)
}

func treeSet(t *testing.T, dir string, withName bool) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		h := sha256.Sum256(b)
		out = append(out, entry(filepath.ToSlash(rel), int64(len(b)), hex.EncodeToString(h[:]), withName))
		return nil
	})
	sort.Strings(out)
	return out
}

func diff(want, got []string) (missing, extra []string) {
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	return missing, extra
}

func find(root *artifact.Node, path []string) *artifact.Node {
	var hit *artifact.Node
	root.Walk(func(n *artifact.Node) error {
		if slices.Equal(n.Path, path) {
			hit = n
		}
		return nil
	})
	return hit
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

var repeat = regexp.MustCompile(`^(.*)#([0-9]+)$`)

// aouName turns the engine's name for a repeated entry ("a.txt#2") into the
// one 7z -aou writes ("a_1.txt"), so both sides of the comparison agree.
func aouName(name string) string {
	m := repeat.FindStringSubmatch(name)
	if m == nil {
		return name
	}
	k, _ := strconv.Atoi(m[2])
	base, ext := m[1], path.Ext(m[1])
	if strings.Contains(ext, "/") || ext == base || strings.HasSuffix(base, "/"+ext) {
		ext = ""
	}
	return strings.TrimSuffix(base, ext) + "_" + strconv.Itoa(k-1) + ext
}
