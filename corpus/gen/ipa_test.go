package gen

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/tomscan/tomscan/macho"
)

// TestIPADeterministicAndShaped builds two iOS specs twice: the bytes are
// identical, and the executable is what the spec says (universal or thin,
// cryptid 1 when encrypted, signed with the bundle id and team).
func TestIPADeterministicAndShaped(t *testing.T) {
	specs, err := LoadIPASpecs(filepath.Join("..", "specs", "ios"))
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) < 5 {
		t.Fatalf("%d iOS specs", len(specs))
	}
	g := &Generator{cfg: Config{CertDir: filepath.Join("..", "testdata", "certs")}}
	for _, id := range []string{"gmw-ios-zh-5.0.0.3120-ipa", "skype-ios-en-4.17.0.3303-ipa"} {
		var s *IPASpec
		for _, x := range specs {
			if x.ID == id {
				s = x
			}
		}
		if s == nil {
			t.Fatalf("no spec %s", id)
		}
		a, ba, err := g.buildIPA(context.Background(), s, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := g.buildIPA(context.Background(), s, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two builds differ", id)
		}
		zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
		if err != nil {
			t.Fatal(err)
		}
		var exe []byte
		for _, f := range zr.File {
			if f.Name == "Payload/"+s.AppName+".app/"+s.AppName {
				rc, _ := f.Open()
				exe, _ = io.ReadAll(rc)
				rc.Close()
			}
		}
		sum, err := macho.Analyze(context.Background(), exe, macho.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Fat != s.Universal || (s.Universal && len(sum.Slices) != 2) {
			t.Errorf("%s: fat %v with %d slices, spec universal %v", id, sum.Fat, len(sum.Slices), s.Universal)
		}
		arm := sum.Slices[0]
		if enc := arm.Encryption != nil && arm.Encryption.CryptID == 1; enc != s.Encrypted {
			t.Errorf("%s: encrypted %v, spec %v", id, enc, s.Encrypted)
		}
		if cs := arm.Signature; cs == nil || cs.Identifier != s.BundleID || cs.TeamID != s.TeamID || cs.AdHoc || len(cs.Signers) == 0 {
			t.Errorf("%s: signature %+v", id, cs)
		}
		if ba.Kind != s.Kind || len(ba.Files) == 0 || ba.Files[len(ba.Files)-1].Path[0] != id+".ipa" {
			t.Errorf("%s: manifest build %+v", id, ba)
		}
	}
}
