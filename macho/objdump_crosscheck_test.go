package macho

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/tomscan/tomscan/macho/machotest"
)

// objdumpSlice is what llvm-objdump --macho --private-headers says of one architecture.
type objdumpSlice struct {
	arch   string
	cmds   []string // "LC_SEGMENT_64 72"
	dylibs []string // "LC_LOAD_DYLIB /usr/lib/libSystem.B.dylib"
	segs   []string // segment names in order
}

var (
	reArch    = regexp.MustCompile(`\(architecture ([^)]+)\):$`)
	reLoadCmd = regexp.MustCompile(`^Load command (\d+)$`)
	reField   = regexp.MustCompile(`^\s*(cmd|cmdsize|name|segname|sectname)\s+(.*)$`)
)

// llvmObjdump returns nil when llvm-objdump rejects the file.
func llvmObjdump(t *testing.T, path string) []objdumpSlice {
	t.Helper()
	out, err := exec.Command("llvm-objdump", "--macho", "--private-headers", "--arch=all", path).Output()
	if err != nil {
		t.Logf("llvm-objdump rejects %s: %v", path, err)
		return nil
	}
	var slices []objdumpSlice
	cur := func() *objdumpSlice {
		if len(slices) == 0 {
			slices = append(slices, objdumpSlice{})
		}
		return &slices[len(slices)-1]
	}
	var lastCmd string
	inSection := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := reArch.FindStringSubmatch(line); m != nil {
			slices = append(slices, objdumpSlice{arch: m[1]})
			continue
		}
		if reLoadCmd.MatchString(line) {
			inSection = false
			continue
		}
		if line == "Section" {
			inSection = true
			continue
		}
		m := reField.FindStringSubmatch(line)
		if m == nil || inSection {
			continue
		}
		s := cur()
		switch m[1] {
		case "cmd":
			lastCmd = m[2]
			s.cmds = append(s.cmds, m[2])
		case "cmdsize":
			if n := len(s.cmds); n > 0 {
				s.cmds[n-1] += " " + m[2]
			}
		case "segname":
			s.segs = append(s.segs, m[2])
		case "name":
			if strings.HasSuffix(lastCmd, "DYLIB") && lastCmd != "LC_ID_DYLINKER" {
				name := m[2]
				if i := strings.LastIndex(name, " (offset "); i >= 0 {
					name = name[:i]
				}
				s.dylibs = append(s.dylibs, lastCmd+" "+name)
			}
		}
	}
	return slices
}

func ourView(sl Slice) objdumpSlice {
	var o objdumpSlice
	o.arch = sl.CPU
	for _, c := range sl.LoadCommands {
		o.cmds = append(o.cmds, fmt.Sprintf("%s %d", c.Name, c.Size))
	}
	for _, d := range sl.Dylibs {
		o.dylibs = append(o.dylibs, map[string]string{"load": "LC_LOAD_DYLIB", "weak": "LC_LOAD_WEAK_DYLIB", "reexport": "LC_REEXPORT_DYLIB", "lazy": "LC_LAZY_LOAD_DYLIB", "upward": "LC_LOAD_UPWARD_DYLIB", "id": "LC_ID_DYLIB"}[d.Kind]+" "+d.Name)
	}
	for _, s := range sl.Segments {
		o.segs = append(o.segs, s.Name)
	}
	return o
}

// compareObjdump checks load commands (name and size, in order), dylibs
// (command and path, in order) and segment names of every slice.
func compareObjdump(t *testing.T, path string) (slices, cmds int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Analyze(context.Background(), b, Options{})
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return 0, 0
	}
	want := llvmObjdump(t, path)
	if want == nil {
		// A file llvm-objdump refuses must not pass as clean here either.
		bad := false
		for _, is := range sum.Issues {
			bad = bad || is.Kind == IssueParse
		}
		if !bad {
			t.Errorf("%s: llvm-objdump rejects it, we report no parse issue", path)
		}
		return 0, 0
	}
	for _, is := range sum.Issues {
		if is.Kind != IssueEncrypted {
			t.Errorf("%s: unexpected issue %+v", path, is)
		}
	}
	if len(want) != len(sum.Slices) {
		t.Errorf("%s: llvm-objdump lists %d architectures, we %d", path, len(want), len(sum.Slices))
		return 0, 0
	}
	for i, w := range want {
		got := ourView(sum.Slices[i])
		if w.arch != "" && !strings.HasPrefix(w.arch, got.arch) {
			t.Errorf("%s slice %d: architecture %q, llvm-objdump %q", path, i, got.arch, w.arch)
		}
		eq := func(what string, a, b []string) {
			if strings.Join(a, "\n") != strings.Join(b, "\n") {
				t.Errorf("%s slice %d (%s): %s differ\n ours: %q\n llvm: %q", path, i, got.arch, what, a, b)
			}
		}
		eq("load commands", got.cmds, w.cmds)
		eq("dylibs", got.dylibs, w.dylibs)
		eq("segments", got.segs, w.segs)
		cmds += len(got.cmds)
	}
	return len(want), cmds
}

