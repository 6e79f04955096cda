package msi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
	"github.com/tomscan/tomscan/pe"
)

// outcome is one extraction through the shared harness, keyed for comparing
// with the reference tools: name -> "size sha256".
type outcome struct {
	entries   map[string]string
	installer *artifact.Installer
	sig       *pe.Signature
	issues    []string
}

func fromResult(res *unpacktest.Result) (*outcome, error) {
	o := &outcome{entries: map[string]string{}, installer: res.Installer, sig: res.Signature, issues: res.Issues}
	for _, f := range res.Files {
		o.entries[f.Name] = fmt.Sprintf("%d %s", f.Size, f.SHA256)
		if f.Err != "" {
			o.issues = append(o.issues, fmt.Sprintf("entry %s: %s", f.Name, f.Err))
		}
	}
	return o, res.Err
}

func needTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make setup)", tool)
		}
	}
}

const testWXS = `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="12345678-1234-1234-1234-123456789012" Name="Skype" Language="1033" Version="5.1.4.10" Manufacturer="Skype Technologies SA" UpgradeCode="11111111-2222-3333-4444-555555555555">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine" />
    <Media Id="1" Cabinet="skype.cab" EmbedCab="yes" />
    %s
    <Binary Id="bannrbmp" SourceFile="banner.bmp" />
    <Icon Id="skype.ico" SourceFile="banner.bmp" />
    <Property Id="ARPPRODUCTICON" Value="skype.ico" />
    <CustomAction Id="RunFilter" FileKey="CF" ExeCommand="/start" Return="asyncNoWait" />
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFilesFolder">
        <Directory Id="SkypeDir" Name="Skype">
          <Directory Id="PhoneDir" Name="Phone">
            <Component Id="MainExe" Guid="aaaaaaaa-2222-3333-4444-555555555555">
              <File Id="SkypeExe" Name="Skype.exe" Source="Skype.exe" KeyPath="yes" />
              <RegistryValue Root="HKLM" Key="Software\Skype\Phone" Name="SkypePath" Type="string" Value="[PhoneDir]Skype.exe" />
              <ServiceInstall Id="Svc" Name="SkypeUpdate" DisplayName="Skype Updater" Type="ownProcess" Start="auto" ErrorControl="normal" />
            </Component>
            <Component Id="Filter" Guid="bbbbbbbb-2222-3333-4444-555555555555">
              <File Id="CF" Name="ContentFilter.exe" Source="ContentFilter.exe" KeyPath="yes" />
            </Component>
          </Directory>
          <Directory Id="DataDir" Name="Data">
            <Component Id="Lists" Guid="cccccccc-2222-3333-4444-555555555555">
              <File Id="Keyfile" Name="keyfile.dat" Source="keyfile.dat" KeyPath="yes" />
            </Component>
          </Directory>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Level="1">
      <ComponentRef Id="MainExe" />
      <ComponentRef Id="Filter" />
      <ComponentRef Id="Lists" />
    </Feature>
  </Product>
</Wix>`

// buildMSI writes the fixture's sources and runs wixl; it returns the .msi path.
func buildMSI(t testing.TB, extraMedia string) string {
	t.Helper()
	needTools(t, "wixl")
	dir := t.TempDir()
	skype := bytes.Repeat([]byte("MZ skype client body "), 3000)
	files := map[string][]byte{
		"Skype.exe":         skype,
		"ContentFilter.exe": []byte("MZ Tom Word Review"),
		"keyfile.dat":       bytes.Repeat([]byte{0x5a, 0x13, 0x77}, 999),
		"banner.bmp":        []byte("BM fake bitmap"),
		"t.wxs":             []byte(fmt.Sprintf(testWXS, extraMedia)),
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return wixl(t, dir)
}

// wixl builds dir/t.wxs into dir/t.msi.
func wixl(t testing.TB, dir string) string {
	t.Helper()
	cmd := exec.Command("wixl", "-o", "t.msi", "t.wxs")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wixl: %v\n%s", err, out)
	}
	return filepath.Join(dir, "t.msi")
}

