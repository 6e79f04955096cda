package pe

// Signature is an Authenticode signature, of a PE or of an MSI or CAB file.
// DigestMatches and ChainTrusted are separate on purpose: a signature can
// cover the file exactly and still chain to nobody we trust.
type Signature struct {
	Signer        string `json:"signer"`
	Issuer        string `json:"issuer"`
	Serial        string `json:"serial"`
	SigningTime   string `json:"signing_time,omitempty"` // RFC 3339, UTC
	DigestMatches bool   `json:"digest_matches"`
	ChainTrusted  *bool  `json:"chain_trusted,omitempty"` // nil: no trust store was given
}
