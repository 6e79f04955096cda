package gen

import (
	"bytes"
	"context"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// refTree extracts a build recursively with the reference tools (7z,
// msiextract, cabextract, innoextract) and returns every file by its path chain joined
// with "!", the way docs/contracts.md names nodes. Inno Setup installers go
// through innoextract. It is independent of the
// generator: it looks only at bytes.
func refTree(t *testing.T, ctx context.Context, name string, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	var walk func(chain []string, data []byte, depth int)
	walk = func(chain []string, data []byte, depth int) {
		if depth > 6 {
			t.Fatalf("%s: nesting deeper than 6", strings.Join(chain, "!"))
		}
		children := refChildren(t, ctx, chain[len(chain)-1], data)
		for _, c := range children {
			p := append(append([]string{}, chain...), c.name)
			out[strings.Join(p, "!")] = c.data
			walk(p, c.data, depth+1)
		}
	}
	walk([]string{name}, data, 0)
	return out
}

type refChild struct {
	name string
	data []byte
}

func refChildren(t *testing.T, ctx context.Context, name string, data []byte) []refChild {
	t.Helper()
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")), bytes.HasPrefix(data, []byte("7z\xbc\xaf\x27\x1c")):
		// -pinfected: the encrypted builds use the sample-sharing password.
		return toolExtract(t, ctx, data, ".arc", func(in, dir string) []string { return []string{"7z", "x", "-y", "-bd", "-pinfected", "-o" + dir, in} })
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}), bytes.HasPrefix(data, []byte("\xfd7zXZ\x00")):
		// One stream: the child is named after the parent without its
		// compression extension (docs/contracts.md).
		prog := "gzip"
		if data[0] == 0xfd {
			prog = "xz"
		}
		cmd := exec.CommandContext(ctx, prog, "-dc")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s -dc: %v", prog, err)
		}
		child := strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".xz")
		return []refChild{{name: child, data: out}}
	case len(data) > 262 && bytes.Equal(data[257:262], []byte("ustar")):
		return toolExtract(t, ctx, data, ".tar", func(in, dir string) []string { return []string{"tar", "-x", "-f", in, "-C", dir} })
	case bytes.HasPrefix(data, []byte("MSCF")):
		return toolExtract(t, ctx, data, ".cab", func(in, dir string) []string { return []string{"cabextract", "-q", "-d", dir, in} })
	case bytes.HasPrefix(data, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return toolExtract(t, ctx, data, ".msi", func(in, dir string) []string { return []string{"msiextract", "-C", dir, in} })
	case isPE(data):
		if bytes.Contains(data, []byte("rDlPtS")) { // an Inno Setup loader's offset table
			return toolExtract(t, ctx, data, ".exe", func(in, dir string) []string {
				return []string{"innoextract", "--extract", "--silent", "--color=0", "--progress=0", "--output-dir", dir, in}
			})
		}
		if bytes.Contains(data, []byte("NullsoftInst")) {
			return toolExtract(t, ctx, data, ".exe", func(in, dir string) []string { return []string{"7z", "x", "-y", "-bd", "-o" + dir, in} })
		}
		if ov := peOverlay(t, data); len(ov) > 0 {
			return []refChild{{name: "[overlay]", data: ov}}
		}
	}
	return nil
}

// peOverlay returns the bytes after the last section, less an Authenticode
// certificate table that sits at the end.
func peOverlay(t *testing.T, data []byte) []byte {
	t.Helper()
	f, err := pe.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("pe: %v", err)
	}
	end := int64(0)
	for _, s := range f.Sections {
		if e := int64(s.Offset) + int64(s.Size); e > end {
			end = e
		}
	}
	stop := int64(len(data))
	var dirs []pe.DataDirectory
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		dirs = oh.DataDirectory[:]
	case *pe.OptionalHeader64:
		dirs = oh.DataDirectory[:]
	}
	if len(dirs) > pe.IMAGE_DIRECTORY_ENTRY_SECURITY {
		if sec := dirs[pe.IMAGE_DIRECTORY_ENTRY_SECURITY]; sec.Size > 0 && int64(sec.VirtualAddress) >= end {
			stop = int64(sec.VirtualAddress)
		}
	}
	if end >= stop {
		return nil
	}
	return data[end:stop]
}

func toolExtract(t *testing.T, ctx context.Context, data []byte, ext string, argv func(in, dir string) []string) []refChild {
	t.Helper()
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in"+ext)
	dir := filepath.Join(tmp, "x")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	a := argv(in, dir)
	cmd := exec.CommandContext(ctx, a[0], a[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(a, " "), err, out)
	}
	var kids []refChild
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		kids = append(kids, refChild{name: filepath.ToSlash(rel), data: b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(kids, func(i, j int) bool { return kids[i].name < kids[j].name })
	return kids
}

// rcdataLeaves returns the data of every RT_RCDATA resource of a PE, found by
// walking the resource directory (a minimal walker, enough for our tests).
func rcdataLeaves(data []byte) ([][]byte, error) {
	f, err := pe.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var rsrc *pe.Section
	for _, s := range f.Sections {
		if s.Name == ".rsrc" {
			rsrc = s
		}
	}
	if rsrc == nil {
		return nil, fmt.Errorf("no .rsrc")
	}
	sec, err := rsrc.Data()
	if err != nil {
		return nil, err
	}
	var leaves [][]byte
	var walk func(off uint32, level int, isRCDATA bool) error
	walk = func(off uint32, level int, isRCDATA bool) error {
		if level > 3 || int(off)+16 > len(sec) {
			return fmt.Errorf("bad directory at %#x", off)
		}
		n := int(binary.LittleEndian.Uint16(sec[off+12:])) + int(binary.LittleEndian.Uint16(sec[off+14:]))
		for i := 0; i < n; i++ {
			e := int(off) + 16 + 8*i
			if e+8 > len(sec) {
				return fmt.Errorf("entry out of range")
			}
			id := binary.LittleEndian.Uint32(sec[e:])
			target := binary.LittleEndian.Uint32(sec[e+4:])
			rc := isRCDATA
			if level == 0 {
				rc = id == 10 // RT_RCDATA
			}
			if target&0x80000000 != 0 {
				if err := walk(target&0x7fffffff, level+1, rc); err != nil {
					return err
				}
				continue
			}
			if !rc || int(target)+16 > len(sec) {
				continue
			}
			rva := binary.LittleEndian.Uint32(sec[target:])
			size := binary.LittleEndian.Uint32(sec[target+4:])
			start := int64(rva) - int64(rsrc.VirtualAddress)
			if start < 0 || start+int64(size) > int64(len(sec)) {
				return fmt.Errorf("leaf out of range")
			}
			leaves = append(leaves, sec[start:start+int64(size)])
		}
		return nil
	}
	return leaves, walk(0, 0, false)
}
