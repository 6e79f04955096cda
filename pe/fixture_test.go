package pe

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// The fixture PE is built in the test from source with Debian's mingw-w64:
// a GUI program whose resources carry what TOM-Skype builds carry: a
// VERSIONINFO with a Chinese (0804) and an English (0409) table, a string
// table with Chinese strings, a DIALOG and a DIALOGEX About box, a manifest
// and a named RCDATA blob. The .rc is written in GBK and compiled with
// code page 936, like the era's Chinese resource scripts.
const fixtureC = `
#include <windows.h>
const char gbk_banner[] = "%GBK%";
__declspec(dllexport) int tom_filter(int x) { return x + 1; }
__declspec(dllexport) int tom_upload(int x) { return x * 2; }
int WINAPI WinMain(HINSTANCE h, HINSTANCE p, LPSTR c, int n) {
	MessageBoxA(0, gbk_banner, "TOM-Skype", MB_OK);
	return GetTickCount() & 1;
}
`

const fixtureRC = `#pragma code_page(936)
#include <windows.h>
1 VERSIONINFO
FILEVERSION 3,8,0,188
PRODUCTVERSION 3,8,0,0
FILEFLAGSMASK 0x3fL
FILEFLAGS 0x0L
FILEOS VOS_NT_WINDOWS32
FILETYPE VFT_APP
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "080404b0"
    BEGIN
      VALUE "CompanyName", "TOM在线有限公司"
      VALUE "FileDescription", "一号过滤器"
      VALUE "FileVersion", "3.8.0.188"
      VALUE "ProductName", "TOM-Skype 中文版"
      VALUE "LegalCopyright", "版权所有 (C) 2008 TOM在线"
    END
    BLOCK "040904b0"
    BEGIN
      VALUE "CompanyName", "TOM Online Inc."
      VALUE "FileDescription", "Content filter"
      VALUE "ProductName", "TOM-Skype"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x804, 1200, 0x409, 1200
  END
END

STRINGTABLE
LANGUAGE LANG_CHINESE, SUBLANG_CHINESE_SIMPLIFIED
BEGIN
  101 "欢迎使用TOM-Skype"
  102 "内容过滤已启用"
  117 "http://skypetools.tom.com/agent/keyfile"
END

100 DIALOG 0, 0, 200, 80
STYLE DS_MODALFRAME | WS_POPUP | WS_CAPTION | WS_SYSMENU
CAPTION "关于 TOM-Skype"
FONT 9, "宋体"
BEGIN
  LTEXT "TOM-Skype 3.8 中文版", 1001, 10, 10, 180, 10
  DEFPUSHBUTTON "确定", IDOK, 75, 55, 50, 14
END

101 DIALOGEX 0, 0, 200, 80
STYLE DS_SETFONT | DS_MODALFRAME | WS_POPUP | WS_CAPTION
CAPTION "About Skype"
FONT 8, "MS Shell Dlg", 400, 0, 0x1
BEGIN
  CONTROL "Skype Technologies S.A.", 2001, "Static", SS_LEFT, 10, 10, 180, 10
  EDITTEXT 2002, 10, 25, 180, 12
  PUSHBUTTON "OK", IDOK, 75, 55, 50, 14
END

1 24 "app.manifest"
CFEXE RCDATA "blob.bin"
`

const fixtureManifest = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0">
  <assemblyIdentity type="win32" name="TOM.Skype" version="3.8.0.188"/>
</assembly>
`

type fixtures struct {
	exe     []byte // unsigned
	signed  []byte // signed with a throwaway certificate, RFC 3161 timestamped
	certPEM []byte
	err     error
}

var (
	fixtureOnce sync.Once
	fixture     fixtures
)

// buildFixtures builds the fixture PEs once per test binary run.
func buildFixtures(t testing.TB) *fixtures {
	t.Helper()
	for _, tool := range []string{"x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-windres", "osslsigncode", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/setup.sh installs it)", tool)
		}
	}
	fixtureOnce.Do(func() { fixture = makeFixtures() })
	if fixture.err != nil {
		t.Fatalf("building fixtures: %v", fixture.err)
	}
	return &fixture
}

func makeFixtures() (fx fixtures) {
	dir, err := os.MkdirTemp("", "tomscan-pe-fixture-")
	if err != nil {
		return fixtures{err: err}
	}
	defer os.RemoveAll(dir)
	gbk := func(s string) []byte {
		b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
		if err != nil {
			panic(err)
		}
		return b
	}
	// A GBK string in .rdata, as C escapes so gcc sees plain ASCII source.
	var esc bytes.Buffer
	for _, c := range gbk("TOM在线内容过滤系统") {
		if c < 0x80 {
			esc.WriteByte(c)
		} else {
			esc.WriteString(`\x` + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15]) + `""`)
		}
	}
	src := bytes.ReplaceAll([]byte(fixtureC), []byte("%GBK%"), esc.Bytes())
	files := map[string][]byte{
		"main.c":       src,
		"res.rc":       gbk(fixtureRC),
		"app.manifest": []byte(fixtureManifest),
		"blob.bin":     append([]byte("7z\xbc\xaf\x27\x1c"), bytes.Repeat([]byte{0xA5}, 64)...),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fixtures{err: err}
		}
	}
	run := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1230000000", "LC_ALL=C")
		if out, err := cmd.CombinedOutput(); err != nil {
			return &toolError{name: name, err: err, out: string(out)}
		}
		return nil
	}
	steps := [][]string{
		{"x86_64-w64-mingw32-windres", "-c", "936", "-i", "res.rc", "-O", "coff", "-o", "res.o"},
		{"x86_64-w64-mingw32-gcc", "-O1", "-mwindows", "-s", "-Wl,--no-insert-timestamp", "-Wl,--export-all-symbols", "-o", "app.exe", "main.c", "res.o"},
		{"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
			"-days", "3650", "-subj", "/C=CN/O=TOM Online Inc./CN=TOM Online Test Signer", "-addext", "extendedKeyUsage=codeSigning"},
		{"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.pem",
			"-days", "3650", "-subj", "/CN=Test TSA", "-addext", "extendedKeyUsage=critical,timeStamping"},
		{"osslsigncode", "sign", "-certs", "cert.pem", "-key", "key.pem", "-h", "sha256", "-n", "TOM-Skype",
			"-time", "1230000000", "-TSA-certs", "tsa.pem", "-TSA-key", "tsa.key", "-TSA-time", "1230000000",
			"-in", "app.exe", "-out", "signed.exe"},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return fixtures{err: err}
		}
	}
	for name, dst := range map[string]*[]byte{"app.exe": &fx.exe, "signed.exe": &fx.signed, "cert.pem": &fx.certPEM} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fixtures{err: err}
		}
		*dst = b
	}
	return fx
}

type toolError struct {
	name string
	err  error
	out  string
}

func (e *toolError) Error() string { return e.name + ": " + e.err.Error() + ": " + e.out }