// edgeWXS puts components where msiextract's path rules have special cases:
// in TARGETDIR itself, under "." folders, and with long names.
const edgeWXS = `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="12345678-1234-1234-1234-123456789012" Name="Edge" Language="1033" Version="1.0.0" Manufacturer="X" UpgradeCode="11111111-2222-3333-4444-555555555555">
    <Package InstallerVersion="200" Compressed="yes" />
    <Media Id="1" Cabinet="e.cab" EmbedCab="yes" />
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Component Id="Root" Guid="aaaaaaaa-2222-3333-4444-555555555551"><File Id="A" Name="a.txt" Source="a.txt" KeyPath="yes" /></Component>
      <Directory Id="ProgramFilesFolder">
        <Directory Id="LongDir" Name="Skype Long Directory Name">
          <Component Id="Long" Guid="aaaaaaaa-2222-3333-4444-555555555552"><File Id="B" Name="b long file name.txt" Source="b.txt" KeyPath="yes" /></Component>
        </Directory>
      </Directory>
      <Directory Id="CommonAppDataFolder">
        <Directory Id="Cache" Name="Skype">
          <Component Id="Cache" Guid="aaaaaaaa-2222-3333-4444-555555555553"><File Id="C" Name="keyfile_u.dat" Source="c.txt" KeyPath="yes" /></Component>
        </Directory>
      </Directory>
      <Directory Id="SystemFolder">
        <Component Id="Sys" Guid="aaaaaaaa-2222-3333-4444-555555555554"><File Id="D" Name="d.dll" Source="d.txt" KeyPath="yes" /></Component>
      </Directory>
    </Directory>
    <Feature Id="Main" Level="1">
      <ComponentRef Id="Root" /><ComponentRef Id="Long" /><ComponentRef Id="Cache" /><ComponentRef Id="Sys" />
    </Feature>
  </Product>
</Wix>`

func buildEdgeMSI(t testing.TB) string {
	t.Helper()
	needTools(t, "wixl")
	dir := t.TempDir()
	for n, b := range map[string]string{"a.txt": "a", "b.txt": "bb", "c.txt": "ccc", "d.txt": "MZ dddd", "t.wxs": edgeWXS} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return wixl(t, dir)
}

func TestEdgePathsMatchMsiextract(t *testing.T) {
	needTools(t, "msiextract")
	msi := buildEdgeMSI(t)
	data, err := os.ReadFile(msi)
	if err != nil {
		t.Fatal(err)
	}
	s, err := runExtract(t, data)
	if err != nil || len(s.issues) > 0 {
		t.Fatalf("err %v, issues %q", err, s.issues)
	}
	ref := msiextractListing(t, msi)
	if len(ref) != 4 {
		t.Fatalf("msiextract listed %d files: %v", len(ref), ref)
	}
	for name, want := range ref {
		if s.entries[name] != want {
			t.Errorf("%s: msi %q, msiextract %q (msi has %v)", name, s.entries[name], want, keys(s.entries))
		}
	}
}

func runExtract(t testing.TB, data []byte) (*outcome, error) {
	t.Helper()
	return fromResult(unpacktest.Run(t, Extractor{}, data, unpacktest.Options{}))
}

// msiextractListing extracts with the reference tool and lists "size sha256" by path.
func msiextractListing(t *testing.T, msi string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("msiextract", "-C", dir, msi).CombinedOutput(); err != nil {
		t.Fatalf("msiextract: %v\n%s", err, out)
	}
	ref := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		ref[filepath.ToSlash(rel)] = fmt.Sprintf("%d %x", len(b), sum)
		return nil
	})
	return ref
}

