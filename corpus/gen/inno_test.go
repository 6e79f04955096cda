package gen

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/unpack/inno/setupdata"
)

// These tests prove the Inno Setup writer against the real innoextract 1.9:
// it must verify, list and extract exactly the files written, and it must
// read the registry, run and icon entries where the writer put them.

func needInnoextract(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("innoextract"); err != nil {
		t.Skip("innoextract is not installed")
	}
	if _, err := exec.LookPath("i686-w64-mingw32-gcc"); err != nil {
		t.Skip("mingw-w64 is not installed")
	}
}

func sampleInnoScript(version string) *InnoSetup {
	st := &InnoSetup{
		Version: version, Codepage: 1252, LanguageName: "English", LanguageID: 0x409,
		AppName: "Skype", AppVersion: "5.5.0.124", AppPublisher: "Skype Technologies S.A.", AppID: "Skype",
		DefaultDirName: `{pf}\Skype\Phone`, DefaultGroupName: "Skype", Compression: "lzma",
		Dirs: []InnoDir{{Name: `{app}\data`}, {Name: `{userappdata}\Skype`, Flags: []string{"uninsneveruninstall"}}},
		Files: []InnoFile{
			{Dest: `{app}\Skype.exe`, Data: bytes.Repeat([]byte("MZ client bytes "), 700), Flags: []string{"ignoreversion"}},
			{Dest: `{app}\data\keyfile.dat`, Data: []byte("ciphertext\x00\x01\x02"), Flags: []string{"ignoreversion"}},
			{Dest: `{tmp}\setuphelper.dll`, Data: []byte("helper"), Flags: []string{"deleteafterinstall"}},
			{Dest: `{app}\empty.txt`, Data: nil},
		},
		Icons: []InnoIcon{{Name: `{group}\Skype`, Filename: `{app}\Skype.exe`, WorkingDir: "{app}", Comment: "Skype"}},
		Registry: []InnoRegistry{
			{Root: "HKLM", Subkey: `Software\Microsoft\Windows\CurrentVersion\Run`, ValueName: "Skype", ValueType: "string",
				ValueData: `"{app}\Skype.exe" /nosplash`, Flags: []string{"uninsdeletevalue"}},
			{Root: "HKCU", Subkey: `Software\Skype`, ValueName: "Installed", ValueType: "dword", ValueData: "1"},
		},
		Run: []InnoRun{{Filename: `{app}\Skype.exe`, Parameters: "/installed", Description: "Launch Skype", Wait: "nowait", ShowCmd: 1,
			Flags: []string{"postinstall", "skipifsilent"}}},
	}
	if v := innoVersions[version]; !v.unicode && v.below(5, 2, 0) {
		st.Compression = "zlib"
	}
	return st
}

// loaderCache compiles one loader per offset-table style.
var loaderCache struct {
	sync.Mutex
	m map[bool][]byte
}

