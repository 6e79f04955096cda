package macho

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/macho/machobuild"
)

const testEntitlements = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>application-identifier</key><string>ABCDE12345.com.skype.gmw</string>
<key>com.apple.developer.team-identifier</key><string>ABCDE12345</string>
<key>aps-environment</key><string>production</string>
</dict></plist>
`

func testCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *rsa.PrivateKey) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"Test Org"}},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0), IsCA: parent == nil, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func TestCodeSignatureWithSignerAndEntitlements(t *testing.T) {
	f := goFixtures(t)
	root, rootKey := testCert(t, "Test Root CA", nil, nil)
	leaf, leafKey := testCert(t, "iPhone Distribution: Test JV (ABCDE12345)", root, rootKey)
	signed, err := machobuild.Sign(f.arm64, machobuild.SignOptions{Identifier: "com.skype.gmw", TeamID: "ABCDE12345",
		Entitlements: []byte(testEntitlements), Cert: leaf, Key: leafKey, Chain: []*x509.Certificate{root}})
	if err != nil {
		t.Fatal(err)
	}
	s := analyze(t, signed)
	if len(s.Issues) != 0 {
		t.Fatalf("issues %v", issueKinds(s))
	}
	cs := s.Slices[0].Signature
	if cs == nil || cs.Identifier != "com.skype.gmw" || cs.TeamID != "ABCDE12345" || cs.AdHoc || cs.Entitlements != testEntitlements {
		t.Fatalf("signature %+v", cs)
	}
	if len(cs.Signers) != 2 || cs.Signers[0] != "CN=iPhone Distribution: Test JV (ABCDE12345),O=Test Org" || cs.Signers[1] != "CN=Test Root CA,O=Test Org" {
		t.Errorf("signers %q", cs.Signers)
	}
	// CDHash: SHA-256 of the CodeDirectory blob, first 20 bytes. Find the
	// blob independently of the parser: slot 0 of the SuperBlob.
	sb := signed[cs.Offset:]
	cdOff := binary.BigEndian.Uint32(sb[16:])
	cdLen := binary.BigEndian.Uint32(sb[cdOff+4:])
	h := sha256.Sum256(sb[cdOff : cdOff+cdLen])
	if cs.Directories[0].CDHash != hex.EncodeToString(h[:20]) {
		t.Errorf("cdhash %s, want %x", cs.Directories[0].CDHash, h[:20])
	}
	// The ad-hoc Go signature and ours hash the same code pages.
	orig := analyze(t, f.arm64).Slices[0].Signature.Directories[0]
	if orig.CodeSlots != cs.Directories[0].CodeSlots {
		t.Errorf("code slots %d, Go linker's %d", cs.Directories[0].CodeSlots, orig.CodeSlots)
	}
}

// TestCodeSignatureDamaged: blob offsets and lengths past the SuperBlob are issues.
func TestCodeSignatureDamaged(t *testing.T) {
	f := goFixtures(t)
	s := analyze(t, f.arm64)
	off := s.Slices[0].Signature.Offset
	for _, tc := range []struct {
		name  string
		patch func(sb []byte)
		want  string
	}{
		{"blob offset past end", func(sb []byte) { binary.BigEndian.PutUint32(sb[16:], 1<<30) }, "lies past the SuperBlob"},
		{"blob count huge", func(sb []byte) { binary.BigEndian.PutUint32(sb[8:], 1<<30) }, "blobs declared"},
		{"CodeDirectory length huge", func(sb []byte) {
			cd := binary.BigEndian.Uint32(sb[16:])
			binary.BigEndian.PutUint32(sb[cd+4:], 1<<30)
		}, "runs past the SuperBlob"},
	} {
		b := append([]byte(nil), f.arm64...)
		tc.patch(b[off:])
		got, err := Analyze(context.Background(), b, Options{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, is := range got.Issues {
			found = found || is.Kind == IssueParse && strings.Contains(is.Message, tc.want)
		}
		if !found {
			t.Errorf("%s: issues %v", tc.name, issueKinds(got))
		}
	}
}