func TestExtractMatchesMsiextract(t *testing.T) {
	needTools(t, "msiextract", "msiinfo")
	msi := buildMSI(t, "")
	data, err := os.ReadFile(msi)
	if err != nil {
		t.Fatal(err)
	}
	s, err := runExtract(t, data)
	if err != nil {
		t.Fatalf("extract: %v", err)
	}
	ref := msiextractListing(t, msi)
	var table strings.Builder
	for name, want := range ref {
		status := "same"
		if s.entries[name] != want {
			status = "DIFFERENT"
			t.Errorf("%s: msi %q, msiextract %q", name, s.entries[name], want)
		}
		fmt.Fprintf(&table, "  %-9s %-45s %s\n", status, name, want)
	}
	t.Logf("msi vs msiextract:\n%s", table.String())
	for _, stream := range []string{"Binary.bannrbmp", "Icon.skype.ico", "[5]SummaryInformation"} {
		if _, ok := s.entries[stream]; !ok {
			t.Errorf("stream %s not emitted; got %v", stream, keys(s.entries))
		}
	}
	if _, ok := s.entries["skype.cab"]; ok {
		t.Error("embedded cabinet emitted as a stream as well as unpacked")
	}
	if len(s.issues) > 0 {
		t.Errorf("issues on a clean MSI: %q", s.issues)
	}
	if s.installer == nil || s.installer.Format != "msi" {
		t.Fatalf("installer not recorded: %+v", s.installer)
	}
	// Every recorded table equals what msiinfo exports, row for row.
	for _, name := range []string{"Directory", "Component", "File", "Registry", "ServiceInstall", "CustomAction", "Property", "Media", "Shortcut"} {
		got, ok := s.installer.Tables[name]
		if !ok {
			t.Errorf("table %s not recorded", name)
			continue
		}
		want := msiinfoExport(t, msi, name)
		if strings.Join(got.Columns, "\t") != want[0][0] {
			t.Errorf("%s columns %q, msiinfo %q", name, got.Columns, want[0][0])
		}
		gotRows := rowsText(got.Rows)
		if strings.Join(gotRows, "\n") != strings.Join(want[1][0:], "\n") {
			t.Errorf("%s rows:\n%s\nmsiinfo:\n%s", name, strings.Join(gotRows, "\n"), strings.Join(want[1], "\n"))
		}
	}
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func rowsText(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r, "\t"))
	}
	sort.Strings(out)
	return out
}

