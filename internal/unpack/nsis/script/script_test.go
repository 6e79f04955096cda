package script

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/corpus/manifest/manifesttest"

	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
)

const nsi = `Unicode %UNICODE%
SetCompressor %COMP%
OutFile "setup.exe"
InstallDir "$PROGRAMFILES\Skype\Phone"
RequestExecutionLevel user
Section "Main"
SetOutPath "$INSTDIR"
File Skype.exe
SetOutPath "$INSTDIR\Tom"
File ContentFilter.exe
Exec '"$INSTDIR\Tom\ContentFilter.exe" /silent'
ExecWait '"$INSTDIR\Skype.exe" /install'
ExecShell "open" "http://skypetools.tom.com/agent/keyfile"
WriteRegStr HKLM "Software\Skype\Phone" "SkypePath" "$INSTDIR\Skype.exe"
WriteRegDWORD HKCU "Software\Skype\Phone" "Tom" 1
WriteRegExpandStr HKLM "Software\Skype" "Data" "%APPDATA%\Skype"
DeleteRegValue HKCU "Software\Skype" "Old"
DeleteRegKey HKCU "Software\OldSkype"
CreateDirectory "$SMPROGRAMS\Skype"
CreateShortCut "$SMPROGRAMS\Skype\Skype.lnk" "$INSTDIR\Skype.exe" "/nosplash" "$INSTDIR\Skype.exe" 0
CreateShortCut "$DESKTOP\Skype.lnk" "$INSTDIR\Skype.exe"
Delete "$TEMP\skype.tmp"
Rename "$INSTDIR\a.txt" "$INSTDIR\b.txt"
WriteINIStr "$INSTDIR\tom.ini" "agent" "url" "http://skypetools.tom.com/agent/"
Call helper
SectionEnd
Function helper
  DetailPrint "$0 $R1 $PLUGINSDIR $APPDATA"
FunctionEnd
`

func build(t testing.TB, comp string, unicode bool) []byte {
	t.Helper()
	big := make([]byte, 50000)
	rand.NewChaCha8([32]byte{1}).Read(big)
	u := "false"
	if unicode {
		u = "true"
	}
	s := strings.NewReplacer("%COMP%", comp, "%UNICODE%", u).Replace(nsi)
	return unpacktest.Build(t, map[string][]byte{
		"s.nsi": []byte(s), "Skype.exe": []byte(strings.Repeat("client ", 1000)), "ContentFilter.exe": big,
	}, "setup.exe", "makensis", "-V1", "s.nsi")
}

// buildSmall is build's script over tiny files.
func buildSmall(t testing.TB, comp string) []byte {
	t.Helper()
	s := strings.NewReplacer("%COMP%", comp, "%UNICODE%", "true").Replace(nsi)
	return unpacktest.Build(t, map[string][]byte{
		"s.nsi": []byte(s), "Skype.exe": []byte("client"), "ContentFilter.exe": []byte("filter"),
	}, "setup.exe", "makensis", "-V1", "s.nsi")
}

func decodeBytes(t testing.TB, b []byte) (*Result, error) {
	t.Helper()
	return Decode(context.Background(), bytes.NewReader(b), int64(len(b)))
}

func rows(r [][]string) []string {
	var out []string
	for _, x := range r {
		out = append(out, strings.Join(x, " | "))
	}
	return out
}

