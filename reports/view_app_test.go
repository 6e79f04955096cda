package reports_test

import (
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/ios"
	"github.com/tomscan/tomscan/macho"
	"github.com/tomscan/tomscan/reports"
)

// TestAppSections: an IPA build's page lists the app and its Mach-O, with
// every string from the bundle escaped like any string from a binary.
func TestAppSections(t *testing.T) {
	const hostile = "<script>alert(1)</script>\u202e|**x**"
	root := artifact.NewRoot("app.ipa")
	root.SHA256 = strings.Repeat("a", 64)
	root.Type = "ipa"
	root.IOS = &ios.App{Bundle: "Payload/Skype.app", BundleID: "com.skype.gmw", DisplayName: hostile, BuildVersion: "5.0.0.3120",
		ITunes: &ios.ITunesMetadata{Storefront: 143465, Country: "CN"}, BackgroundModes: []string{"voip", hostile}}
	exe := root.NewChild("Payload/Skype.app/Skype", "zip")
	exe.SHA256 = strings.Repeat("b", 64)
	exe.Type = "macho"
	exe.MachO = &macho.Summary{Slices: []macho.Slice{{CPU: "arm64", Bits: 64, FileType: "execute",
		Encryption: &macho.Encryption{Command: "LC_ENCRYPTION_INFO_64", CryptID: 1, CryptSize: 4096},
		Signature:  &macho.CodeSignature{Identifier: hostile, TeamID: "GMWJV00001", AdHoc: true}}}}
	root.Children = []*artifact.Node{exe}
	r := &reports.Report{SchemaVersion: reports.SchemaVersion, Tree: root, Status: reports.StatusPartial}

	md := string(reports.EncodeMarkdown(r))
	for _, want := range []string{`## iOS app app.ipa`, `## Mach-O app.ipa!Payload/Skype.app/Skype`, "143465 CN", "cryptid 1", "GMWJV00001"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "\u202e", "**x**"} {
		if strings.Contains(md, bad) {
			t.Errorf("Markdown carries %q unescaped", bad)
		}
	}
	h, err := reports.EncodeHTML(r)
	if err != nil {
		t.Fatal(err)
	}
	page := string(reports.WithoutOwnScript(h))
	if !strings.Contains(page, "143465 CN") || !strings.Contains(page, "iOS app app.ipa") {
		t.Error("HTML lacks the app section")
	}
	for _, bad := range []string{"<script", "\u202e"} {
		if strings.Contains(page, bad) {
			t.Errorf("HTML carries %q unescaped", bad)
		}
	}
	if v := reports.BuildVersion(root); v != "5.0.0.3120" {
		t.Errorf("build version %q", v)
	}
}
