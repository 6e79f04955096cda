package pe

import (
	"crypto"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"time"
)

// SignedDigest is what an Authenticode signature claims about the signed
// file: the digest from SpcIndirectDataContent and its algorithm. The caller
// hashes the file its own way (PE image hash, MSI streams, CAB) and compares.
type SignedDigest struct {
	Algorithm string      // "sha1", "sha256", ...
	Hash      crypto.Hash // 0 when the algorithm is unknown
	Value     []byte
}

// Hex is Value in lower-case hex.
func (d SignedDigest) Hex() string { return hex.EncodeToString(d.Value) }

// New returns a fresh hasher for Algorithm, or nil when it is unknown.
func (d SignedDigest) New() hash.Hash {
	switch d.Hash {
	case crypto.MD5:
		return md5.New()
	case crypto.SHA1:
		return sha1.New()
	case crypto.SHA256:
		return sha256.New()
	case crypto.SHA384:
		return sha512.New384()
	case crypto.SHA512:
		return sha512.New()
	}
	return nil
}

// Match records on sig whether computed equals the signed digest.
func (sig *Signature) Match(d SignedDigest, computed []byte) {
	sig.ComputedDigest = hex.EncodeToString(computed)
	sig.DigestMatches = len(d.Value) > 0 && hex.EncodeToString(d.Value) == sig.ComputedDigest
}

