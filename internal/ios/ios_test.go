package ios

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/ios/ipabuild"
	"github.com/tomscan/tomscan/internal/plist"
	"github.com/tomscan/tomscan/internal/plist/plisttest"
	"github.com/tomscan/tomscan/macho"
)

func cert(t testing.TB) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Apple iPhone OS Provisioning Profile Signing (SYNTHETIC)", Organization: []string{"Test"}},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func chinaSpec(t testing.TB, binaryInfo bool) ipabuild.Spec {
	c, k := cert(t)
	return ipabuild.Spec{
		AppName: "Skype", Executable: "Skype", Binary: []byte("not a real binary"), BinaryInfo: binaryInfo,
		Info: map[string]any{
			"CFBundleIdentifier": "com.skype.gmw", "CFBundleExecutable": "Skype", "CFBundleName": "Skype",
			"CFBundleDisplayName": "Skype", "CFBundleShortVersionString": "4.13", "CFBundleVersion": "4.13.1",
			"MinimumOSVersion": "5.0", "CFBundleDevelopmentRegion": "zh_CN",
			"CFBundleLocalizations": []any{"zh_CN"},
			"CFBundleURLTypes":      []any{map[string]any{"CFBundleURLName": "skype", "CFBundleURLSchemes": []any{"skype", "skypegmw"}}},
			"UIBackgroundModes":     []any{"voip", "audio"},
			"NSAppTransportSecurity": map[string]any{"NSExceptionDomains": map[string]any{
				"gmw.cn":      map[string]any{"NSIncludesSubdomains": true, "NSExceptionAllowsInsecureHTTPLoads": true},
				"skype.com":   map[string]any{"NSExceptionMinimumTLSVersion": "TLSv1.2"},
				"tom.example": map[string]any{"NSThirdPartyExceptionAllowsInsecureHTTPLoads": true, "NSExceptionRequiresForwardSecrecy": false},
			}},
		},
		Lproj: map[string]map[string]string{"zh_CN": {"Welcome": "欢迎使用光明网 Skype"}, "Base": {"Welcome": "Welcome"}},
		ITunes: map[string]any{"itemId": uint64(504631398), "itemName": "Skype", "artistName": "光明网 (Guangming Online)",
			"genre": "Social Networking", "releaseDate": "2013-11-05T08:00:00Z", "softwareVersionBundleId": "com.skype.gmw",
			"bundleShortVersionString": "4.13", "s": uint64(143465)},
		Provision: map[string]any{"Name": "Skype GMW Distribution", "AppIDName": "Skype GMW", "TeamIdentifier": []any{"GMWJV00001"},
			"TeamName": "Guangming Online JV", "UUID": "0E8D3B0C-0000-4000-8000-000000000001",
			"CreationDate": time.Date(2013, 10, 1, 0, 0, 0, 0, time.UTC), "ExpirationDate": time.Date(2014, 10, 1, 0, 0, 0, 0, time.UTC),
			"Entitlements": map[string]any{"application-identifier": "GMWJV00001.com.skype.gmw", "get-task-allow": false,
				"keychain-access-groups": []any{"GMWJV00001.*"}}},
		ProvCert: c, ProvKey: k,
	}
}

