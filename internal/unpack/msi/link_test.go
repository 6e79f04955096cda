package msi

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/internal/unpack/cab"
	"github.com/tomscan/tomscan/internal/unpack/unpacktest"
	uzip "github.com/tomscan/tomscan/internal/unpack/zip"
)

// externalWXS keeps every file in an external cabinet, Data1.cab, shipped
// beside the MSI (wixl records the Media row but writes no cabinet: the
// test makes it with gcab, its entries named by file key as Windows
// Installer requires).
const externalWXS = `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="12345678-1234-1234-1234-123456789012" Name="Skype" Language="1033" Version="5.1.4.10" Manufacturer="Skype Technologies SA" UpgradeCode="11111111-2222-3333-4444-555555555555">
    <Package InstallerVersion="200" Compressed="yes" />
    <Media Id="1" Cabinet="Data1.cab" EmbedCab="no" />
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFilesFolder">
        <Directory Id="SkypeDir" Name="Skype">
          <Directory Id="INSTALLDIR" Name="Phone">
            <Component Id="Client" Guid="11111111-1111-1111-1111-111111111111">
              <File Id="SkypeExe" Name="Skype.exe" Source="Skype.exe" KeyPath="yes" />
              <File Id="FilterExe" Name="ContentFilter.exe" Source="ContentFilter.exe" />
            </Component>
          </Directory>
        </Directory>
      </Directory>
      <Directory Id="CommonAppDataFolder">
        <Directory Id="Cache" Name="Skype">
          <Component Id="Lists" Guid="11111111-1111-1111-1111-111111111112"><File Id="Keyfile" Name="keyfile.dat" Source="keyfile.dat" KeyPath="yes" /></Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Level="1"><ComponentRef Id="Client" /><ComponentRef Id="Lists" /></Feature>
  </Product>
</Wix>`