func needObjdump(t *testing.T) {
	if _, err := exec.LookPath("llvm-objdump"); err != nil {
		t.Skip("llvm-objdump not installed (Debian llvm; make setup installs it)")
	}
}

// TestObjdumpRealFiles: at least 50 real Mach-O files from npm packages.
func TestObjdumpRealFiles(t *testing.T) {
	needObjdump(t)
	files := machotest.RealFiles(t, IsMachO)
	if len(files) < 50 {
		t.Fatalf("%d real Mach-O files, want at least 50", len(files))
	}
	var slices, cmds, fat int
	for _, f := range files {
		s, c := compareObjdump(t, f)
		slices += s
		cmds += c
		if s > 1 {
			fat++
		}
	}
	t.Logf("%d real Mach-O files (%d universal), %d slices, %d load commands: equal to llvm-objdump", len(files), fat, slices, cmds)
}

// TestObjdumpGoFixtures: thin arm64 and x86_64 from the Go toolchain, their
// universal join, and the encryption marker.
func TestObjdumpGoFixtures(t *testing.T) {
	needObjdump(t)
	dir := t.TempDir()
	fx := goFixtures(t)
	for name, b := range map[string][]byte{"arm64": fx.arm64, "amd64": fx.amd64, "fat": fx.fat, "encrypted": fx.encrypted} {
		p := dir + "/" + name
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		compareObjdump(t, p)
	}
}

// TestObjdumpGoTestdata: the Mach-O files of Go's own debug/macho tests
// (gcc and clang output for i386 and x86_64, objects, a universal file, and
// one with a bad symbol table that llvm-objdump rejects as well).
func TestObjdumpGoTestdata(t *testing.T) {
	needObjdump(t)
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skip(err)
	}
	dir := strings.TrimSpace(string(root)) + "/src/debug/macho/testdata"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skip(err)
	}
	tmp := t.TempDir()
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".base64") {
			continue
		}
		b64, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		b, err := decodeBase64(b64)
		if err != nil || !IsMachO(b) {
			continue
		}
		p := tmp + "/" + strings.TrimSuffix(e.Name(), ".base64")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		compareObjdump(t, p)
		n++
	}
	t.Logf("%d Mach-O files from Go's debug/macho testdata", n)
}

// TestObjdumpCorpus: every Mach-O inside the synthetic corpus's IPAs
// ($TOMSCAN_CORPUS): thin, universal, encrypted and re-signed.
func TestObjdumpCorpus(t *testing.T) {
	needObjdump(t)
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS not set")
	}
	ipas, _ := filepath.Glob(filepath.Join(dir, "builds", "*.ipa"))
	if len(ipas) == 0 {
		t.Fatal("no IPA builds in the corpus")
	}
	tmp := t.TempDir()
	n, fat := 0, 0
	for _, p := range ipas {
		zr, err := zip.OpenReader(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !IsMachO(b) {
				continue
			}
			out := filepath.Join(tmp, fmt.Sprintf("%d", n))
			if err := os.WriteFile(out, b, 0o644); err != nil {
				t.Fatal(err)
			}
			s, _ := compareObjdump(t, out)
			if s > 1 {
				fat++
			}
			n++
		}
		zr.Close()
	}
	if n < len(ipas) {
		t.Errorf("%d Mach-O files in %d IPAs", n, len(ipas))
	}
	t.Logf("%d Mach-O files (%d universal) in %d corpus IPAs: equal to llvm-objdump", n, fat, len(ipas))
}

// TestSectionStringsRealFiles: on the real Mach-O files every section
// string lies at its offset with the bytes it claims, and C strings and
// CFStrings are found.
func TestSectionStringsRealFiles(t *testing.T) {
	files := machotest.RealFiles(t, IsMachO)
	bySection := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := Analyze(context.Background(), b, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range SectionStrings(context.Background(), b, sum, 4) {
			var want []byte
			switch s.Encoding {
			case "utf16le":
				for _, u := range utf16.Encode([]rune(s.Value)) {
					want = append(want, byte(u), byte(u>>8))
				}
			default:
				want = []byte(s.Value)
			}
			if s.Offset < 0 || s.Offset+int64(len(want)) > int64(len(b)) || !bytes.Equal(b[s.Offset:s.Offset+int64(len(want))], want) {
				t.Errorf("%s: %s %q is not at offset %d", f, s.Where, s.Value, s.Offset)
				break
			}
			sec := s.Where[strings.LastIndexByte(s.Where, ',')+1:]
			bySection[sec]++
		}
	}
	t.Logf("section strings in %d real files: %v", len(files), bySection)
	if bySection["__cstring"] == 0 || bySection["__cfstring"] == 0 {
		t.Errorf("no __cstring or __cfstring strings found: %v", bySection)
	}
}
