package diff

import (
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/ios"
	"github.com/tomscan/tomscan/macho"
	"github.com/tomscan/tomscan/reports"
)

func ipaReport(bundle, storefrontCountry string, storefront int, modes, plain []string, team string, encrypted bool) *reports.Report {
	root := artifact.NewRoot("app.ipa")
	root.SHA256 = strings.Repeat(bundle[len(bundle)-1:], 64)
	root.Type = "ipa"
	app := &ios.App{Bundle: "Payload/Skype.app", Executable: "Payload/Skype.app/Skype", BundleID: bundle, BuildVersion: "1.0",
		BackgroundModes: modes, ITunes: &ios.ITunesMetadata{Storefront: storefront, Country: storefrontCountry}, ATS: &ios.ATS{}}
	for _, h := range plain {
		app.ATS.Exceptions = append(app.ATS.Exceptions, ios.ATSException{Domain: h, InsecureHTTP: true})
	}
	root.IOS = app
	exe := root.NewChild("Payload/Skype.app/Skype", "zip")
	exe.SHA256 = root.SHA256
	sl := macho.Slice{CPU: "arm64", Dylibs: []macho.Dylib{{Name: "/usr/lib/libSystem.B.dylib", Kind: "load"}},
		Signature: &macho.CodeSignature{Identifier: bundle, TeamID: team,
			Entitlements: `<plist version="1.0"><dict><key>application-identifier</key><string>` + team + "." + bundle + `</string></dict></plist>`}}
	if encrypted {
		sl.Encryption = &macho.Encryption{Command: "LC_ENCRYPTION_INFO_64", CryptID: 1, CryptSize: 16}
	}
	exe.MachO = &macho.Summary{Slices: []macho.Slice{sl}}
	root.Children = []*artifact.Node{exe}
	return &reports.Report{SchemaVersion: reports.SchemaVersion, Tree: root}
}

// TestIPAFieldsSideBySide: the diff of two IPAs sets bundle id, storefront,
// background modes, plain-HTTP hosts, team, entitlements and encryption
// side by side.
func TestIPAFieldsSideBySide(t *testing.T) {
	a := ipaReport("com.skype.skype", "US", 143441, []string{"voip", "audio"}, nil, "SKYPE00001", false)
	b := ipaReport("com.skype.gmw", "CN", 143465, []string{"voip", "audio", "location"}, []string{"gmw.cn"}, "GMWJV00001", true)
	d := Compare("a", a, "b", b)
	got := map[string]string{}
	for _, c := range d.VersionChanges {
		got[c.Field] = c.A + " -> " + c.B
	}
	for field, want := range map[string]string{
		"build version":                   "1.0 -> 1.0",
		"Info.plist/CFBundleIdentifier":   "com.skype.skype -> com.skype.gmw",
		"iTunesMetadata/storefront":       "143441 US -> 143465 CN",
		"Info.plist/UIBackgroundModes":    "audio, voip -> audio, location, voip",
		"Info.plist/ATS plain-HTTP hosts": " -> gmw.cn",
		"Mach-O/team":                     "SKYPE00001 -> GMWJV00001",
		"Mach-O/entitlements (arm64)":     "application-identifier=SKYPE00001.com.skype.skype -> application-identifier=GMWJV00001.com.skype.gmw",
		"Mach-O/encrypted":                " -> cryptid 1",
		"Mach-O/signature identifier":     "com.skype.skype -> com.skype.gmw",
	} {
		if field == "build version" {
			continue // equal: not a change
		}
		if got[field] != want {
			t.Errorf("%s: %q, want %q", field, got[field], want)
		}
	}
	if _, ok := got["Mach-O/linked libraries"]; ok {
		t.Error("equal linked libraries listed as a change")
	}
	if !strings.Contains(string(d.Text()), "143465 CN") {
		t.Errorf("text diff lacks the storefront:\n%s", d.Text())
	}
}
