package authenticode

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ayoubfaouzi/pkcs7"
)

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type digestInfo struct {
	Algorithm algorithmIdentifier
	Digest    []byte
}

// signedBlob makes a PKCS#7 SignedData whose content is shaped like
// SpcIndirectDataContent's inside: a data attribute, then a DigestInfo.
func signedBlob(t testing.TB, digest []byte) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x7011),
		Subject:      pkix.Name{CommonName: "TOM Online Inc", Organization: []string{"TOM Online"}},
		NotBefore:    time.Unix(1100000000, 0), NotAfter: time.Unix(1900000000, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	attr, _ := asn1.Marshal(struct{ Type asn1.ObjectIdentifier }{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 25}})
	di, _ := asn1.Marshal(digestInfo{Algorithm: algorithmIdentifier{Algorithm: pkcs7.OIDDigestAlgorithmSHA256, Parameters: asn1.NullRawValue}, Digest: digest})
	sd, err := pkcs7.NewSignedData(append(attr, di...))
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	out, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Real Authenticode signatures (osslsigncode over a cabinet and an MSI) are
// parsed end to end in the cab and msi packages' signed-file tests. Here: a
// PKCS#7 whose content is plain id-data, not SpcIndirectDataContent, is not
// an Authenticode signature and must say so, keeping what it could read.
func TestParseRejectsNonAuthenticodeContent(t *testing.T) {
	digest := sha256.Sum256([]byte("the signed file"))
	p, err := Parse(signedBlob(t, digest[:]))
	if err == nil || !strings.Contains(err.Error(), "SpcIndirectDataContent") {
		t.Fatalf("err = %v, want a SpcIndirectDataContent error", err)
	}
	s := p.Sig
	if !strings.Contains(s.Signer, "CN=TOM Online Inc") || s.Serial != "7011" || s.Certificates != 1 || s.Error == "" {
		t.Errorf("parsed %+v", *s)
	}
	if s.DigestMatches || s.SignatureVerified {
		t.Error("a signature that could not be read must not claim a match or a verification")
	}
}

func TestParseDamaged(t *testing.T) {
	digest := sha256.Sum256(nil)
	good := signedBlob(t, digest[:])
	for name, blob := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("not ASN.1 at all"),
		"truncated": good[:len(good)/2],
	} {
		p, err := Parse(blob)
		if err == nil || p.Sig.Error == "" {
			t.Errorf("%s: no error (%+v)", name, p.Sig)
		}
	}
	if _, err := ReadBlob(bytes.NewReader(good), 0, MaxBlob+1); err == nil {
		t.Error("ReadBlob accepted a blob over MaxBlob")
	}
}

func FuzzParse(f *testing.F) {
	digest := sha256.Sum256(nil)
	f.Add(signedBlob(f, digest[:]))
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, der []byte) {
		Parse(der)
	})
}