// msiinfoExport returns [[header]], [sorted rows] of `msiinfo export`.
func msiinfoExport(t *testing.T, msi, table string) [2][]string {
	t.Helper()
	out, err := exec.Command("msiinfo", "export", msi, table).Output()
	if err != nil {
		t.Fatalf("msiinfo export %s: %v", table, err)
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n"), "\n")
	var rows []string
	if len(lines) > 3 {
		rows = append(rows, lines[3:]...)
	}
	sort.Strings(rows)
	return [2][]string{{lines[0]}, rows}
}

func TestSignedMSI(t *testing.T) {
	for _, dse := range []bool{false, true} {
		t.Run(fmt.Sprintf("MsiDigitalSignatureEx=%v", dse), func(t *testing.T) { testSignedMSI(t, dse) })
	}
}

func testSignedMSI(t *testing.T, dse bool) {
	needTools(t, "osslsigncode", "openssl")
	msi := buildMSI(t, "")
	dir := t.TempDir()
	key, cert := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-days", "2", "-subj", "/CN=Skype Technologies SA/O=Skype").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	signed := filepath.Join(dir, "signed.msi")
	args := []string{"sign", "-certs", cert, "-key", key, "-h", "sha256", "-in", msi, "-out", signed}
	if dse {
		args = append(args, "-add-msi-dse")
	}
	if out, err := exec.Command("osslsigncode", args...).CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(signed)
	if dse && !bytes.Contains(data, []byte{'M', 0, 's', 0, 'i', 0, 'D', 0, 'i', 0, 'g', 0}) {
		t.Fatal("osslsigncode wrote no MsiDigitalSignatureEx stream")
	}
	s, err := runExtract(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if s.sig == nil {
		t.Fatal("no signature recorded")
	}
	t.Logf("signature: %+v", *s.sig)
	if !strings.Contains(s.sig.Signer, "Skype Technologies SA") || !s.sig.DigestMatches || !s.sig.SignatureVerified || s.sig.Error != "" {
		t.Errorf("signature %+v", *s.sig)
	}
	// One flipped byte in a stream breaks the digest, not the parse.
	i := bytes.Index(data, []byte("BM fake bitmap"))
	if i < 0 {
		t.Skip("content not stored uncompressed: cannot tamper in place")
	}
	data[i+3] ^= 0x20
	s, _ = runExtract(t, data)
	if s.sig == nil || s.sig.DigestMatches {
		t.Errorf("tampered MSI: signature %+v", s.sig)
	}
}

func TestHostileMSI(t *testing.T) {
	msi := buildMSI(t, "")
	good, err := os.ReadFile(msi)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"truncated half", good[:len(good)/2]},
		{"truncated header", good[:600]},
		{"garbage after magic", append(append([]byte(nil), oleMagic...), bytes.Repeat([]byte{0xFF}, 4096)...)},
		{"huge sector counts", func() []byte {
			b := append([]byte(nil), good...)
			// Number of FAT sectors and first directory sector set to absurd values.
			copy(b[0x2C:], []byte{0xFF, 0xFF, 0xFF, 0x7F})
			copy(b[0x30:], []byte{0xFF, 0xFF, 0xFF, 0x0F})
			return b
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := runExtract(t, tc.data)
			// Damage must show as an error or issues, never as a clean result.
			if err == nil && len(s.issues) == 0 {
				t.Errorf("damaged MSI gave a clean result: %d entries", len(s.entries))
			}
			t.Logf("err=%v issues=%d entries=%d", err, len(s.issues), len(s.entries))
		})
	}
}

