// Package ipabuild writes iOS app packages (IPA) for the corpus and the
// tests: a deterministic ZIP with Payload/<name>.app/ holding the
// executable, Info.plist (XML or binary), <lang>.lproj folders, an optional
// embedded.mobileprovision (a CMS-signed plist) and an optional
// iTunesMetadata.plist at the top, as the App Store delivers it.
package ipabuild

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"sort"
	"time"

	"github.com/ayoubfaouzi/pkcs7"
	hplist "howett.net/plist"
)

// Spec is one IPA.
type Spec struct {
	AppName      string                       // bundle folder name without .app: "Skype"
	Executable   string                       // CFBundleExecutable; the file Payload/<AppName>.app/<Executable>
	Binary       []byte                       // the executable's bytes
	Info         map[string]any               // Info.plist
	BinaryInfo   bool                         // write Info.plist as a binary plist (else XML)
	Lproj        map[string]map[string]string // <lang>.lproj/Localizable.strings: key -> value (UTF-16 text, as Xcode writes)
	ITunes       map[string]any               // iTunesMetadata.plist (XML); nil: none
	Provision    map[string]any               // embedded.mobileprovision's plist; nil: none
	ProvCert     *x509.Certificate
	ProvKey      crypto.PrivateKey
	ProvChain    []*x509.Certificate
	ExtraFiles   map[string][]byte // more bundle files, by name inside the .app
	ModifiedTime time.Time         // every entry's time (deterministic output)
}

// Plist encodes v as XML (binary false) or binary.
func Plist(v any, binary bool) ([]byte, error) {
	f := hplist.XMLFormat
	if binary {
		f = hplist.BinaryFormat
	}
	if !binary {
		return hplist.MarshalIndent(v, f, "\t")
	}
	return hplist.Marshal(v, f)
}

// Build returns the IPA's bytes.
func Build(s Spec) ([]byte, error) {
	app := "Payload/" + s.AppName + ".app/"
	files := map[string][]byte{}
	info, err := Plist(s.Info, s.BinaryInfo)
	if err != nil {
		return nil, fmt.Errorf("ipabuild: Info.plist: %w", err)
	}
	files[app+"Info.plist"] = info
	files[app+s.Executable] = s.Binary
	files[app+"PkgInfo"] = []byte("APPL????")
	for lang, strs := range s.Lproj {
		files[app+lang+".lproj/Localizable.strings"] = stringsFile(strs)
	}
	for name, b := range s.ExtraFiles {
		files[app+name] = b
	}
	if s.ITunes != nil {
		if files["iTunesMetadata.plist"], err = Plist(s.ITunes, false); err != nil {
			return nil, fmt.Errorf("ipabuild: iTunesMetadata.plist: %w", err)
		}
	}
	if s.Provision != nil {
		content, err := Plist(s.Provision, false)
		if err != nil {
			return nil, fmt.Errorf("ipabuild: provision plist: %w", err)
		}
		if files[app+"embedded.mobileprovision"], err = SignCMS(content, s.ProvCert, s.ProvKey, s.ProvChain); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	mt := s.ModifiedTime
	if mt.IsZero() {
		mt = time.Date(2013, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	dirs := map[string]bool{}
	for _, n := range names {
		// folder entries first, as Xcode's and iTunes' IPAs have them
		for i := 0; i < len(n); i++ {
			if n[i] == '/' && !dirs[n[:i+1]] {
				dirs[n[:i+1]] = true
				if _, err := zw.CreateHeader(&zip.FileHeader{Name: n[:i+1], Method: zip.Store, Modified: mt}); err != nil {
					return nil, err
				}
			}
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: mt})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SignCMS wraps content in a CMS SignedData (content attached, no signed
// attributes, so deterministic), as a provisioning profile is.
func SignCMS(content []byte, cert *x509.Certificate, key crypto.PrivateKey, chain []*x509.Certificate) ([]byte, error) {
	if cert == nil {
		return nil, fmt.Errorf("ipabuild: a provisioning profile needs a signing certificate")
	}
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, fmt.Errorf("ipabuild: CMS: %w", err)
	}
	if err := sd.SignWithoutAttr(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("ipabuild: CMS: %w", err)
	}
	for _, c := range chain {
		sd.AddCertificate(c)
	}
	return sd.Finish()
}

// stringsFile writes a .strings file in UTF-16LE with a BOM, keys sorted.
func stringsFile(m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var text string
	for _, k := range keys {
		text += fmt.Sprintf("%q = %q;\n", k, m[k])
	}
	out := []byte{0xff, 0xfe}
	for _, r := range text {
		if r > 0xffff {
			r = '?'
		}
		out = append(out, byte(r), byte(r>>8))
	}
	return out
}
