package pe

import "crypto/x509"

// Signature is an Authenticode signature, of a PE or of an MSI or CAB file.
// Signer and Issuer are distinguished names as OpenSSL prints them
// ("/C=NL/O=.../CN=.../emailAddress=...", see oneline).
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
	// Nested are the further signatures in the SpcNestedSignature
	// unauthenticated attribute (1.3.6.1.4.1.311.2.4.1), in order: a
	// SHA-256 signature beside a SHA-1 one, as signtool /as appends. Each
	// has its own digest algorithm, digest check and signer.
	Nested []*Signature `json:"nested,omitempty"`

	certs  []*x509.Certificate // embedded, for CheckChain
	signer *x509.Certificate
	digest SignedDigest // what this signature signed, for the caller's digest check
}
