package toolarc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/registry"
	"github.com/tomscan/tomscan/internal/unpack/toolarc"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

func payload() map[string][]byte {
	noise := make([]byte, 5000)
	rand.Read(noise)
	return map[string][]byte{"Skype.exe": bytes.Repeat([]byte("MZ client TOM "), 400), "sub/keyfile_u": noise}
}

// list runs a reference lister on the archive and keeps the file names it
// prints (keep picks them out of a line, "" to skip the line).
func list(t *testing.T, data []byte, keep func(line string) string, prog string, args ...string) []string {
	t.Helper()
	dir := t.TempDir()
	arc := filepath.Join(dir, "arc")
	os.WriteFile(arc, data, 0o644)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "ARC", arc)
	}
	cmd := exec.Command(unpacktest.Tool(t, prog), args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", prog, args, err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if n := keep(strings.TrimRight(l, "\r")); n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// rar4Stored writes a RAR 1.5-4.x archive with stored (method 0x30) files:
// no RAR writer ships in Debian main, and the format's headers are short.
func rar4Stored(files map[string][]byte) []byte {
	var b bytes.Buffer
	b.WriteString("Rar!\x1a\x07\x00")
	block := func(typ byte, flags uint16, body []byte) {
		h := make([]byte, 7+len(body))
		h[2] = typ
		binary.LittleEndian.PutUint16(h[3:], flags)
		binary.LittleEndian.PutUint16(h[5:], uint16(len(h)))
		copy(h[7:], body)
		binary.LittleEndian.PutUint16(h, uint16(crc32.ChecksumIEEE(h[2:])))
		b.Write(h)
	}
	block(0x73, 0, make([]byte, 6))
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data := files[n]
		name := strings.ReplaceAll(n, "/", "\\")
		body := make([]byte, 25+len(name))
		binary.LittleEndian.PutUint32(body[0:], uint32(len(data))) // packed
		binary.LittleEndian.PutUint32(body[4:], uint32(len(data))) // unpacked
		body[8] = 2                                                // Windows
		binary.LittleEndian.PutUint32(body[9:], crc32.ChecksumIEEE(data))
		binary.LittleEndian.PutUint32(body[13:], 0x3e210000) // 2011-01-01 DOS time
		body[17], body[18] = 20, 0x30                        // version 2.0, stored
		binary.LittleEndian.PutUint16(body[19:], uint16(len(name)))
		binary.LittleEndian.PutUint32(body[21:], 0x20)
		copy(body[25:], name)
		block(0x74, 0x8000, body)
		b.Write(data)
	}
	block(0x7b, 0x4000, nil)
	return b.Bytes()
}

func withSlash(l string) string { return strings.TrimPrefix(l, "/") }