func build(t testing.TB, s ipabuild.Spec) []byte {
	t.Helper()
	b, err := ipabuild.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnalyzeIPA(t *testing.T) {
	for _, binaryInfo := range []bool{false, true} {
		b := build(t, chinaSpec(t, binaryInfo))
		app, err := Analyze(context.Background(), b)
		if err != nil || app == nil {
			t.Fatalf("app %v err %v", app, err)
		}
		if len(app.Issues) != 0 {
			t.Errorf("issues %+v", app.Issues)
		}
		wantFormat := plist.FormatXML
		if binaryInfo {
			wantFormat = plist.FormatBinary
		}
		if app.InfoPlist != wantFormat || app.Bundle != "Payload/Skype.app" || app.Executable != "Payload/Skype.app/Skype" ||
			app.BundleID != "com.skype.gmw" || app.DisplayName != "Skype" || app.ShortVersion != "4.13" || app.BuildVersion != "4.13.1" ||
			app.MinimumOS != "5.0" || app.DevelopmentLang != "zh_CN" {
			t.Errorf("identity: %+v", app)
		}
		eq := func(what string, got, want any) {
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %v, want %v", what, got, want)
			}
		}
		eq("localizations", app.Localizations, []string{"zh_CN"})
		eq("lproj", app.LprojFolders, []string{"Base", "zh_CN"})
		eq("url schemes", app.URLSchemes, []string{"skype", "skypegmw"})
		eq("background modes", app.BackgroundModes, []string{"voip", "audio"})
		eq("ats", app.ATS.Exceptions, []ATSException{
			{Domain: "gmw.cn", IncludesSubdomains: true, InsecureHTTP: true},
			{Domain: "skype.com", MinimumTLS: "TLSv1.2"},
			{Domain: "tom.example", InsecureHTTP: true, NoForwardSecr: true}})
		eq("itunes", *app.ITunes, ITunesMetadata{ItemID: "504631398", ItemName: "Skype", Artist: "光明网 (Guangming Online)",
			Genre: "Social Networking", ReleaseDate: "2013-11-05T08:00:00Z", BundleID: "com.skype.gmw", Version: "4.13",
			Storefront: 143465, Country: "CN", CountryName: "China"})
		p := app.Provision
		if p == nil || p.Name != "Skype GMW Distribution" || !reflect.DeepEqual(p.TeamIDs, []string{"GMWJV00001"}) || p.TeamName != "Guangming Online JV" ||
			p.Expires != "2014-10-01T00:00:00Z" || len(p.Signers) != 1 || !strings.Contains(p.Signers[0], "Provisioning Profile Signing") {
			t.Errorf("provision %+v", p)
		}
		eq("entitlements", p.Entitlements, []string{"application-identifier=GMWJV00001.com.skype.gmw", "get-task-allow=false", "keychain-access-groups=[GMWJV00001.*]"})
	}
}

// TestPlistsAgainstPlistlib: every plist in the IPA (Info.plist XML and
// binary, iTunesMetadata.plist, the profile's plist) decodes as plistlib
// reads it, and the App's fields are plistlib's values.
func TestPlistsAgainstPlistlib(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	for _, binaryInfo := range []bool{false, true} {
		b := build(t, chinaSpec(t, binaryInfo))
		n := CheckPlists(t, b)
		if n != 3 {
			t.Errorf("%d plists compared, want 3", n)
		}
	}
}

// CheckPlists compares every plist of an IPA with plistlib and the App's
// identity fields with plistlib's values; it returns how many plists.
func CheckPlists(t *testing.T, ipa []byte) int {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(ipa), int64(len(ipa)))
	if err != nil {
		t.Fatal(err)
	}
	app, err := Analyze(context.Background(), ipa)
	if err != nil || app == nil {
		t.Fatalf("not an IPA: %v", err)
	}
	n := 0
	for _, f := range zr.File {
		var raw []byte
		switch {
		case strings.HasSuffix(f.Name, ".plist"):
			raw = readZip(t, f)
		case strings.HasSuffix(f.Name, "embedded.mobileprovision"):
			raw = provisionContent(t, readZip(t, f))
		default:
			continue
		}
		v, _, err := plist.Decode(raw)
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		if ok, diff := plisttest.Equal(t, raw, v); !ok {
			t.Errorf("%s:\n%s", f.Name, diff)
		}
		n++
		if f.Name == app.Bundle+"/Info.plist" {
			py, _ := plisttest.Python(t, raw).(map[string]any)
			for key, got := range map[string]string{"CFBundleIdentifier": app.BundleID, "CFBundleDisplayName": app.DisplayName,
				"CFBundleShortVersionString": app.ShortVersion, "CFBundleVersion": app.BuildVersion, "MinimumOSVersion": app.MinimumOS} {
				if want, _ := py[key].(string); want != got {
					t.Errorf("%s: ours %q, plistlib %q", key, got, want)
				}
			}
		}
	}
	return n
}

func readZip(t *testing.T, f *zip.File) []byte {
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// provisionContent takes the plist out of the CMS envelope with openssl,
// not with our parser.
func provisionContent(t *testing.T, der []byte) []byte {
	cmd := exec.Command("openssl", "cms", "-verify", "-noverify", "-inform", "DER", "-nosigs")
	cmd.Stdin = bytes.NewReader(der)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl cms: %v", err)
	}
	return out
}

