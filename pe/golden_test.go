package pe

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

// checkGolden compares got with testdata/name, or rewrites it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pe -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; diff with:\n  go test ./pe -run '%s' -update && git diff %s\ngot:\n%s", path, t.Name(), path, got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestAnalyzeGolden: the whole Summary of the fixture PE (built
// deterministically: no timestamp, stripped) against testdata.
func TestAnalyzeGolden(t *testing.T) {
	fx := buildFixtures(t)
	s, err := Analyze(context.Background(), fx.exe, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "fixture.summary.golden", mustJSON(t, s))

	// The facts the golden file must hold, stated so a bad -update is caught.
	if got := s.Version.Get("FileDescription"); got != "一号过滤器" {
		t.Errorf("FileDescription = %q, want 一号过滤器", got)
	}
	if len(s.Version.Tables) != 2 || s.Version.Tables[0].Key != "080404b0" || s.Version.Tables[1].Key != "040904b0" {
		t.Errorf("version tables = %+v, want 080404b0 then 040904b0", s.Version.Tables)
	}
	if s.Version.FileVersion != "3.8.0.188" || s.Version.ProductVersion != "3.8.0.0" {
		t.Errorf("fixed versions = %s / %s", s.Version.FileVersion, s.Version.ProductVersion)
	}
	wantTable := map[uint32]string{101: "欢迎使用TOM-Skype", 102: "内容过滤已启用", 117: "http://skypetools.tom.com/agent/keyfile"}
	for _, ts := range s.StringTable {
		if wantTable[ts.ID] != ts.Value || ts.Lang != 2052 {
			t.Errorf("string table %d/%d = %q", ts.ID, ts.Lang, ts.Value)
		}
		delete(wantTable, ts.ID)
	}
	if len(wantTable) != 0 {
		t.Errorf("string table misses %v", wantTable)
	}
	if len(s.Dialogs) != 2 || s.Dialogs[0].Caption != "关于 TOM-Skype" || s.Dialogs[0].Extended || !s.Dialogs[1].Extended ||
		s.Dialogs[1].Controls[0].Text != "Skype Technologies S.A." || s.Dialogs[0].Controls[1].Text != "确定" {
		t.Errorf("dialogs = %+v", s.Dialogs)
	}
	if !strings.Contains(s.Manifest, `name="TOM.Skype"`) {
		t.Errorf("manifest = %q", s.Manifest)
	}
	var rc *Resource
	for i := range s.Resources {
		if s.Resources[i].Type == "RCDATA" {
			rc = &s.Resources[i]
		}
	}
	if rc == nil || rc.Name != "CFEXE" || rc.NodeName() != "[rsrc]/RCDATA/CFEXE/1033" ||
		!bytes.HasPrefix(rc.Bytes(fx.exe), []byte("7z\xbc\xaf\x27\x1c")) || rc.Size != 70 {
		t.Errorf("RCDATA leaf = %+v", rc)
	}
	if s.Exports == nil || len(s.Exports.Functions) == 0 {
		t.Errorf("no exports")
	}
	if s.Signature != nil || s.Overlay != nil {
		t.Errorf("unsigned fixture has signature %+v overlay %+v", s.Signature, s.Overlay)
	}
}

// TestStringsGolden: the non-ASCII and TOM-related strings of the fixture,
// with where they lie.
func TestStringsGolden(t *testing.T) {
	fx := buildFixtures(t)
	s, err := Analyze(context.Background(), fx.exe, Options{})
	if err != nil {
		t.Fatal(err)
	}
	set := ExtractStrings(context.Background(), fx.exe, StringOptions{MinLength: 6, Max: 100000, Layout: s})
	var keep []String
	for _, str := range set.Strings {
		ascii := utf8.RuneCountInString(str.Value) == len(str.Value)
		if !ascii || strings.Contains(strings.ToLower(str.Value), "tom") || strings.Contains(strings.ToLower(str.Value), "skype") {
			keep = append(keep, str)
		}
	}
	checkGolden(t, "fixture.strings.golden", mustJSON(t, keep))
	want := map[string]string{ // value -> encoding@where
		"TOM在线内容过滤系统":   "gbk@.rdata",
		"一号过滤器":         "utf16le@[rsrc]/VERSION/1/1033",
		"欢迎使用TOM-Skype": "utf16le@[rsrc]/STRING/7/2052",
		"关于 TOM-Skype":  "utf16le@[rsrc]/DIALOG/100/1033",
		"确定":            "utf16le@[rsrc]/DIALOG/100/1033", // two hanzi make a string (issue 15)
	}
	for _, str := range keep {
		if w, ok := want[str.Value]; ok {
			if got := str.Encoding + "@" + str.Where; got != w {
				t.Errorf("%q found as %s, want %s", str.Value, got, w)
			}
			delete(want, str.Value)
		}
	}
	if len(want) != 0 {
		t.Errorf("strings not found: %v", want)
	}
}

