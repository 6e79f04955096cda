// Package authenticode reads the Authenticode PKCS#7 signatures that MSI and
// CAB files carry (the MSI \x05DigitalSignature stream, the CAB blob that the
// CFHEADER reserve points to) into tomscan's pe.Signature record. It lives
// with the cabinet code because both the cab and msi extractors use it.
package authenticode

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ayoubfaouzi/pkcs7"

	"github.com/tomscan/tomscan/pe"
)

// MaxBlob bounds a signature blob: real ones are a few KiB to a few tens.
const MaxBlob = 1 << 20

// Parsed is a signature with the digest it signs.
type Parsed struct {
	Sig          *pe.Signature
	Hash         crypto.Hash // 0 when the algorithm is unknown
	SignedDigest []byte
}

var digestOIDs = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
	name string
}{
	{pkcs7.OIDDigestAlgorithmMD5, crypto.MD5, "md5"},
	{pkcs7.OIDDigestAlgorithmSHA1, crypto.SHA1, "sha1"},
	{pkcs7.OIDDigestAlgorithmSHA256, crypto.SHA256, "sha256"},
	{pkcs7.OIDDigestAlgorithmSHA384, crypto.SHA384, "sha384"},
	{pkcs7.OIDDigestAlgorithmSHA512, crypto.SHA512, "sha512"},
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type digestInfo struct {
	Algorithm algorithmIdentifier
	Digest    []byte
}

// Parse reads a DER PKCS#7 SignedData whose content is SpcIndirectDataContent.
// What could be read is returned even with an error; the error is also in
// Sig.Error.
func Parse(der []byte) (p *Parsed, err error) {
	p = &Parsed{Sig: &pe.Signature{}}
	defer func() {
		// The ASN.1 below is hostile input parsed by a third-party module.
		if r := recover(); r != nil {
			err = fmt.Errorf("authenticode: parser panic: %v", r)
		}
		if err != nil {
			p.Sig.Error = err.Error()
		}
	}()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return p, fmt.Errorf("authenticode: parse PKCS#7: %w", err)
	}
	p.Sig.Certificates = len(p7.Certificates)
	if cert := p7.GetOnlySigner(); cert != nil {
		p.Sig.Signer = cert.Subject.String()
		p.Sig.Issuer = cert.Issuer.String()
		p.Sig.Serial = hex.EncodeToString(cert.SerialNumber.Bytes())
	}
	// p7.Content is the inside of SpcIndirectDataContent: the data
	// attribute, then the DigestInfo of the signed file.
	var data asn1.RawValue
	rest, err := asn1.Unmarshal(p7.Content, &data)
	if err != nil {
		return p, fmt.Errorf("authenticode: SpcIndirectDataContent: %w", err)
	}
	var di digestInfo
	if _, err := asn1.Unmarshal(rest, &di); err != nil {
		return p, fmt.Errorf("authenticode: DigestInfo: %w", err)
	}
	p.SignedDigest = di.Digest
	p.Sig.SignedDigest = hex.EncodeToString(di.Digest)
	for _, d := range digestOIDs {
		if d.oid.Equal(di.Algorithm.Algorithm) {
			p.Hash, p.Sig.DigestAlgorithm = d.hash, d.name
		}
	}
	if p.Sig.DigestAlgorithm == "" {
		p.Sig.DigestAlgorithm = di.Algorithm.Algorithm.String()
	}
	var signingTime time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &signingTime); err == nil {
		p.Sig.SigningTime = signingTime.UTC().Format(time.RFC3339)
	}
	// Verify checks the signed attributes' message digest against the
	// content and the signer's signature over them; no chain is built. It
	// refuses a signing time outside the certificate's validity before
	// checking the signature: that is worth reporting (a back-dated
	// signature) but is not a broken signature, so it is noted and the
	// check is repeated with the validity widened on our parsed copy.
	err = p7.Verify()
	var badTime *pkcs7.SigningTimeNotValidError
	if errors.As(err, &badTime) {
		p.Sig.Error = fmt.Sprintf("signing time %s is outside the certificate's validity %s to %s",
			badTime.SigningTime.UTC().Format(time.RFC3339), badTime.NotBefore.UTC().Format(time.RFC3339), badTime.NotAfter.UTC().Format(time.RFC3339))
		for _, c := range p7.Certificates {
			c.NotBefore, c.NotAfter = time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		err = p7.Verify()
	}
	if err == nil {
		p.Sig.SignatureVerified = true
	} else {
		msg := fmt.Sprintf("signature over the signed attributes: %v", err)
		if p.Sig.Error != "" {
			msg = p.Sig.Error + "; " + msg
		}
		p.Sig.Error = msg
	}
	return p, nil
}

// ReadBlob reads size bytes at off, refusing sizes over MaxBlob.
func ReadBlob(r io.ReaderAt, off, size int64) ([]byte, error) {
	if size <= 0 || size > MaxBlob {
		return nil, fmt.Errorf("authenticode: signature of %d bytes (max %d)", size, MaxBlob)
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("authenticode: read signature: %w", err)
	}
	return b, nil
}

// CabSignature reads a cabinet's signature blob (at off, size bytes) and
// checks the digest as signtool and osslsigncode compute it: the CFHEADER
// without reserved1, iCabinet, the reserve sizes and the first 16 reserve
// bytes (which hold the signature's own offset and size), then everything
// from header offset 56 up to the signature.
func CabSignature(r io.ReaderAt, off, size int64) *pe.Signature {
	der, err := ReadBlob(r, off, size)
	if err != nil {
		return &pe.Signature{Error: err.Error()}
	}
	p, err := Parse(der)
	if err != nil {
		return p.Sig
	}
	note := func(msg string) {
		if p.Sig.Error != "" {
			msg = p.Sig.Error + "; " + msg
		}
		p.Sig.Error = msg
	}
	if p.Hash == 0 || !p.Hash.Available() {
		note("digest not computed: unknown digest algorithm " + p.Sig.DigestAlgorithm)
		return p.Sig
	}
	var hdr [60]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil || off < int64(len(hdr)) {
		note("digest not computed: cabinet header unreadable")
		return p.Sig
	}
	if hdr[38] != 0 || hdr[39] != 0 {
		note("digest not computed: signed cabinet with per-folder or per-block reserves")
		return p.Sig
	}
	h := p.Hash.New()
	h.Write(hdr[0:4])
	h.Write(hdr[8:34])
	if _, err := io.Copy(h, io.NewSectionReader(r, 56, off-56)); err != nil {
		note("digest not computed: " + err.Error())
		return p.Sig
	}
	sum := h.Sum(nil)
	p.Sig.ComputedDigest = hex.EncodeToString(sum)
	p.Sig.DigestMatches = bytes.Equal(sum, p.SignedDigest)
	return p.Sig
}