// externalFixture builds the MSI and its external cabinet (without the file
// keys in drop) and returns both, plus msiextract's listing of the MSI
// with the full cabinet beside it: install path -> "size sha256".
func externalFixture(t *testing.T, drop ...string) (msiBytes, cabBytes []byte, ref map[string]string) {
	t.Helper()
	needTools(t, "wixl", "gcab", "msiextract")
	dir := t.TempDir()
	files := map[string][]byte{ // file key -> content
		"SkypeExe":  bytes.Repeat([]byte("MZ skype client body "), 3000),
		"FilterExe": []byte("MZ Tom Word Review"),
		"Keyfile":   bytes.Repeat([]byte{0x5a, 0x13, 0x77}, 999),
	}
	names := map[string]string{"SkypeExe": "Skype.exe", "FilterExe": "ContentFilter.exe", "Keyfile": "keyfile.dat"}
	if err := os.MkdirAll(filepath.Join(dir, "cab"), 0o755); err != nil {
		t.Fatal(err)
	}
	for key, b := range files {
		if err := os.WriteFile(filepath.Join(dir, names[key]), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cab", key), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "t.wxs"), []byte(externalWXS), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(d string, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = d
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	run(dir, "wixl", "-o", "t.msi", "t.wxs")
	// Sequence order, as the File table numbers them.
	run(filepath.Join(dir, "cab"), "gcab", "-c", "-z", "../Data1.cab", "SkypeExe", "FilterExe", "Keyfile")
	ref = msiextractListing(t, filepath.Join(dir, "t.msi"))
	if len(ref) != 3 {
		t.Fatalf("msiextract found %d files beside the external cabinet, want 3: %v", len(ref), ref)
	}
	if len(drop) > 0 {
		var keep []string
		for _, k := range []string{"SkypeExe", "FilterExe", "Keyfile"} {
			if !slices.Contains(drop, k) {
				keep = append(keep, k)
			}
		}
		run(filepath.Join(dir, "cab"), "gcab", append([]string{"-c", "-z", "../Data1.cab"}, keep...)...)
	}
	msiBytes, err := os.ReadFile(filepath.Join(dir, "t.msi"))
	if err != nil {
		t.Fatal(err)
	}
	cabBytes, err = os.ReadFile(filepath.Join(dir, "Data1.cab"))
	if err != nil {
		t.Fatal(err)
	}
	return msiBytes, cabBytes, ref
}

var extractors = []unpack.Extractor{Extractor{}, cab.Extractor{}, uzip.Extractor{}}

// An MSI and its external cabinet side by side in one container: the
// cabinet's files get the install paths msiextract gives them, with equal
// bytes, and the MSI records where its cabinet was found.
func TestExternalCabinetLinkedLikeMsiextract(t *testing.T) {
	msiBytes, cabBytes, ref := externalFixture(t)
	zip := unpacktest.ZipOf(t, [2]string{"setup/Data1.cab", string(cabBytes)}, [2]string{"setup/SkypeSetup.msi", string(msiBytes)})
	root := unpacktest.RunEngine(context.Background(), t, extractors, "skype.zip", zip, limits.Default())
	msiNode := unpacktest.Find(root, "skype.zip", "setup/SkypeSetup.msi")
	cabNode := unpacktest.Find(root, "skype.zip", "setup/Data1.cab")
	if msiNode == nil || cabNode == nil || msiNode.Installer == nil {
		t.Fatalf("tree lacks the MSI or the cabinet: issues %v", unpacktest.Issues(root))
	}
	got := map[string]string{}
	for _, ch := range cabNode.Children {
		if p := ch.Meta["msi_install_path"]; p != "" {
			got[p] = fmt.Sprintf("%d %s", ch.Size, ch.SHA256)
			if ch.Meta["msi"] != msiNode.ID {
				t.Errorf("%s: meta msi %q, want %q", ch.ID, ch.Meta["msi"], msiNode.ID)
			}
		}
	}
	if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(ref)) {
		t.Errorf("linked files differ from msiextract:\n got  %v\n want %v", sorted(got), sorted(ref))
	}
	found := msiNode.Installer.Tables[ExternalCabinetsTable]
	if len(found.Rows) != 1 || found.Rows[0][1] != cabNode.ID || found.Rows[0][2] != "3" {
		t.Errorf("external_cabinets table %v", found.Rows)
	}
	if is := unpacktest.Issues(root); len(is) != 0 {
		t.Errorf("issues: %v", is)
	}
}

// An MSI whose external cabinet is not in the build, and one whose cabinet
// lacks a file: each is an issue on the MSI's node naming what is missing.
func TestExternalCabinetMissing(t *testing.T) {
	msiBytes, _, _ := externalFixture(t)
	root := unpacktest.RunEngine(context.Background(), t, extractors, "SkypeSetup.msi", msiBytes, limits.Default())
	if !hasIssue(root, artifact.KindExtract, `external cabinet "Data1.cab" is not beside the MSI in this build: its 3 files`) {
		t.Errorf("alone: issues %v", unpacktest.Issues(root))
	}

	msiBytes, cabBytes, _ := externalFixture(t, "FilterExe")
	zip := unpacktest.ZipOf(t, [2]string{"SkypeSetup.msi", string(msiBytes)}, [2]string{"data1.CAB", string(cabBytes)})
	root = unpacktest.RunEngine(context.Background(), t, extractors, "skype.zip", zip, limits.Default())
	msiNode := unpacktest.Find(root, "skype.zip", "SkypeSetup.msi")
	if msiNode == nil || !hasIssue(msiNode, artifact.KindExtract, "lacks 1 of the MSI's files: FilterExe") {
		t.Errorf("short cabinet: issues %v", unpacktest.Issues(root))
	}
}

func hasIssue(n *artifact.Node, kind, substr string) bool {
	for _, is := range n.Issues {
		if is.Kind == kind && strings.Contains(is.Message, substr) {
			return true
		}
	}
	return false
}

func sorted(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+" "+v)
	}
	sort.Strings(out)
	return out
}
