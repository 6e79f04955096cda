package pipeline_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"
)

// TestNothingReadIsSilentlySkipped is issue 13's figure: over every report
// of the synthetic corpus, the real corpus and the adversarial fixtures, no
// node of a recognised container or installer format is left without either
// children or an issue. The one allowance is an archive its extractor read
// without error and found empty, which the engine marks (meta entries=0) and
// which is counted and printed.
func TestNothingReadIsSilentlySkipped(t *testing.T) {
	sets := map[string][]string{}
	if d := os.Getenv("TOMSCAN_CORPUS"); d != "" {
		sets["synthetic corpus"] = []string{filepath.Join(d, "builds")}
	} else {
		t.Log("TOMSCAN_CORPUS not set: synthetic corpus not walked")
	}
	if d := os.Getenv("TOMSCAN_REAL_CORPUS"); d != "" {
		sets["real corpus"] = []string{filepath.Join(d, "files")}
	} else {
		t.Log("TOMSCAN_REAL_CORPUS not set: real corpus not walked")
	}
	sets["adversarial fixtures"] = []string{adversarialFixtures(t)}
	if len(sets) < 3 && os.Getenv("CI") != "" {
		t.Fatal("in CI both corpora must be walked")
	}
	var names []string
	for n := range sets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		var builds, nodes, containers int
		var bad, empty []string
		types := map[string]int{}
		cfg := pipelinetest.Config(t)
		// YARA adds matches, never nodes or unpacking issues: left out, the
		// walk over ~400 builds costs a third less under the race detector.
		cfg.Rules = nil
		pipelinetest.Scan(t, cfg, sets[name], func(r pipeline.Result) {
			builds++
			_ = r.Report.Tree.Walk(func(n *artifact.Node) error {
				nodes++
				if n.DuplicateOf != "" || !(filetype.IsContainer(n.Type) || n.Installer != nil) {
					return nil
				}
				containers++
				types[n.Type]++
				switch {
				case len(n.Children) > 0 || len(n.Issues) > 0:
				case n.Meta["entries"] == "0":
					empty = append(empty, n.ID)
				default:
					bad = append(bad, fmt.Sprintf("%s (%s, container %q)", n.ID, n.Type, n.Container))
				}
				return nil
			})
		})
		t.Logf("%s: %d builds, %d nodes, %d container/installer nodes %v, empty archives %q, %d without children or an issue",
			name, builds, nodes, containers, types, empty, len(bad))
		if len(bad) > 0 {
			t.Errorf("%s: %d container nodes with neither children nor an issue:\n%s", name, len(bad), strings.Join(bad, "\n"))
		}
		if builds == 0 || containers == 0 {
			t.Errorf("%s: nothing walked (%d builds, %d containers)", name, builds, containers)
		}
	}
}

// adversarialFixtures writes hostile and damaged containers of every family
// issue 13 names into a folder, generated here in Go (and with Debian's
// archivers where a real writer matters).
func adversarialFixtures(t *testing.T) string {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	body := bytes.Repeat([]byte("MZ TOM-Skype fixture "), 500)
	tarOf := func(hs ...tar.Header) []byte {
		var buf bytes.Buffer
		w := tar.NewWriter(&buf)
		for _, h := range hs {
			if h.Typeflag == 0 {
				h.Typeflag, h.Size = tar.TypeReg, int64(len(body))
			}
			h.Mode = 0o644
			w.WriteHeader(&h)
			if h.Typeflag == tar.TypeReg {
				w.Write(body)
			}
		}
		w.Close()
		return buf.Bytes()
	}
	hostile := tarOf(tar.Header{Name: "../../evil.exe"}, tar.Header{Name: "/abs/shadow"},
		tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../../etc"},
		tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}, tar.Header{Name: "ok.exe"})
	write("traversal.tar", hostile)
	write("cut.tar", hostile[:len(hostile)/2+100])
	only := tarOf(tar.Header{Name: "only-links", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
	write("only-link.tar", only)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(hostile)
	zw.Close()
	write("traversal.tar.gz", gz.Bytes())
	write("cut.tar.gz", gz.Bytes()[:gz.Len()/2])
	huge := tarOf(tar.Header{Name: "huge.bin"})
	copy(huge[124:136], "77777777777\x00")
	sum := 0
	for i, c := range huge[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int(c)
	}
	copy(huge[148:156], fmt.Sprintf("%06o\x00 ", sum))
	write("huge-declared.tar", huge)

	var zb bytes.Buffer
	z := zip.NewWriter(&zb)
	for _, n := range []string{"../../x.exe", "C:\\Windows\\evil.dll", "ok.exe"} {
		w, _ := z.Create(n)
		w.Write(body)
	}
	z.Close()
	write("traversal.zip", zb.Bytes())
	write("cut.zip", zb.Bytes()[:zb.Len()/2])
	var empty bytes.Buffer
	zip.NewWriter(&empty).Close()
	write("empty.zip", empty.Bytes())

	// Magic of formats with and without an extractor, and garbage after it.
	write("kwaj.bin", append([]byte("KWAJ\x88\xf0\x27\xd1"), body...))
	write("fake.rar", append([]byte("Rar!\x1a\x07\x00"), body...))
	write("fake.xar", append([]byte("xar!\x00\x1c\x00\x01"), body...))
	write("fake.zst", append([]byte{0x28, 0xB5, 0x2F, 0xFD}, body...))
	iso := make([]byte, 40000)
	copy(iso[32769:], "CD001")
	write("fake.iso", iso)

	// Encrypted with a password no list holds, by the real archivers.
	if _, err := exec.LookPath("7zz"); err == nil {
		src := filepath.Join(dir, "src")
		os.MkdirAll(src, 0o755)
		os.WriteFile(filepath.Join(src, "Skype.exe"), body, 0o644)
		for _, a := range [][]string{
			{"a", "-tzip", "-bd", "-pnot-in-any-list", filepath.Join(dir, "locked.zip"), "Skype.exe"},
			{"a", "-tzip", "-bd", "-pnot-in-any-list", "-mem=AES256", filepath.Join(dir, "locked-aes.zip"), "Skype.exe"},
			{"a", "-t7z", "-bd", "-pnot-in-any-list", "-mhe=on", filepath.Join(dir, "locked.7z"), "Skype.exe"},
			{"a", "-t7z", "-bd", "-pnot-in-any-list", filepath.Join(dir, "locked-content.7z"), "Skype.exe"},
		} {
			cmd := exec.Command("7zz", a...)
			cmd.Dir = src
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("7zz %v: %v\n%s", a, err, out)
			}
		}
		os.RemoveAll(src)
	}
	return dir
}
