// Package authenticode reads the Authenticode PKCS#7 signatures that MSI and
// CAB files carry (the MSI \x05DigitalSignature stream, the CAB blob that the
// CFHEADER reserve points to) into tomscan's pe.Signature record. It lives
// with the cabinet code because both the cab and msi extractors use it.
package authenticode

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

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

// Parse reads a DER PKCS#7 SignedData whose content is SpcIndirectDataContent,
// through the one Authenticode parser tomscan has (pe.ParsePKCS7Signature),
// so PE, MSI and CAB signatures are read, verified and reported alike.
// What could be read is returned even with an error; the error is also in
// Sig.Error.
func Parse(der []byte) (p *Parsed, err error) {
	p = &Parsed{Sig: &pe.Signature{}}
	sig, d, err := pe.ParsePKCS7Signature(der)
	if sig != nil {
		p.Sig = sig
	}
	p.Hash, p.SignedDigest = d.Hash, d.Value
	if err != nil {
		if p.Sig.Error == "" {
			p.Sig.Error = err.Error()
		}
		return p, err
	}
	return p, nil
}

// Note adds msg to the signature's error, after what is already there:
// why the digest could not be checked, for instance.
func (p *Parsed) Note(msg string) {
	if p.Sig.Error != "" {
		msg = p.Sig.Error + "; " + msg
	}
	p.Sig.Error = msg
}

// KnownHash tells whether the signed digest's algorithm can be computed
// here; when not, it notes so on the signature.
func (p *Parsed) KnownHash() bool {
	if p.Hash == 0 || !p.Hash.Available() {
		p.Note("digest not computed: unknown digest algorithm " + p.Sig.DigestAlgorithm)
		return false
	}
	return true
}

// SetComputed records the digest computed over the container and whether
// it equals the signed one.
func (p *Parsed) SetComputed(sum []byte) {
	p.Sig.ComputedDigest = hex.EncodeToString(sum)
	p.Sig.DigestMatches = bytes.Equal(sum, p.SignedDigest)
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
	if !p.KnownHash() {
		return p.Sig
	}
	var hdr [60]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil || off < int64(len(hdr)) {
		p.Note("digest not computed: cabinet header unreadable")
		return p.Sig
	}
	if hdr[38] != 0 || hdr[39] != 0 {
		p.Note("digest not computed: signed cabinet with per-folder or per-block reserves")
		return p.Sig
	}
	h := p.Hash.New()
	h.Write(hdr[0:4])
	h.Write(hdr[8:34])
	if _, err := io.Copy(h, io.NewSectionReader(r, 56, off-56)); err != nil {
		p.Note("digest not computed: " + err.Error())
		return p.Sig
	}
	p.SetComputed(h.Sum(nil))
	return p.Sig
}
