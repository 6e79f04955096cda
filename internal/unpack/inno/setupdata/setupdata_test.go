package setupdata

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/corpus/manifest/manifesttest"

	"github.com/tomscan/tomscan/internal/artifact"
)

type innoBuild struct {
	id, path string
	data     []byte
	want     map[string]artifact.Table
	version  string
}

func corpusInnoBuilds(t testing.TB) []innoBuild {
	t.Helper()
	dir, m := manifesttest.Load(t)
	var out []innoBuild
	for _, b := range m.Builds {
		for _, in := range b.Installers {
			if in.Format != "inno" || len(in.Path) != 1 { // nested installers are covered by the engine tests
				continue
			}
			p := filepath.Join(dir, filepath.FromSlash(b.File))
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]artifact.Table{}
			for k, tab := range in.Tables {
				want[k] = artifact.Table{Columns: tab.Columns, Rows: tab.Rows}
			}
			out = append(out, innoBuild{id: b.ID, path: p, data: data, want: want, version: in.Version})
		}
	}
	if len(out) == 0 {
		t.Skip("no Inno Setup build in the corpus")
	}
	return out
}

// TestCorpusTablesMatchGroundTruth decodes every Inno build of the corpus
// and compares each table with the generator's record, then checks the
// fields innoextract itself reports (title, version, language, listed
// paths and checksums), so that reader and writer are not only consistent
// with each other.
func TestCorpusTablesMatchGroundTruth(t *testing.T) {
	for _, b := range corpusInnoBuilds(t) {
		t.Run(b.id, func(t *testing.T) {
			s, err := Parse(context.Background(), bytes.NewReader(b.data), int64(len(b.data)), DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Installer()
			if got.Format != "inno" || s.Version.String() != b.version {
				t.Errorf("format %q version %s, want inno %s", got.Format, s.Version, b.version)
			}
			var names []string
			for k := range b.want {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, name := range names {
				w, g := b.want[name], got.Tables[name]
				if !slices.Equal(w.Columns, g.Columns) {
					t.Errorf("%s: columns %v, want %v", name, g.Columns, w.Columns)
					continue
				}
				if len(w.Rows) != len(g.Rows) {
					t.Errorf("%s: %d rows, want %d\ngot  %q\nwant %q", name, len(g.Rows), len(w.Rows), g.Rows, w.Rows)
					continue
				}
				for i := range w.Rows {
					if !slices.Equal(w.Rows[i], g.Rows[i]) {
						t.Errorf("%s row %d:\ngot  %q\nwant %q", name, i, g.Rows[i], w.Rows[i])
					}
				}
			}
			if len(got.Tables) != len(b.want) {
				t.Errorf("tables %d, ground truth %d", len(got.Tables), len(b.want))
			}
			checkAgainstInnoextract(t, b.path, s)
		})
	}
}

var (
	listTitle = regexp.MustCompile(`(?m)^Listing "(.*)" - setup data version (.*)$`)
	listFile  = regexp.MustCompile(`(?m)^ - "([^"]*[^/])"(?: \[[^\]]*\])? \([^)]*\) (MD5|SHA-1) ([0-9a-f]+)$`)
	infoLang  = regexp.MustCompile(`(?m)^ - [^:]+: (.*)$`)
)

func checkAgainstInnoextract(t *testing.T, path string, s *Setup) {
	t.Helper()
	if _, err := exec.LookPath("innoextract"); err != nil {
		t.Log("innoextract not installed: cross-check skipped")
		return
	}
	out, err := exec.Command("innoextract", "--list", "--list-sizes", "--list-checksums", "--color=0", "--progress=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("innoextract --list: %v\n%s", err, out)
	}
	m := listTitle.FindSubmatch(out)
	if m == nil || string(m[1]) != s.Header.AppVersionedName || string(m[2]) != s.Version.String() {
		t.Errorf("innoextract title %q, ours %q / %s", m, s.Header.AppVersionedName, s.Version)
	}
	type listed struct{ path, sum string }
	var fromTool, ours []listed
	for _, f := range listFile.FindAllSubmatch(out, -1) {
		algo := map[string]string{"MD5": "md5", "SHA-1": "sha1"}[string(f[2])]
		fromTool = append(fromTool, listed{string(f[1]), algo + ":" + string(f[3])})
	}
	for _, row := range s.Installer().Tables["files"].Rows {
		ours = append(ours, listed{row[0], row[7]})
	}
	less := func(a, b listed) int { return strings.Compare(a.path, b.path) }
	slices.SortFunc(fromTool, less)
	slices.SortFunc(ours, less)
	if !slices.Equal(fromTool, ours) {
		t.Errorf("files: innoextract lists %v, we read %v", fromTool, ours)
	}
	info, err := exec.Command("innoextract", "--info", "--color=0", "--progress=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("innoextract --info: %v\n%s", err, info)
	}
	var langs []string
	for _, l := range infoLang.FindAllSubmatch(info, -1) {
		langs = append(langs, string(l[1]))
	}
	if !slices.Equal(langs, s.Header.Languages) {
		t.Errorf("languages: innoextract %q, ours %q", langs, s.Header.Languages)
	}
}

// craft builds a minimal installer around hand-made header blocks: a
// 64-byte "DOS header" with the pre-5.1.5 pointer at 0x30, the offset
// table, the version marker and the blocks, stored (not compressed) so
// that tests can say anything in them.
func craft(marker string, blocks ...[]byte) []byte {
	out := make([]byte, 64)
	binary.LittleEndian.PutUint32(out[0x30:], 0x6f6e6e49)
	tableAt := uint32(len(out))
	binary.LittleEndian.PutUint32(out[0x34:], tableAt)
	binary.LittleEndian.PutUint32(out[0x38:], ^tableAt)
	header := tableAt + 12 + 7*4
	var setup0 []byte
	m := make([]byte, 64)
	copy(m, marker)
	setup0 = append(setup0, m...)
	for _, b := range blocks {
		setup0 = append(setup0, storedBlock(b)...)
	}
	tab := append([]byte(nil), magicPointer...)
	for _, x := range []uint32{header + uint32(len(setup0)), 0, 0, 0, header, header + uint32(len(setup0))} {
		tab = binary.LittleEndian.AppendUint32(tab, x)
	}
	tab = binary.LittleEndian.AppendUint32(tab, crc32.ChecksumIEEE(tab))
	out = append(out, tab...)
	return append(out, setup0...)
}

// withLoader puts setup-0 behind the pre-5.1.5 pointer and offset table.
func withLoader(setup0 []byte) []byte {
	out := make([]byte, 64)
	binary.LittleEndian.PutUint32(out[0x30:], 0x6f6e6e49)
	binary.LittleEndian.PutUint32(out[0x34:], 64)
	binary.LittleEndian.PutUint32(out[0x38:], ^uint32(64))
	header := uint32(64 + 12 + 7*4)
	tab := append([]byte(nil), magicPointer...)
	for _, x := range []uint32{header + uint32(len(setup0)), 0, 0, 0, header, header + uint32(len(setup0))} {
		tab = binary.LittleEndian.AppendUint32(tab, x)
	}
	tab = binary.LittleEndian.AppendUint32(tab, crc32.ChecksumIEEE(tab))
	return append(append(out, tab...), setup0...)
}

func storedBlock(plain []byte) []byte {
	var body []byte
	for off := 0; off < len(plain); off += blockChunk {
		end := min(off+blockChunk, len(plain))
		body = binary.LittleEndian.AppendUint32(body, crc32.ChecksumIEEE(plain[off:end]))
		body = append(body, plain[off:end]...)
	}
	head := binary.LittleEndian.AppendUint32(nil, uint32(len(body)))
	head = append(head, 0)
	out := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(head))
	return append(append(out, head...), body...)
}

func parseBytes(b []byte) (*Setup, error) {
	return Parse(context.Background(), bytes.NewReader(b), int64(len(b)), DefaultLimits)
}

func TestHostileInput(t *testing.T) {
	huge := binary.LittleEndian.AppendUint32(nil, 0x7fffffff) // a string that claims 2 GiB
	neg := binary.LittleEndian.AppendUint32(nil, 0x80000000)
	manyStrings := bytes.Repeat(binary.LittleEndian.AppendUint32(nil, 0), 31) // the 31 strings of a 5.5.0 header, then counts
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"no table", bytes.Repeat([]byte{0}, 4096), "no setup loader offset table"},
		{"huge string", craft("Inno Setup Setup Data (5.5.0) (u)", huge, nil), "unexpected end"},
		{"negative string", craft("Inno Setup Setup Data (5.5.0) (u)", neg, nil), "negative string length"},
		{"empty block", craft("Inno Setup Setup Data (5.5.0) (u)", nil, nil), "unexpected end"},
		{"huge counts", craft("Inno Setup Setup Data (5.5.0) (u)", append(manyStrings, bytes.Repeat([]byte{0xff}, 64)...), nil), "unexpected end"},
		{"old version", craft("Inno Setup Setup Data (4.2.6)", nil, nil), "unsupported"},
		{"new version", craft("Inno Setup Setup Data (6.1.0) (u)", nil, nil), "unsupported"},
		{"bad marker", craft("Not Inno at all", nil, nil), "unsupported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseBytes(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
	_, err := parseBytes(craft("Inno Setup Setup Data (6.1.0) (u)", nil, nil))
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("6.1.0: %v is not ErrUnsupported", err)
	}
}