func TestNotAnIPAAndDamaged(t *testing.T) {
	// a ZIP without Payload/*.app is not an IPA
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("Payload/readme.txt")
	w.Write([]byte("x"))
	zw.Close()
	if app, err := Analyze(context.Background(), buf.Bytes()); app != nil || err != nil {
		t.Errorf("plain zip: %v %v", app, err)
	}
	if app, _ := Analyze(context.Background(), []byte("not a zip")); app != nil {
		t.Error("garbage taken for an IPA")
	}

	s := chinaSpec(t, false)
	s.ExtraFiles = map[string][]byte{"embedded.mobileprovision": []byte("garbage")}
	s.Provision = nil
	s.Info["CFBundleExecutable"] = "../evil"
	app, err := Analyze(context.Background(), build(t, s))
	if err != nil || app == nil {
		t.Fatal(err)
	}
	msgs := ""
	for _, is := range app.Issues {
		msgs += is.Kind + ": " + is.Message + "\n"
	}
	for _, want := range []string{"CFBundleExecutable \"../evil\"", "embedded.mobileprovision: CMS"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("issues %q lack %q", msgs, want)
		}
	}
	if app.Executable != "" || app.BundleID != "com.skype.gmw" {
		t.Errorf("app %+v", app)
	}

	// a deeply nested Info.plist is refused by the plist decoder, as an issue
	s = chinaSpec(t, false)
	s.Provision = nil
	b := build(t, s)
	deep := rewrite(t, b, "Payload/Skype.app/Info.plist", []byte("<plist>"+strings.Repeat("<array>", 5000)+strings.Repeat("</array>", 5000)+"</plist>"))
	app, _ = Analyze(context.Background(), deep)
	if app == nil || len(app.Issues) == 0 || !strings.Contains(app.Issues[0].Message, "nesting deeper") {
		t.Errorf("deep Info.plist: %+v", app)
	}
}

func rewrite(t *testing.T, ipa []byte, name string, content []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(ipa), int64(len(ipa)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		w, _ := zw.Create(f.Name)
		if f.Name == name {
			w.Write(content)
		} else {
			w.Write(readZip(t, f))
		}
	}
	zw.Close()
	return buf.Bytes()
}

func TestStorefront(t *testing.T) {
	for in, want := range map[string]string{"143465": "CN", "143465-19,29": "CN", "143441": "US", "1": "", "x": ""} {
		if _, c, _ := Storefront(in); c != want {
			t.Errorf("%s: %s, want %s", in, c, want)
		}
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add(build(f, chinaSpec(f, true)))
	f.Add(build(f, chinaSpec(f, false)))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Analyze(context.Background(), b)
	})
}

// TestCorpusPlists: every plist in every IPA of $TOMSCAN_CORPUS equals
// plistlib's reading, and the identity fields are plistlib's values.
func TestCorpusPlists(t *testing.T) {
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS not set")
	}
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Fatal("no /usr/bin/python3")
	}
	ipas, _ := filepath.Glob(filepath.Join(dir, "builds", "*.ipa"))
	if len(ipas) == 0 {
		t.Fatal("no IPA builds in the corpus")
	}
	n := 0
	for _, p := range ipas {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n += CheckPlists(t, b)
		n += checkEntitlements(t, b)
	}
	t.Logf("%d plists in %d corpus IPAs equal plistlib", n, len(ipas))
}

// checkEntitlements: the entitlements plist in every Mach-O code signature
// of the IPA equals plistlib's reading; it returns how many.
func checkEntitlements(t *testing.T, ipa []byte) int {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(ipa), int64(len(ipa)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range zr.File {
		b := readZip(t, f)
		if !macho.IsMachO(b) {
			continue
		}
		sum, err := macho.Analyze(context.Background(), b, macho.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, sl := range sum.Slices {
			if sl.Signature == nil || sl.Signature.Entitlements == "" {
				continue
			}
			raw := []byte(sl.Signature.Entitlements)
			v, _, err := plist.Decode(raw)
			if err != nil {
				t.Errorf("%s entitlements: %v", f.Name, err)
				continue
			}
			if ok, diff := plisttest.Equal(t, raw, v); !ok {
				t.Errorf("%s entitlements:\n%s", f.Name, diff)
			}
			n++
		}
	}
	return n
}
