package inno

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/corpus/manifest/manifesttest"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
	"github.com/tomscan/tomscan/pe"
)

// TestCorpusInnoBuilds runs the extractor with the real innoextract on the
// corpus's Inno Setup builds: the children are the manifest's files, the
// installer tables are the generator's, and innoextract's own listing is
// kept as "listed" with the same paths as our files table.
func TestCorpusInnoBuilds(t *testing.T) {
	dir, m := manifesttest.Load(t)
	unpacktest.Tool(t, "innoextract")
	seen := 0
	for _, b := range m.Builds {
		for _, inst := range b.Installers {
			if len(inst.Path) != 1 {
				continue
			}
			seen++
			t.Run(b.ID, func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(b.File)))
				if err != nil {
					t.Fatal(err)
				}
				res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{})
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				var want []string
				for _, f := range b.Files {
					if len(f.Path) == 2 {
						want = append(want, f.Path[1]+" "+itoa(f.Size)+" "+f.SHA256)
					}
				}
				sort.Strings(want)
				if got := res.Set(); !slices.Equal(got, want) {
					t.Errorf("children %v\nwant %v", got, want)
				}
				if len(res.Issues) > 0 {
					t.Errorf("issues: %v", res.Issues)
				}
				info := res.Installer
				if info == nil || info.Format != "inno" {
					t.Fatalf("installer %+v", info)
				}
				for name, w := range inst.Tables {
					g := info.Tables[name]
					if !slices.Equal(g.Columns, w.Columns) || !slices.EqualFunc(g.Rows, w.Rows, slices.Equal[[]string]) {
						t.Errorf("%s: got %q\nwant %q", name, g.Rows, w.Rows)
					}
				}
				var ours, listed []string
				for _, r := range info.Tables["files"].Rows {
					ours = append(ours, r[0])
				}
				for _, r := range info.Tables["listed"].Rows {
					if !strings.HasSuffix(r[0], "/") { // [Dirs] entries
						listed = append(listed, r[0])
					}
				}
				sort.Strings(ours)
				sort.Strings(listed)
				if len(ours) == 0 || !slices.Equal(ours, listed) {
					t.Errorf("files %v, innoextract lists %v", ours, listed)
				}
			})
		}
	}
	if seen == 0 {
		t.Fatal("no Inno Setup build in the corpus manifest (corpus/specs has three)")
	}
}

// Inno Setup's own compiler, DLLs and bare loader stubs (real files from the
// innosetup npm package) carry Inno's marker strings but no setup data: with
// the PE summary the pipeline gives every node, they are not installers —
// no innoextract run, no issue — while every corpus Inno build still is.
func TestInnoToolsAreNotInstallers(t *testing.T) {
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "files", "npm", "innosetup", "package", "bin", "*"))
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || !pe.IsPE(data) || !bytes.Contains(data, []byte("Inno Setup Setup Data (")) {
			continue
		}
		checked++
		node := artifact.NewRoot(filepath.Base(f))
		if node.PE, err = pe.Analyze(context.Background(), data, pe.Options{MaxBytes: 256 << 20}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		res := unpacktest.Run(t, Extractor{}, data, unpacktest.Options{Node: node})
		if res.Err != nil || len(res.Issues) > 0 || res.Installer != nil || len(res.Files) > 0 {
			t.Errorf("%s: taken for an installer: err %v, issues %v, installer %v", filepath.Base(f), res.Err, res.Issues, res.Installer != nil)
		}
	}
	if checked < 2 {
		t.Fatalf("%d innosetup PEs carry the marker, want at least 2 (ISCmplr.dll, the stubs)", checked)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestCutInstallerHeldToSetupData: a corpus Inno build cut at two thirds:
// innoextract stops ("Stream error") leaving a file short or empty; every
// child without a read error has the size our setup-data reader gives it,
// and the short one says what the setup data expected.
func TestCutInstallerHeldToSetupData(t *testing.T) {
	dir, m := manifesttest.Load(t)
	unpacktest.Tool(t, "innoextract")
	for _, b := range m.Builds {
		if len(b.Installers) == 0 || len(b.Installers[0].Path) != 1 || !strings.HasSuffix(b.File, "-inno.exe") {
			continue
		}
		t.Run(b.ID, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(b.File)))
			if err != nil {
				t.Fatal(err)
			}
			res := unpacktest.Run(t, Extractor{}, data[:len(data)*2/3], unpacktest.Options{})
			sizes := map[string]string{}
			for _, r := range res.Installer.Tables["files"].Rows {
				sizes[r[0]] = r[6]
			}
			flagged := 0
			for _, f := range res.Files {
				switch {
				case strings.Contains(f.Err, "the setup data says"):
					flagged++
				case f.Err == "" && itoa(f.Size) != sizes[f.Name]:
					t.Errorf("%s: %d bytes without error, the setup data says %s", f.Name, f.Size, sizes[f.Name])
				}
			}
			if flagged == 0 {
				t.Errorf("no child says it is short: files %v issues %v", res.Set(), res.Issues)
			}
		})
	}
}