// TestDamagedCorpusBuilds flips a CRC-covered byte, cuts the file and
// inflates the declared block size of a real build: each is an error,
// never a panic or a large allocation.
func TestDamagedCorpusBuilds(t *testing.T) {
	for _, b := range corpusInnoBuilds(t) {
		s, err := parseBytes(b.data)
		if err != nil {
			t.Fatal(err)
		}
		at := int(s.Offsets.Header) + 64
		flip := func(off int, mask byte) []byte {
			d := append([]byte(nil), b.data...)
			d[off] ^= mask
			return d
		}
		size := func(n uint32) []byte {
			d := append([]byte(nil), b.data...)
			binary.LittleEndian.PutUint32(d[at+4:], n)
			binary.LittleEndian.PutUint32(d[at:], crc32.ChecksumIEEE(d[at+4:at+9]))
			return d
		}
		for name, d := range map[string][]byte{
			"block header CRC": flip(at+5, 0x01),
			"chunk CRC":        flip(at+9+4+20, 0x40),
			"truncated":        b.data[:at+200],
			"stored size 4GiB": size(0xffffffff),
			"stored size 0":    size(0),
			"marker":           flip(int(s.Offsets.Header)+23, 0x01),
		} {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := parseBytes(d)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Errorf("%s: %s: no error", b.id, name)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("%s: %s: allocated %d bytes", b.id, name, grew)
			}
		}
	}
}