// TestSignedFixture: Authenticode fields of the osslsigncode-signed fixture;
// the digest is ours, the trust verdict only against an explicit store.
func TestSignedFixture(t *testing.T) {
	fx := buildFixtures(t)
	s, err := Analyze(context.Background(), fx.signed, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sig := s.Signature
	if sig == nil {
		t.Fatalf("no signature; anomalies %v", s.Anomalies)
	}
	if sig.Signer != "/C=CN/O=TOM Online Inc./CN=TOM Online Test Signer" || sig.Issuer != sig.Signer {
		t.Errorf("signer %q issuer %q", sig.Signer, sig.Issuer)
	}
	if !sig.DigestMatches || !sig.SignatureVerified || sig.DigestAlgorithm != "sha256" || sig.SignedDigest != sig.ComputedDigest {
		t.Errorf("digest: %+v", sig)
	}
	if sig.SigningTime != "2008-12-23T02:40:00Z" {
		t.Errorf("signing time %q, want 2008-12-23T02:40:00Z", sig.SigningTime)
	}
	if sig.ChainTrusted != nil {
		t.Errorf("chain trusted %v without a trust store", *sig.ChainTrusted)
	}
	if s.Overlay == nil || s.Overlay.Type != "authenticode" {
		t.Errorf("overlay %+v, want the certificate table", s.Overlay)
	}
	block, _ := pem.Decode(fx.certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	// The chain is checked at the signing time: our throwaway certificate
	// was made today, so at the 2008 signing time it is not yet valid.
	s2, err := Analyze(context.Background(), fx.signed, Options{TrustRoots: roots})
	if err != nil {
		t.Fatal(err)
	}
	if ct := s2.Signature.ChainTrusted; ct == nil || *ct || !strings.Contains(s2.Signature.Error, "not yet valid") {
		t.Errorf("own root at signing time 2008: chain trusted %v (%s), want false, not yet valid", ct, s2.Signature.Error)
	}
	for _, tc := range []struct {
		name  string
		roots *x509.CertPool
		want  bool
	}{{"own root", roots, true}, {"empty store", x509.NewCertPool(), false}} {
		s, err := Analyze(context.Background(), fx.signed, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Signature.SigningTime = "" // check at the current time
		s.Signature.CheckChain(tc.roots)
		if ct := s.Signature.ChainTrusted; ct == nil || *ct != tc.want {
			t.Errorf("%s: chain trusted %v, want %v (%s)", tc.name, ct, tc.want, s.Signature.Error)
		}
	}
	// Patch one code byte: the signature still verifies, the digest no longer matches.
	tampered := append([]byte(nil), fx.signed...)
	tampered[s.Sections[0].RawOffset+16] ^= 0xff
	ts, err := Analyze(context.Background(), tampered, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ts.Signature.DigestMatches || !ts.Signature.SignatureVerified {
		t.Errorf("tampered: digest matches %v, signature verified %v", ts.Signature.DigestMatches, ts.Signature.SignatureVerified)
	}
	// The same PKCS#7 through the exported parser (MSI/CAB callers).
	sec := s.Overlay
	der := fx.signed[sec.Offset+8:]
	psig, dig, err := ParsePKCS7Signature(der)
	if err != nil {
		t.Fatal(err)
	}
	if psig.Signer != sig.Signer || dig.Hex() != sig.SignedDigest || dig.Algorithm != "sha256" || dig.New() == nil {
		t.Errorf("ParsePKCS7Signature: %+v %+v", psig, dig)
	}
}