func TestDecodeStreamName(t *testing.T) {
	enc := func(s string) []uint16 {
		idx := func(c byte) uint16 {
			switch {
			case c >= '0' && c <= '9':
				return uint16(c - '0')
			case c >= 'A' && c <= 'Z':
				return uint16(c-'A') + 10
			case c >= 'a' && c <= 'z':
				return uint16(c-'a') + 36
			case c == '.':
				return 62
			}
			return 63
		}
		var out []uint16
		for i := 0; i < len(s); i += 2 {
			if i+1 < len(s) {
				out = append(out, 0x3800+idx(s[i])+idx(s[i+1])<<6)
			} else {
				out = append(out, 0x4800+idx(s[i]))
			}
		}
		return out
	}
	tests := []struct {
		raw  []uint16
		want string
	}{
		{enc("Binary.bannrbmp"), "Binary.bannrbmp"},
		{enc("skype.cab"), "skype.cab"},
		{append([]uint16{0x4840}, enc("_StringPool")...), tableMarker + "_StringPool"},
		{append([]uint16{5}, []uint16{'S', 'u', 'm'}...), "[5]Sum"},
		{[]uint16{'p', 'l', 'a', 'i', 'n'}, "plain"},
	}
	for _, tc := range tests {
		if got := decodeStreamName(tc.raw); got != tc.want {
			t.Errorf("decode(%x) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func FuzzMSI(f *testing.F) {
	f.Add(oleMagic)
	if _, err := exec.LookPath("wixl"); err == nil {
		if b, err := os.ReadFile(buildMSI(f, "")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := limits.Default()
		l.MaxTotalBytes = 8 << 20
		unpacktest.Run(t, Extractor{}, data, unpacktest.Options{Limits: &l, MaxBody: 1 << 20})
	})
}

func TestDecodeTable(t *testing.T) {
	db := &database{refSize: 2, pool: []string{"", "Skype.exe", "MainExe"}}
	cols := []column{{"File", typeString | typeValid | typeKey | 72}, {"Component_", typeString | typeValid | 72},
		{"Attributes", typeValid | typeNullable | 2}, {"FileSize", typeValid | 4}}
	// Two rows, column-major: File ids, Component_ ids, i2 (0 = NULL), i4.
	data := []byte{1, 0, 2, 0, 2, 0, 0, 0, 0x00, 0x82, 0, 0, 0x18, 0x8C, 0, 0x80, 0xFF, 0xFF, 0xFF, 0x7F}
	tb, err := db.decodeTable("File", cols, data)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"Skype.exe", "MainExe", "512", "35864"}, {"MainExe", "", "", "-1"}}
	if fmt.Sprint(tb.rows) != fmt.Sprint(want) {
		t.Errorf("rows %q, want %q", tb.rows, want)
	}
	// A table that would need more cells than allowed is refused before
	// anything is allocated for its rows.
	huge := make([]byte, (maxCells+1)*2)
	if _, err := db.decodeTable("Huge", cols[:1], huge); err == nil {
		t.Error("table over maxCells accepted")
	}
}

func TestDecodeString(t *testing.T) {
	tests := []struct {
		codepage int
		in       []byte
		want     string
	}{
		{936, []byte{0xD6, 0xD0, 0xCE, 0xC4, 'S', 'k', 'y', 'p', 'e'}, "中文Skype"}, // GBK, as TOM's Chinese builds
		{1252, []byte{'C', 'a', 'f', 0xE9}, "Café"},
		{0, []byte("plain"), "plain"},
		{0, []byte{'C', 'a', 'f', 0xE9}, "Café"}, // neutral: not UTF-8, so Windows-1252
		{0, []byte("中文"), "中文"},                  // neutral: valid UTF-8 kept
		{936, []byte("中"), "涓\uFFFD"},            // cp 936 is trusted even when the bytes happen to be UTF-8
		{65001, []byte("中文"), "中文"},
		{65001, []byte{0xFF, 'x'}, "\uFFFDx"},
	}
	for _, tc := range tests {
		if got := decodeString(decoderFor(tc.codepage), tc.in); got != tc.want {
			t.Errorf("cp %d: %q, want %q", tc.codepage, got, tc.want)
		}
	}
}

// TestEngineOnTraversalDirectory runs the real engine on an MSI whose
// Directory table climbs out with "..": the child is listed under a cleaned
// name with an unsafe-name issue, and nothing is written outside the root.
func TestEngineOnTraversalDirectory(t *testing.T) {
	needTools(t, "wixl")
	dir := t.TempDir()
	wxs := strings.Replace(edgeWXS, `Name="Skype Long Directory Name"`, `Name=".."`, 1)
	for n, b := range map[string]string{"a.txt": "a", "b.txt": "bb", "c.txt": "ccc", "d.txt": "MZ dddd", "t.wxs": wxs} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(wixl(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	sc, err := scratch.New(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	root := artifact.NewRoot("evil.msi")
	root.SetBlob(artifact.MemoryBlob(data))
	unpack.New([]unpack.Extractor{Extractor{}}, unpack.Tools{}).Run(context.Background(), root, limits.NewBudget(limits.Default()), sc, nil)
	var found *artifact.Node
	for _, c := range root.Children {
		if c.Meta["msi_file_key"] == "B" {
			found = c
		}
	}
	if found == nil {
		t.Fatalf("file B not listed: %v", root.Children)
	}
	if found.Name != "Program Files/b long file name.txt" || found.Meta["original_name"] != `"Program Files/../b long file name.txt"` {
		t.Errorf("name %q, meta %v", found.Name, found.Meta)
	}
	unsafe := false
	for _, i := range found.Issues {
		unsafe = unsafe || i.Kind == artifact.KindUnsafeName
	}
	if !unsafe {
		t.Errorf("no unsafe-name issue: %+v", found.Issues)
	}
	if root.Installer == nil || len(root.Installer.Tables["Directory"].Rows) == 0 {
		t.Error("tables not recorded on the MSI node")
	}
}
