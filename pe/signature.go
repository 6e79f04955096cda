package pe

import "crypto/x509"

// Signature is an Authenticode signature, of a PE or of an MSI or CAB file.
// DigestMatches and ChainTrusted are separate on purpose: a signature can
// cover the file exactly and still chain to nobody we trust.
type Signature struct {
	Signer          string `json:"signer"` // subject of the signing certificate
	Issuer          string `json:"issuer"`
	Serial          string `json:"serial"`                 // hex, lower case
	SigningTime     string `json:"signing_time,omitempty"` // RFC 3339, UTC: signed attribute, counter-signature or RFC 3161 token
	DigestAlgorithm string `json:"digest_algorithm,omitempty"`
	SignedDigest    string `json:"signed_digest,omitempty"`   // hex, from SpcIndirectDataContent
	ComputedDigest  string `json:"computed_digest,omitempty"` // hex, what we hashed (PE only)
	DigestMatches   bool   `json:"digest_matches"`
	// SignatureVerified: the signed attributes carry the hash of the signed
	// content and the signer certificate's key verifies their signature.
	// Without it DigestMatches proves nothing: anyone can copy certificates.
	SignatureVerified bool   `json:"signature_verified"`
	ChainTrusted      *bool  `json:"chain_trusted,omitempty"` // nil: no trust store was given
	Certificates      int    `json:"certificates"`            // certificates embedded in the signature
	Error             string `json:"error,omitempty"`         // why verification stopped short

	certs  []*x509.Certificate // embedded, for CheckChain
	signer *x509.Certificate
}
