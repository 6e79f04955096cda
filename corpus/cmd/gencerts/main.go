// Command gencerts re-issues the corpus's synthetic signing certificates in
// corpus/testdata/certs from the keys already there. Each is a self-signed
// code-signing root marked SYNTHETIC, valid from 2010-01-01, so a chain
// checked at the corpus's fixed 2011 signing time can be trusted when the
// certificate is given as the trust store (`tomscan scan --trust-store`).
// Output is deterministic: fixed serials and dates, and RSA PKCS#1 v1.5
// signatures do not depend on randomness.
//
//	go run ./corpus/cmd/gencerts -dir corpus/testdata/certs
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// subject is one synthetic signer: the certificate's base name, common name
// and organisation.
type subject struct{ base, cn, org string }

var subjects = []subject{
	{"contoso", "Contoso Notes Ltd.", "Contoso Notes Ltd."},
	{"gmw", "Guangming Online Skype JV (SYNTHETIC)", "SYNTHETIC Joint Venture"},
	{"skype", "Skype Technologies SA", "Skype Technologies SA"},
	{"tom", "TOM Online Inc.", "TOM Online Inc."},
}

var (
	notBefore = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
)

func main() {
	dir := flag.String("dir", "corpus/testdata/certs", "folder holding <name>.key; <name>.crt is (re)written")
	flag.Parse()
	for i, s := range subjects {
		if err := issue(*dir, s, int64(i+1)); err != nil {
			fmt.Fprintln(os.Stderr, "gencerts:", err)
			os.Exit(1)
		}
	}
}

func issue(dir string, s subject, serial int64) error {
	keyPath := filepath.Join(dir, s.base+".key")
	raw, err := os.ReadFile(keyPath)
	if err != nil {
		return fmt.Errorf("read key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return fmt.Errorf("%s: no PEM block", keyPath)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %w", keyPath, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return fmt.Errorf("%s: key cannot sign", keyPath)
	}
	pub, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return fmt.Errorf("%s: %w", keyPath, err)
	}
	ski := sha1.Sum(pub) // the usual key identifier, over the encoded key
	name := pkix.Name{
		CommonName:         s.cn,
		Organization:       []string{s.org},
		OrganizationalUnit: []string{"SYNTHETIC TEST CERTIFICATE - tomscan corpus"},
		Country:            []string{"LU"},
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(0x70570000 + serial),
		Subject:               name,
		Issuer:                name,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski[:],
		AuthorityKeyId:        ski[:],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return fmt.Errorf("%s: create certificate: %w", s.base, err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return os.WriteFile(filepath.Join(dir, s.base+".crt"), out, 0o644)
}