func testLoader(t *testing.T, v innoVer) []byte {
	t.Helper()
	loaderCache.Lock()
	defer loaderCache.Unlock()
	res := v.atLeast(5, 1, 5)
	if b, ok := loaderCache.m[res]; ok {
		return b
	}
	p := &peDesc{fileName: "setup.exe", arch: "x86", textMode: "gbk", langID: 0x409, version: "1.0.0.0",
		company: "Test", product: "Test", description: "Test Setup", copyright: "(c)", internalName: "setup", strings: []string{"Setup"}}
	if res {
		p.rcdataNeutral = map[int][]byte{11111: innoPlaceholderTable()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := p.compile(ctx, filepath.Join(t.TempDir(), "loader"))
	if err != nil {
		t.Fatal(err)
	}
	if loaderCache.m == nil {
		loaderCache.m = map[bool][]byte{}
	}
	loaderCache.m[res] = b
	return b
}

func writeInno(t *testing.T, st *InnoSetup) string {
	t.Helper()
	built, err := st.build()
	if err != nil {
		t.Fatal(err)
	}
	data, err := built.assemble(testLoader(t, built.v))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "setup.exe")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func innoextract(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("innoextract", append([]string{"--color=0", "--progress=0"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var innoListLine = regexp.MustCompile(`(?m)^ - "([^"]*)"`)

func TestInnoWriterAgainstInnoextract(t *testing.T) {
	needInnoextract(t)
	var versions []string
	for k := range innoVersions {
		versions = append(versions, k)
	}
	sort.Strings(versions)
	for _, ver := range versions {
		t.Run(ver, func(t *testing.T) {
			st := sampleInnoScript(ver)
			setup := writeInno(t, st)
			v := innoVersions[ver]
			if out, err := innoextract(t, "--test", setup); err != nil || strings.Contains(strings.ToLower(out), "warning") {
				t.Fatalf("--test: %v\n%s", err, out)
			}
			out, err := innoextract(t, "--list", setup)
			if err != nil {
				t.Fatalf("--list: %v\n%s", err, out)
			}
			if !strings.Contains(out, "setup data version "+v.String()) {
				t.Errorf("--list does not name version %s:\n%s", v, out)
			}
			var listed []string
			for _, m := range innoListLine.FindAllStringSubmatch(out, -1) {
				if !strings.HasSuffix(m[1], "/") {
					listed = append(listed, m[1])
				}
			}
			sort.Strings(listed)
			var want []string
			for _, f := range st.Files {
				want = append(want, innoPath(f.Dest))
			}
			sort.Strings(want)
			if !slices.Equal(listed, want) {
				t.Errorf("--list: %v, want %v\n%s", listed, want, out)
			}
			if !strings.Contains(out, `"tmp/setuphelper.dll" [temp]`) || !strings.Contains(out, `"userappdata/Skype/"`) {
				t.Errorf("--list lacks the temp flag or the [Dirs] entry:\n%s", out)
			}
			dir := t.TempDir()
			if out, err := innoextract(t, "--extract", "--silent", "--output-dir", dir, setup); err != nil {
				t.Fatalf("--extract: %v\n%s", err, out)
			}
			for _, f := range st.Files {
				got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(innoPath(f.Dest))))
				if err != nil || sha256Hex(got) != sha256Hex(f.Data) {
					t.Errorf("%s: extracted bytes differ (%v)", f.Dest, err)
				}
			}
			info, err := innoextract(t, "--info", setup)
			if err != nil || !strings.Contains(info, "Skype") {
				t.Errorf("--info: %v\n%s", err, info)
			}
		})
	}
}

// TestInnoextractReadsActions damages one enum byte of the registry, run
// and icon entries at a time. innoextract reads those entries even when it
// only lists files (the header stream is sequential), so it must warn about
// exactly that enum: proof that it parses the entries where we wrote them.
func TestInnoextractReadsActions(t *testing.T) {
	needInnoextract(t)
	cases := []struct {
		name, warning string
		pick          func(innoFieldOffsets) []int
	}{
		{"registry type", "registry entry type", func(o innoFieldOffsets) []int { return o.RegistryType[1:2] }},
		{"run wait", "run wait", func(o innoFieldOffsets) []int { return o.RunWait }},
		{"icon close", "close on exit", func(o innoFieldOffsets) []int { return o.IconClose }},
	}
	for _, ver := range []string{"5.1.2", "5.5.0u"} {
		for _, c := range cases {
			t.Run(ver+"/"+c.name, func(t *testing.T) {
				st := sampleInnoScript(ver)
				hit := 0
				st.corrupt = func(block []byte, at innoFieldOffsets) {
					for _, off := range c.pick(at) {
						block[off] = 0x7f
						hit++
					}
				}
				setup := writeInno(t, st)
				if hit == 0 {
					t.Fatal("no field to damage")
				}
				out, _ := innoextract(t, "--list", setup)
				if !strings.Contains(strings.ToLower(out), c.warning) {
					t.Errorf("innoextract did not notice the damaged %s:\n%s", c.name, out)
				}
			})
		}
	}
}

// TestInnoWriterReaderRoundTrip decodes every version the writer produces
// with tomscan's own reader (internal/unpack/inno/setupdata): the tables
// must equal the writer's ground truth. The corpus holds only some of these
// versions; this covers the rest.
func TestInnoWriterReaderRoundTrip(t *testing.T) {
	needInnoextract(t)
	for ver := range innoVersions {
		t.Run(ver, func(t *testing.T) {
			st := sampleInnoScript(ver)
			if !innoVersions[ver].unicode {
				st.Codepage, st.LanguageName, st.LanguageID, st.AppPublisher = 936, "简体中文", 0x804, "TOM在线"
			}
			data, err := os.ReadFile(writeInno(t, st))
			if err != nil {
				t.Fatal(err)
			}
			s, err := setupdata.Parse(context.Background(), bytes.NewReader(data), int64(len(data)), setupdata.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			gt, err := st.groundTruth()
			if err != nil {
				t.Fatal(err)
			}
			got := s.Installer().Tables
			for name, w := range gt.Tables {
				g := got[name]
				if !slices.Equal(g.Columns, w.Columns) || len(g.Rows) != len(w.Rows) {
					t.Errorf("%s: got %q %q\nwant %q %q", name, g.Columns, g.Rows, w.Columns, w.Rows)
					continue
				}
				for i := range w.Rows {
					if !slices.Equal(g.Rows[i], w.Rows[i]) {
						t.Errorf("%s row %d: got %q, want %q", name, i, g.Rows[i], w.Rows[i])
					}
				}
			}
		})
	}
}