var (
	oidSignedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidMessageDigest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidCounterSig      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 6}
	oidRFC3161Token    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 3, 3, 1}
	oidRSA             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSA           = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	digestAlgorithmIDs = []struct {
		oid  asn1.ObjectIdentifier
		name string
		hash crypto.Hash
	}{
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}, "md5", crypto.MD5},
		{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, "sha1", crypto.SHA1},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, "sha256", crypto.SHA256},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, "sha384", crypto.SHA384},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, "sha512", crypto.SHA512},
	}
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      contentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version          int
	IssuerAndSerial  issuerAndSerial
	DigestAlgorithm  pkix.AlgorithmIdentifier
	AuthAttributes   asn1.RawValue `asn1:"optional,tag:0"`
	EncryptAlgorithm pkix.AlgorithmIdentifier
	EncryptedDigest  []byte
	UnauthAttributes asn1.RawValue `asn1:"optional,tag:1"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

type spcIndirectDataContent struct {
	Data          asn1.RawValue
	MessageDigest struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
}

// ParsePKCS7Signature decodes an Authenticode PKCS#7 SignedData blob (the
// WIN_CERTIFICATE payload of a PE, the DigitalSignature stream of an MSI,
// the signature in a CAB's reserved area). It returns the signer's identity,
// the signing time when one is present, whether the signer's signature over
// the content verifies (SignatureVerified), and the signed digest for the
// caller to compare with its own hash of the file (see Signature.Match).
// ChainTrusted stays nil; see CheckChain.
func ParsePKCS7Signature(der []byte) (*Signature, SignedDigest, error) {
	return parsePKCS7(der, 0)
}

// maxNesting bounds signatures inside signatures: signtool appends one
// nested signature (SHA-256 beside SHA-1); a hostile file could recurse.
const maxNesting = 4

// oidNestedSignature is SpcNestedSignature (szOID_NESTED_SIGNATURE), the
// unauthenticated attribute holding further complete signatures.
var oidNestedSignature = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 4, 1}

// nestedSignatures parses every SignedData in the SpcNestedSignature
// attributes, in order; one that does not parse is listed with its error.
func nestedSignatures(unauth []attribute, depth int) []*Signature {
	var out []*Signature
	for _, a := range unauth {
		if !a.Type.Equal(oidNestedSignature) {
			continue
		}
		in := a.Values.Bytes
		for len(in) > 0 && len(out) < 16 {
			var ci asn1.RawValue
			rest, err := asn1.Unmarshal(in, &ci)
			if err != nil {
				break
			}
			in = rest
			n, _, err := parsePKCS7(ci.FullBytes, depth)
			if n == nil {
				n = &Signature{Error: err.Error()}
			}
			out = append(out, n)
		}
	}
	return out
}

func parsePKCS7(der []byte, depth int) (*Signature, SignedDigest, error) {
	var dig SignedDigest
	var ci contentInfo
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, dig, fmt.Errorf("authenticode: content info: %w", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, dig, fmt.Errorf("authenticode: content type %v is not SignedData", ci.ContentType)
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, dig, fmt.Errorf("authenticode: signed data: %w", err)
	}
	if len(sd.SignerInfos) == 0 {
		return nil, dig, errors.New("authenticode: no signer")
	}
	sig := &Signature{}
	if len(sd.Certificates.Bytes) > 0 {
		certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
		if err != nil {
			// Era certificates sometimes trip Go's strict parser (negative
			// serials, odd encodings): parse them one by one, keep the good.
			certs = parseCertsLenient(sd.Certificates.Bytes)
		}
		sig.certs = certs
		sig.Certificates = len(certs)
	}
	si := sd.SignerInfos[0]
	if si.IssuerAndSerial.Serial != nil {
		sig.Serial = hex.EncodeToString(si.IssuerAndSerial.Serial.Bytes())
	}
	for _, c := range sig.certs {
		if c.SerialNumber != nil && si.IssuerAndSerial.Serial != nil &&
			c.SerialNumber.Cmp(si.IssuerAndSerial.Serial) == 0 &&
			string(c.RawIssuer) == string(si.IssuerAndSerial.Issuer.FullBytes) {
			sig.signer = c
			break
		}
	}
	if sig.signer != nil {
		sig.Signer = oneline(sig.signer.RawSubject)
		sig.Issuer = oneline(sig.signer.RawIssuer)
	} else {
		sig.Issuer = oneline(si.IssuerAndSerial.Issuer.FullBytes)
		sig.Error = "signer certificate not embedded"
	}

	// The signed content: SpcIndirectDataContent.
	// Content is the [0] EXPLICIT wrapper; its contents are the
	// SpcIndirectDataContent SEQUENCE, whose contents (without tag and
	// length) are what the messageDigest attribute hashes.
	var idcSeq asn1.RawValue
	if _, err := asn1.Unmarshal(sd.ContentInfo.Content.Bytes, &idcSeq); err != nil {
		return sig, dig, fmt.Errorf("authenticode: signed content: %w", err)
	}
	var idc spcIndirectDataContent
	if _, err := asn1.Unmarshal(idcSeq.FullBytes, &idc); err != nil {
		return sig, dig, fmt.Errorf("authenticode: SpcIndirectDataContent: %w", err)
	}
	dig.Value = idc.MessageDigest.Digest
	dig.Algorithm, dig.Hash = digestAlgorithm(idc.MessageDigest.Algorithm.Algorithm)
	sig.DigestAlgorithm = dig.Algorithm
	sig.SignedDigest = hex.EncodeToString(dig.Value)

	sig.digest = dig
	attrs := parseAttributes(si.AuthAttributes.Bytes)
	unauth := parseAttributes(si.UnauthAttributes.Bytes)
	if t, ok := attrTime(attrs); ok {
		sig.SigningTime = t.UTC().Format(time.RFC3339)
	} else if t, ok := unauthTime(unauth); ok {
		sig.SigningTime = t.UTC().Format(time.RFC3339)
	}
	if depth < maxNesting {
		sig.Nested = nestedSignatures(unauth, depth+1)
	}
	if err := verifySigner(si, attrs, idcSeq.Bytes, sig.signer); err != nil {
		if sig.Error == "" {
			sig.Error = err.Error()
		}
	} else {
		sig.SignatureVerified = true
	}
	return sig, dig, nil
}

// CheckChain sets ChainTrusted: whether the signer certificate chains to
// roots, with the signature's other certificates as intermediates, at the
// signing time when known (else now). Nil roots leave ChainTrusted nil.
func (sig *Signature) CheckChain(roots *x509.CertPool) {
	if sig == nil || roots == nil {
		return
	}
	ok := false
	sig.ChainTrusted = &ok
	if sig.signer == nil {
		return
	}
	inter := x509.NewCertPool()
	for _, c := range sig.certs {
		if c != sig.signer {
			inter.AddCert(c)
		}
	}
	at := time.Now()
	if sig.SigningTime != "" {
		if t, err := time.Parse(time.RFC3339, sig.SigningTime); err == nil {
			at = t
		}
	}
	_, err := sig.signer.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageAny},
	})
	ok = err == nil
	if err != nil && sig.Error == "" {
		sig.Error = "chain: " + err.Error()
	}
}

func parseCertsLenient(b []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for len(b) > 0 {
		var raw asn1.RawValue
		rest, err := asn1.Unmarshal(b, &raw)
		if err != nil {
			break
		}
		if c, err := x509.ParseCertificate(raw.FullBytes); err == nil {
			out = append(out, c)
		}
		b = rest
	}
	return out
}

func digestAlgorithm(oid asn1.ObjectIdentifier) (string, crypto.Hash) {
	for _, d := range digestAlgorithmIDs {
		if d.oid.Equal(oid) {
			return d.name, d.hash
		}
	}
	return oid.String(), 0
}

// parseAttributes decodes the contents of a SET OF Attribute; bad entries end the list.
func parseAttributes(b []byte) []attribute {
	var out []attribute
	for len(b) > 0 && len(out) < 64 {
		var a attribute
		rest, err := asn1.Unmarshal(b, &a)
		if err != nil {
			break
		}
		out = append(out, a)
		b = rest
	}
	return out
}

func findAttr(attrs []attribute, oid asn1.ObjectIdentifier) ([]byte, bool) {
	for _, a := range attrs {
		if a.Type.Equal(oid) {
			return a.Values.Bytes, true // contents of the SET: the first value's TLV
		}
	}
	return nil, false
}

func attrTime(attrs []attribute) (time.Time, bool) {
	v, ok := findAttr(attrs, oidSigningTime)
	if !ok {
		return time.Time{}, false
	}
	var t time.Time
	if _, err := asn1.Unmarshal(v, &t); err != nil {
		return time.Time{}, false
	}
	return t, true
}

// unauthTime finds the time of a timestamp counter-signature: the legacy
// PKCS#9 countersignature or an RFC 3161 token (TSTInfo.genTime).
func unauthTime(attrs []attribute) (time.Time, bool) {
	if v, ok := findAttr(attrs, oidCounterSig); ok {
		var cs signerInfo
		if _, err := asn1.Unmarshal(v, &cs); err == nil {
			if t, ok := attrTime(parseAttributes(cs.AuthAttributes.Bytes)); ok {
				return t, true
			}
		}
	}
	if v, ok := findAttr(attrs, oidRFC3161Token); ok {
		var ci contentInfo
		if _, err := asn1.Unmarshal(v, &ci); err != nil {
			return time.Time{}, false
		}
		var sd struct {
			Version          int
			DigestAlgorithms asn1.RawValue
			Encap            struct {
				Type    asn1.ObjectIdentifier
				Content []byte `asn1:"explicit,optional,tag:0"`
			}
			Rest asn1.RawContent
		}
		if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
			return time.Time{}, false
		}
		var tst struct {
			Version  int
			Policy   asn1.ObjectIdentifier
			Imprint  asn1.RawValue
			Serial   *big.Int
			GenTime  time.Time `asn1:"generalized"`
			Trailing asn1.RawContent
		}
		if _, err := asn1.Unmarshal(sd.Encap.Content, &tst); err != nil {
			return time.Time{}, false
		}
		return tst.GenTime, true
	}
	return time.Time{}, false
}

// verifySigner checks the two links from the signer to the content: the
// messageDigest attribute equals the hash of SpcIndirectDataContent's
// contents, and the signer's key signed the attributes (DER SET form).
func verifySigner(si signerInfo, attrs []attribute, content []byte, signer *x509.Certificate) error {
	if signer == nil {
		return errors.New("no signer certificate")
	}
	name, h := digestAlgorithm(si.DigestAlgorithm.Algorithm)
	if h == 0 || !h.Available() {
		return fmt.Errorf("signer digest algorithm %s unsupported", name)
	}
	if len(si.AuthAttributes.FullBytes) == 0 {
		return errors.New("no signed attributes")
	}
	md, ok := findAttr(attrs, oidMessageDigest)
	if !ok {
		return errors.New("no messageDigest attribute")
	}
	var want []byte
	if _, err := asn1.Unmarshal(md, &want); err != nil {
		return fmt.Errorf("messageDigest: %w", err)
	}
	hh := h.New()
	hh.Write(content)
	if hex.EncodeToString(hh.Sum(nil)) != hex.EncodeToString(want) {
		return errors.New("messageDigest does not match the signed content")
	}
	signed := append([]byte{0x31}, si.AuthAttributes.FullBytes[1:]...) // [0] IMPLICIT -> SET
	var algo x509.SignatureAlgorithm
	switch {
	case si.EncryptAlgorithm.Algorithm.Equal(oidRSA):
		algo = map[crypto.Hash]x509.SignatureAlgorithm{crypto.MD5: x509.MD5WithRSA, crypto.SHA1: x509.SHA1WithRSA,
			crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA}[h]
	case si.EncryptAlgorithm.Algorithm.Equal(oidECDSA):
		algo = map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA1: x509.ECDSAWithSHA1,
			crypto.SHA256: x509.ECDSAWithSHA256, crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512}[h]
	default:
		// Some signers put the combined OID (sha256WithRSAEncryption) here.
		for _, a := range []x509.SignatureAlgorithm{x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA} {
			if signer.CheckSignature(a, signed, si.EncryptedDigest) == nil {
				return nil
			}
		}
		return fmt.Errorf("signature algorithm %v unsupported", si.EncryptAlgorithm.Algorithm)
	}
	if err := signer.CheckSignature(algo, signed, si.EncryptedDigest); err != nil {
		return fmt.Errorf("signer signature: %w", err)
	}
	return nil
}

// peSignature reads the certificate table (a file offset, not an RVA),
// parses the first WIN_CERTIFICATE and compares the signed digest with the
// Authenticode image hash computed here.
func peSignature(blob []byte, off, size uint32, roots *x509.CertPool) (*Signature, error) {
	end := int64(off) + int64(size)
	if int64(off) < 8 || end > int64(len(blob)) || size < 8 {
		return nil, fmt.Errorf("authenticode: certificate table %d+%d outside the file", off, size)
	}
	tbl := blob[off:end]
	wlen := binary.LittleEndian.Uint32(tbl)
	ctype := binary.LittleEndian.Uint16(tbl[6:])
	if ctype != 2 {
		return nil, fmt.Errorf("authenticode: certificate type %d is not PKCS#7", ctype)
	}
	if wlen < 8 || int64(wlen) > int64(len(tbl)) {
		wlen = uint32(len(tbl))
	}
	sig, _, err := ParsePKCS7Signature(tbl[8:wlen])
	if sig == nil {
		return nil, err
	}
	// The primary signature and every nested one sign the same image
	// hash, each with its own digest algorithm.
	var judge func(s *Signature)
	judge = func(s *Signature) {
		if h := s.digest.New(); h != nil {
			s.Match(s.digest, authenticodeHash(blob, int64(off), int64(size), h))
		}
		s.CheckChain(roots)
		for _, n := range s.Nested {
			judge(n)
		}
	}
	judge(sig)
	return sig, err
}

// authenticodeHash is the PE image hash Authenticode signs: the file minus
// the CheckSum field, the certificate-table directory entry and the
// certificate table itself (which sits at the end, after any padding).
func authenticodeHash(blob []byte, certOff, certSize int64, h hash.Hash) []byte {
	e := int64(binary.LittleEndian.Uint32(blob[0x3c:]))
	opt := e + 24
	checksum := opt + 64
	dirs := opt + 96
	if opt+2 <= int64(len(blob)) && binary.LittleEndian.Uint16(blob[opt:]) == 0x20b {
		dirs = opt + 112
	}
	certEntry := dirs + 4*8
	skips := [][2]int64{{checksum, 4}, {certEntry, 8}, {certOff, certSize}}
	var p int64
	for _, s := range skips {
		if s[0] < p || s[0] > int64(len(blob)) {
			continue
		}
		h.Write(blob[p:s[0]])
		p = min(s[0]+s[1], int64(len(blob)))
	}
	h.Write(blob[p:])
	return h.Sum(nil)
}