func TestExtractPath(t *testing.T) {
	for in, want := range map[string]string{
		`{app}\Skype.exe`:         "app/Skype.exe",
		`{app}\data\keyfile.dat`:  "app/data/keyfile.dat",
		`{tmp}\..\..\etc\passwd`:  "etc/passwd",
		`{{literal}\a:b`:          "{literal/a$b",
		`{userappdata}\Skype\.\x`: "userappdata/Skype/x",
	} {
		if got := ExtractPath(in); got != want {
			t.Errorf("ExtractPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSetupData(f *testing.F) {
	if dir := os.Getenv("TOMSCAN_CORPUS"); dir != "" {
		names, _ := filepath.Glob(filepath.Join(dir, "builds", "*-inno.exe"))
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				continue
			}
			// The build's setup-0 behind a small loader: the fuzzer works on
			// the setup data, not on 30 KiB of loader PE.
			if o, err := Locate(bytes.NewReader(b), int64(len(b))); err == nil && o.Data > o.Header {
				f.Add(withLoader(b[o.Header:o.Data]))
			}
		}
	}
	f.Add(craft("Inno Setup Setup Data (5.5.0) (u)", nil, nil))
	f.Add(craft("Inno Setup Setup Data (5.1.2)", bytes.Repeat([]byte{0}, 600), nil))
	// Small limits keep each run cheap; the limits themselves are tested above.
	lim := Limits{MaxBlockBytes: 1 << 20, MaxEntries: 4096}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(context.Background(), bytes.NewReader(b), int64(len(b)), lim)
		if err != nil || s == nil {
			return
		}
		for name, tab := range s.Installer().Tables {
			for _, r := range tab.Rows {
				if len(r) != len(tab.Columns) {
					t.Fatalf("%s: row %q", name, r)
				}
			}
		}
	})
}

// TestLocateInMemory: a blob in memory is scanned in place (no copy of the
// loader), with the answers of a plain reader, for the corpus's Inno builds
// and their prefixes (a table cut off, none at all) and for a table at the
// edge of the scanned head.
func TestLocateInMemory(t *testing.T) {
	var inputs [][]byte
	if dir := os.Getenv("TOMSCAN_CORPUS"); dir != "" {
		names, _ := filepath.Glob(filepath.Join(dir, "builds", "*-inno.exe"))
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, b)
			for _, cut := range []int{len(b) / 2, 4096, 100, 0} {
				inputs = append(inputs, b[:cut])
			}
		}
	}
	inputs = append(inputs, withLoader(craft("Inno Setup Setup Data (5.5.0) (u)", nil, nil)), []byte("MZ"))
	for i, b := range inputs {
		want, werr := Locate(bytes.NewReader(b), int64(len(b)))
		got, gerr := Locate(artifact.MemoryBlob(b).ReaderAt(), int64(len(b)))
		if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("input %d (%d bytes): in memory %+v, %v; plain reader %+v, %v", i, len(b), got, gerr, want, werr)
		}
	}
}