func TestDecodeCompressors(t *testing.T) {
	cases := []struct {
		comp    string
		method  Method
		solid   bool
		unicode bool
	}{
		{"zlib", Deflate, false, true},
		{"/SOLID zlib", Deflate, true, true},
		{"lzma", LZMA, false, true},
		{"/SOLID lzma", LZMA, true, true},
		{"lzma", LZMA, false, false},
		{"/SOLID zlib", Deflate, true, false},
		{"/SOLID lzma\nTarget amd64-unicode", LZMA, true, true},
		{"zlib\nTarget amd64-unicode", Deflate, false, true},
		{"bzip2", BZip2, false, true},
		{"/SOLID bzip2", BZip2, true, true},
		{"bzip2", BZip2, false, false},
		{"/SOLID bzip2", BZip2, true, false},
		{"bzip2\nTarget amd64-unicode", BZip2, false, true},
		{"/SOLID bzip2\nTarget amd64-unicode", BZip2, true, true},
	}
	for _, c := range cases {
		name := strings.ReplaceAll(c.comp, "\n", " ")
		if !c.unicode {
			name += " ansi"
		}
		t.Run(name, func(t *testing.T) {
			data := build(t, c.comp, c.unicode)
			r, err := decodeBytes(t, data)
			if err != nil {
				t.Fatal(err)
			}
			if r.Layout.Method != c.method || r.Layout.Solid != c.solid || r.Layout.Start <= r.Layout.FirstHeader.Offset || r.Layout.End > int64(len(data)) {
				t.Errorf("layout %+v", r.Layout)
			}
			checkListedBy7z(t, data, r)
			if r.Method != c.method || r.Solid != c.solid || r.Unicode != c.unicode {
				t.Errorf("method %s solid %v unicode %v", r.Method, r.Solid, r.Unicode)
			}
			var files []string
			for _, f := range r.Files {
				files = append(files, strings.Join(f[:3], " | "))
			}
			check(t, "files", files, []string{
				`Skype.exe | $INSTDIR | $INSTDIR\Skype.exe`,
				`ContentFilter.exe | $INSTDIR\Tom | $INSTDIR\Tom\ContentFilter.exe`,
			})
			if len(r.Files) == 2 && (r.Files[0][3] != "0" || r.Files[1][3] == "0") {
				t.Errorf("data offsets %q", r.Files)
			}
			check(t, "exec", rows(r.Exec), []string{
				`"$INSTDIR\Tom\ContentFilter.exe" /silent | Exec`,
				`"$INSTDIR\Skype.exe" /install | ExecWait`,
				`http://skypetools.tom.com/agent/keyfile | ExecShell open`,
			})
			check(t, "registry", rows(r.Registry), []string{
				`WriteRegStr | HKLM | Software\Skype\Phone | SkypePath | $INSTDIR\Skype.exe`,
				`WriteRegDWORD | HKCU | Software\Skype\Phone | Tom | 1`,
				`WriteRegExpandStr | HKLM | Software\Skype | Data | %APPDATA%\Skype`,
				`DeleteRegValue | HKCU | Software\Skype | Old | `,
				`DeleteRegKey | HKCU | Software\OldSkype |  | `,
			})
			check(t, "shortcuts", rows(r.Shortcuts), []string{
				`$SMPROGRAMS\Skype\Skype.lnk | $INSTDIR\Skype.exe | /nosplash | $INSTDIR\Skype.exe`,
				`$DESKTOP\Skype.lnk | $INSTDIR\Skype.exe |  | `,
			})
			for _, want := range []string{
				`SetOutPath "$INSTDIR\\Tom"`, `CreateDirectory "$SMPROGRAMS\\Skype"`, `Delete "$TEMP\\skype.tmp"`,
				`Rename "$INSTDIR\\a.txt" "$INSTDIR\\b.txt"`,
				`WriteINIStr "$INSTDIR\\tom.ini" "agent" "url" "http://skypetools.tom.com/agent/"`,
				`DetailPrint "$0 $R1 $PLUGINSDIR $APPDATA"`, "Call /*", "Return", `Section "Main"`,
			} {
				if !strings.Contains(r.Script, want) {
					t.Errorf("script lacks %s:\n%s", want, r.Script)
				}
			}
			inst := r.Installer()
			if inst.Format != "nsis" || len(inst.Tables["files"].Rows) != 2 {
				t.Errorf("installer %+v", inst)
			}
		})
	}
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

// checkListedBy7z compares the decoded files table with 7z's listing: the
// same names, once each.
func checkListedBy7z(t *testing.T, data []byte, r *Result) {
	t.Helper()
	sevenZip, err := exec.LookPath("7zz")
	if err != nil {
		return
	}
	p := filepath.Join(t.TempDir(), "setup.exe")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sevenZip, "l", "-slt", "-tNsis", "-sccUTF-8", "--", p).Output()
	if err != nil {
		t.Fatalf("7z: %v", err)
	}
	archive, items := unpack.ParseSLT(out)
	if archive["Type"] != "Nsis" {
		return // 7-Zip misreads some solid zlib installers (see package nsis)
	}
	var listed, decoded []string
	for _, it := range items {
		if !it.IsDir() && it["Path"] != "[NSIS].nsi" {
			listed = append(listed, strings.ReplaceAll(it["Path"], `\`, "/"))
		}
	}
	for _, f := range r.Files {
		decoded = append(decoded, ListedName(f[2]))
	}
	slices.Sort(listed)
	slices.Sort(decoded)
	check(t, "7z's listing", decoded, listed)
}

func TestNotNSIS(t *testing.T) {
	if _, err := decodeBytes(t, make([]byte, 4096)); err != ErrNotNSIS {
		t.Fatal(err)
	}
}

func TestTruncatedAndCorrupt(t *testing.T) {
	data := build(t, "/SOLID lzma", true)
	fh, err := Find(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{fh.Offset + 10, fh.Offset + 40, fh.Offset + 200} {
		if _, err := decodeBytes(t, data[:n]); err == nil {
			t.Errorf("truncated at %d: no error", n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Decode(ctx, bytes.NewReader(data), int64(len(data))); err == nil {
		t.Error("cancelled: no error")
	}
}

func FuzzDecode(f *testing.F) {
	if _, err := exec.LookPath("makensis"); err == nil {
		// Small installers: the fuzzer minimises every new input, which is
		// slow on the 60 kB of build's fixtures.
		for _, c := range []string{"zlib", "/SOLID lzma", "bzip2", "/SOLID bzip2"} {
			data := buildSmall(f, c)
			fh, _ := Find(context.Background(), bytes.NewReader(data), int64(len(data)))
			f.Add(data[fh.Offset:]) // the NSIS part: fast to mutate
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeBytes(t, b)
		if err == nil && r == nil {
			t.Fatal("nil result without error")
		}
		// The header parser alone, on raw bytes.
		_, _ = Parse(context.Background(), b)
	})
}

// TestCorpus decodes every outermost NSIS build of the synthetic corpus:
// the decoded files include every file 7z lists.
func TestCorpus(t *testing.T) {
	dir, m := manifesttest.Load(t)
	sevenZip := unpacktest.Tool(t, "7z")
	n := 0
	for _, b := range m.Builds {
		if len(b.Wrappers) == 0 || b.Wrappers[0] != "nsis" {
			continue // an NSIS installer inside another wrapper: the engine reaches it
		}
		n++
		t.Run(b.ID, func(t *testing.T) {
			p := filepath.Join(dir, filepath.FromSlash(b.File))
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			r, err := decodeBytes(t, data)
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != LZMA || !r.Solid {
				t.Errorf("method %s solid %v, want solid lzma", r.Method, r.Solid)
			}
			decoded := map[string]bool{}
			for _, f := range r.Files {
				decoded[ListedName(f[2])] = true
			}
			out, err := exec.Command(sevenZip, "l", "-slt", "-tNsis", "-sccUTF-8", "--", p).Output()
			if err != nil {
				t.Fatal(err)
			}
			_, items := unpack.ParseSLT(out)
			listed := 0
			for _, it := range items {
				if it.IsDir() || it["Path"] == "[NSIS].nsi" {
					continue
				}
				listed++
				if name := strings.ReplaceAll(it["Path"], `\`, "/"); !decoded[name] {
					t.Errorf("7z lists %s, not decoded (decoded %v)", name, decoded)
				}
			}
			if listed == 0 {
				t.Error("7z lists nothing")
			}
		})
	}
	if n == 0 {
		t.Error("no NSIS builds in the corpus")
	}
}

// An ANSI installer in Simplified Chinese (the TOM-Skype era: NSIS 2 was
// ANSI only) stores its language strings in code page 936; the decoder
// reads them through the first language table's LANGID, so they come out
// as the Chinese text makensis was given, not as Latin-1 mojibake.
func TestANSICodepageFromLanguage(t *testing.T) {
	const src = "\ufeffUnicode false\n" +
		"LoadLanguageFile \"${NSISDIR}\\Contrib\\Language files\\SimpChinese.nlf\"\n" +
		"LangString FILTER ${LANG_SIMPCHINESE} \"内容过滤组件\"\n" +
		"LangString PHONE ${LANG_SIMPCHINESE} \"网络电话\"\n" +
		"OutFile \"setup.exe\"\nInstallDir \"$PROGRAMFILES\\TOM\\Skype\"\nRequestExecutionLevel user\n" +
		"Section \"Main\"\nDetailPrint \"$(FILTER)\"\nCreateShortCut \"$SMPROGRAMS\\$(PHONE).lnk\" \"$INSTDIR\\Skype.exe\"\nSectionEnd\n"
	data := unpacktest.Build(t, map[string][]byte{"s.nsi": []byte(src)}, "setup.exe", "makensis", "-V1", "-INPUTCHARSET", "UTF8", "s.nsi")
	r, err := decodeBytes(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if r.Unicode {
		t.Fatal("fixture decoded as Unicode")
	}
	for _, want := range []string{"内容过滤组件", "code page 936"} {
		if !strings.Contains(r.Script, want) {
			t.Errorf("script lacks %q:\n%s", want, r.Script)
		}
	}
	if got := rows(r.Shortcuts); len(got) != 1 || !strings.Contains(got[0], `$SMPROGRAMS\网络电话.lnk`) {
		t.Errorf("shortcuts %q", got)
	}
}

func TestCodepageOf(t *testing.T) {
	for id, cp := range map[uint16]int{0x0804: 936, 0x1004: 936, 0x0404: 950, 0x0c04: 950, 0x0411: 932, 0x0412: 949,
		0x0419: 1251, 0x0415: 1250, 0x0c1a: 1251, 0x041a: 1250, 0x0408: 1253, 0x041f: 1254, 0x0409: 1252, 0x0407: 1252, 0: 1252} {
		if got := codepageOf(id); got != cp {
			t.Errorf("LANGID %#04x: code page %d, want %d", id, got, cp)
		}
	}
	if got := ansiText([]byte{0xc4, 0xda, 0xc8, 0xdd}, 936); got != "内容" {
		t.Errorf("GBK: %q", got)
	}
	if got := ansiText([]byte("caf\xe9"), 1252); got != "café" {
		t.Errorf("1252: %q", got)
	}
}
