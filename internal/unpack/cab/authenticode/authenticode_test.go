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
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ayoubfaouzi/pkcs7"
)

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

func TestParse(t *testing.T) {
	digest := sha256.Sum256([]byte("the signed file"))
	p, err := Parse(signedBlob(t, digest[:]))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Sig
	if !strings.Contains(s.Signer, "CN=TOM Online Inc") || s.Serial != "7011" || s.DigestAlgorithm != "sha256" ||
		s.SignedDigest != hex.EncodeToString(digest[:]) || !bytes.Equal(p.SignedDigest, digest[:]) || !s.SignatureVerified || s.Certificates != 1 {
		t.Errorf("parsed %+v", *s)
	}
	if s.DigestMatches {
		t.Error("Parse must not claim a digest match: only the caller can hash the file")
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