// TestAgainstReferences builds each format with its own Debian tool, runs
// the extractor, and checks (1) every file comes back with its bytes and
// (2) an independent lister names the same files.
func TestAgainstReferences(t *testing.T) {
	files := payload()
	names := []string{"Skype.exe", "sub/keyfile_u"}
	lsarJSON := func(t *testing.T, data []byte) []string {
		dir := t.TempDir()
		arc := filepath.Join(dir, "arc")
		os.WriteFile(arc, data, 0o644)
		out, err := exec.Command(unpacktest.Tool(t, "lsar"), "-j", arc).Output()
		if err != nil {
			t.Fatalf("lsar: %v", err)
		}
		var l struct {
			Contents []struct {
				Name string `json:"XADFileName"`
				Dir  int    `json:"XADIsDirectory"`
			} `json:"lsarContents"`
		}
		if err := json.Unmarshal(out, &l); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range l.Contents {
			if c.Dir == 0 {
				got = append(got, c.Name)
			}
		}
		sort.Strings(got)
		return got
	}
	for _, tc := range []struct {
		name, kind string
		x          unpack.Extractor
		build      func(t *testing.T) []byte
		reference  func(t *testing.T, data []byte) []string
		flat       bool // the format keeps base names only
	}{
		{"ar", filetype.Ar, toolarc.SevenZip{}, func(t *testing.T) []byte {
			return unpacktest.Build(t, map[string][]byte{"Skype.exe": files["Skype.exe"], "keyfile_u": files["sub/keyfile_u"]}, "x.a", "ar", "rcD", "x.a", "Skype.exe", "keyfile_u")
		}, func(t *testing.T, d []byte) []string {
			return list(t, d, func(l string) string { return l }, "ar", "t", "ARC")
		}, true},
		{"cpio newc", filetype.Cpio, toolarc.SevenZip{}, func(t *testing.T) []byte {
			return unpacktest.Build(t, files, "x.cpio", "sh", "-c", "printf 'Skype.exe\\nsub/keyfile_u\\n' | cpio --quiet -o -H newc > x.cpio")
		}, func(t *testing.T, d []byte) []string {
			return list(t, d, func(l string) string { return l }, "cpio", "--quiet", "-it", "-F", "ARC")
		}, false},
		{"cpio odc", filetype.Cpio, toolarc.SevenZip{}, func(t *testing.T) []byte {
			return unpacktest.Build(t, files, "x.cpio", "sh", "-c", "printf 'Skype.exe\\nsub/keyfile_u\\n' | cpio --quiet -o -H odc > x.cpio")
		}, func(t *testing.T, d []byte) []string {
			return list(t, d, func(l string) string { return l }, "cpio", "--quiet", "-it", "-F", "ARC")
		}, false},
		{"iso9660", filetype.ISO9660, toolarc.SevenZip{}, func(t *testing.T) []byte {
			return unpacktest.Build(t, files, "x.iso", "genisoimage", "-quiet", "-R", "-J", "-o", "x.iso", "Skype.exe", "sub")
		}, func(t *testing.T, d []byte) []string {
			return list(t, d, func(l string) string {
				if l == "" || l == "/sub" {
					return ""
				}
				return withSlash(l)
			}, "isoinfo", "-f", "-R", "-i", "ARC")
		}, true},
		{"wim", filetype.WIM, toolarc.SevenZip{}, func(t *testing.T) []byte {
			return unpacktest.Build(t, files, "x.wim", "sh", "-c", "mkdir img && cp -r Skype.exe sub img/ && wimlib-imagex capture img x.wim >/dev/null")
		}, func(t *testing.T, d []byte) []string {
			return list(t, d, func(l string) string {
				if l == "/" || l == "/sub" || l == "" {
					return ""
				}
				return withSlash(l)
			}, "wimlib-imagex", "dir", "ARC")
		}, false},
		{"arj", filetype.ARJ, toolarc.SevenZip{}, func(t *testing.T) []byte {
			return unpacktest.Build(t, files, "x.arj", "arj", "a", "-y", "x.arj", "Skype.exe", "sub/keyfile_u")
		}, lsarJSON, false},
		{"rar (stored, written here)", filetype.RAR, toolarc.Unar{}, func(t *testing.T) []byte {
			return rar4Stored(files)
		}, lsarJSON, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.build(t)
			if got := filetype.Sniff(data[:min(len(data), filetype.HeadSize)]); got != tc.kind {
				t.Fatalf("sniffed %q, want %q", got, tc.kind)
			}
			if !tc.x.Match(data[:min(len(data), filetype.HeadSize)], int64(len(data))) {
				t.Fatal("no match")
			}
			res := unpacktest.Run(t, tc.x, data, unpacktest.Options{})
			if res.Err != nil || len(res.Issues) > 0 {
				t.Fatalf("err %v issues %v", res.Err, res.Issues)
			}
			want := unpacktest.SetOf(files)
			wantNames := names
			if tc.flat {
				got := map[string][]byte{}
				for n, b := range files {
					got[filepath.Base(n)] = b
				}
				want, wantNames = unpacktest.SetOf(got), []string{"Skype.exe", "keyfile_u"}
			}
			if got := res.Set(); !slices.Equal(got, want) {
				t.Errorf("extracted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			ref := tc.reference(t, data)
			if !slices.Equal(ref, wantNames) || !slices.Equal(res.Names(), ref) {
				t.Errorf("reference listing %v, extractor %v", ref, res.Names())
			}
		})
	}
}

// TestDebThroughTheEngine: a .deb is ar > data.tar.xz > tar > files, each
// layer a node, nothing read twice.
func TestDebThroughTheEngine(t *testing.T) {
	files := map[string][]byte{
		"pkg/DEBIAN/control":                 []byte("Package: tomscan-fixture\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: fixture\n"),
		"pkg/usr/share/skype/SkypeSetup.exe": payload()["Skype.exe"],
	}
	deb := unpacktest.Build(t, files, "x.deb", "dpkg-deb", "--root-owner-group", "-Zxz", "--build", "pkg", "x.deb")
	root := unpacktest.RunEngine(context.Background(), t, registry.All(), "x.deb", deb, limits.Default())
	if is := unpacktest.Issues(root); len(is) > 0 {
		t.Fatalf("issues %v", is)
	}
	n := unpacktest.Find(root, "x.deb", "data.tar.xz", "data.tar", "./usr/share/skype/SkypeSetup.exe")
	if n == nil {
		n = unpacktest.Find(root, "x.deb", "data.tar.xz", "data.tar", "usr/share/skype/SkypeSetup.exe")
	}
	if root.Type != filetype.Deb || root.Container != "7z-cli" || n == nil || n.SHA256 != unpacktest.Digest(files["pkg/usr/share/skype/SkypeSetup.exe"]) {
		var ids []string
		root.Walk(func(n *artifact.Node) error { ids = append(ids, n.ID); return nil })
		t.Fatalf("type %s container %s; tree %v", root.Type, root.Container, ids)
	}
}

// TestUnsupportedFormatIsNamed: a format with no extractor (KWAJ) and one
// whose extractor's tool is missing are never plain data without an issue.
func TestUnsupportedFormatIsNamed(t *testing.T) {
	kwaj := append([]byte("KWAJ\x88\xf0\x27\xd1"), make([]byte, 200)...)
	root := unpacktest.RunEngine(context.Background(), t, registry.All(), "x.kwaj", kwaj, limits.Default())
	if len(root.Issues) != 1 || root.Issues[0].Kind != artifact.KindUnsupportedFormat || !strings.Contains(root.Issues[0].Message, "KWAJ") {
		t.Fatalf("issues %v", unpacktest.Issues(root))
	}
	res := unpacktest.Run(t, toolarc.Unar{}, rar4Stored(payload()), unpacktest.Options{Tools: &unpack.Tools{}})
	var tm *unpack.ToolMissingError
	if !errorsAs(res.Err, &tm) {
		t.Fatalf("without unar: err %v", res.Err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// TestRealClamAVArchives runs the engine on the archives of Debian's
// clamav-testfiles (cached by make corpus-real): ARJ, cpio, SZDD and CHM are
// read, and an OLE document that is not an MSI is named, not passed off as
// an empty container.
func TestRealClamAVArchives(t *testing.T) {
	dir := filepath.Join(os.Getenv("HOME"), ".cache/tomscan-corpus/real/deb/clamav-testfiles/root/usr/share/clamav-testfiles")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("clamav-testfiles not in the corpus cache (make corpus-real)")
	}
	clam := "clam.exe"
	want, err := os.ReadFile(filepath.Join(dir, clam))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"clam.arj", "clam.exe.szdd", "clam.bin-le.cpio", "clam.bin-be.cpio", "clam.newc.cpio", "clam.odc.cpio", "clam.ole.doc"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		root := unpacktest.RunEngine(context.Background(), t, registry.All(), f, b, limits.Default())
		if f == "clam.ole.doc" {
			if len(root.Issues) != 1 || root.Issues[0].Kind != artifact.KindUnsupportedFormat {
				t.Errorf("%s: issues %v", f, unpacktest.Issues(root))
			}
			continue
		}
		found := false
		root.Walk(func(n *artifact.Node) error {
			found = found || n.SHA256 == unpacktest.Digest(want)
			return nil
		})
		if root.Container != "7z-cli" || !found || len(unpacktest.Issues(root)) > 0 {
			t.Errorf("%s: container %q, clam.exe found %v, issues %v", f, root.Container, found, unpacktest.Issues(root))
		}
	}
}

// TestTruncatedCpioChildCarriesVerdict: a cpio archive cut inside its second
// file: 7-Zip writes it short and says "Data Error" of it; the child carries
// that as its read error over the bytes as written, the first file is whole,
// and the archive's issue quotes 7-Zip's "Unexpected end of archive".
func TestTruncatedCpioChildCarriesVerdict(t *testing.T) {
	unpacktest.Tool(t, "7zz")
	first, second := bytes.Repeat([]byte("first "), 5000), make([]byte, 80000)
	rand.Read(second)
	files := map[string][]byte{"a.bin": first, "b.bin": second}
	data := unpacktest.Build(t, files, "out.cpio", "sh", "-c", "printf 'a.bin\\nb.bin\\n' | cpio -o -H newc > out.cpio 2>/dev/null")
	res := unpacktest.Run(t, toolarc.SevenZip{}, data[:len(data)-50000], unpacktest.Options{})
	if len(res.Files) != 2 {
		t.Fatalf("files %v issues %v err %v", res.Set(), res.Issues, res.Err)
	}
	if f := res.Files[0]; f.Name != "a.bin" || f.Err != "" || f.Size != int64(len(first)) {
		t.Errorf("first: %s err %q", f, f.Err)
	}
	if f := res.Files[1]; f.Name != "b.bin" || f.Err != "7-Zip: Data Error" || f.Size >= int64(len(second)) {
		t.Errorf("second: %s err %q", f, f.Err)
	}
	if len(res.Issues) != 1 || !strings.Contains(res.Issues[0], "7z: "+filetype.Describe(filetype.Cpio)+": exit 2: Unexpected end of archive (2 files extracted before)") {
		t.Errorf("issues %v", res.Issues)
	}
}

// TestDamagedRarChildCarriesVerdict: unar leaves a file it failed on disk
// (empty when the archive is cut, whole with a wrong checksum when a byte
// is flipped); the child carries unar's verdict as its read error, and the
// files before and after it are clean.
func TestDamagedRarChildCarriesVerdict(t *testing.T) {
	unpacktest.Tool(t, "unar")
	big := make([]byte, 50000)
	rand.Read(big)
	data := rar4Stored(map[string][]byte{"a.txt": []byte("hello hello"), "dir/b.bin": big, "dir/c.txt": []byte("third")})
	flipped := bytes.Clone(data)
	flipped[bytes.Index(data, big)+100] ^= 0xff
	for _, tc := range []struct {
		name, verdict string
		data          []byte
		files         int
	}{
		{"cut", "unar: Attempted to read more data than was available", data[:len(data)-30000], 2},
		{"flipped", "unar: Wrong checksum", flipped, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := unpacktest.Run(t, toolarc.Unar{}, tc.data, unpacktest.Options{})
			if len(res.Files) != tc.files {
				t.Fatalf("files %v issues %v err %v", res.Set(), res.Issues, res.Err)
			}
			for _, f := range res.Files {
				want := ""
				if f.Name == "dir/b.bin" {
					want = tc.verdict
				}
				if f.Err != want {
					t.Errorf("%s: err %q, want %q", f.Name, f.Err, want)
				}
			}
		})
	}
}
