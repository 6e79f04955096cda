package gen

// Manifest is corpus/out/manifest.json, in the format fixed by
// docs/contracts.md ("Corpus manifest"). Other packages' tests read it.
type Manifest struct {
	SchemaVersion string  `json:"schema_version"`
	KeywordSource string  `json:"keyword_source"`
	Builds        []Build `json:"builds"`
}

// Build is the ground truth of one build file.
type Build struct {
	ID            string       `json:"id"`
	File          string       `json:"file"`
	SHA256        string       `json:"sha256"`
	Size          int64        `json:"size"`
	Kind          string       `json:"kind"`
	Decoy         bool         `json:"decoy"`
	Language      string       `json:"language"`
	Version       string       `json:"version"`
	Wrappers      []string     `json:"wrappers"`
	Signer        string       `json:"signer"`
	Files         []File       `json:"files"`
	Endpoints     []EndpointGT `json:"endpoints"`
	KeywordLists  []KeywordGT  `json:"keyword_lists"`
	DESUploadKey  *DESKeyGT    `json:"des_upload_key,omitempty"`
	ExpectedRules []string     `json:"expected_rules"`
	// Installers lists the installers whose actions the generator records
	// (Inno Setup); absent for builds without one.
	Installers []InstallerGT `json:"installers,omitempty"`
}

// File is one file anywhere in a build's tree; Path starts with the build's
// file name.
type File struct {
	Path   []string `json:"path"`
	SHA256 string   `json:"sha256"`
	Size   int64    `json:"size"`
	PE     bool     `json:"pe"`
	Role   string   `json:"role"`
}

// EndpointGT is an endpoint string and the file whose bytes hold it.
type EndpointGT struct {
	Value    string   `json:"value"`
	Host     string   `json:"host"`
	Class    string   `json:"class"`
	Encoding string   `json:"encoding"`
	Path     []string `json:"path"`
}

// KeywordGT is one encrypted keyword list and how to decrypt it.
type KeywordGT struct {
	Name     string   `json:"name"`
	Family   string   `json:"family"`
	Snapshot string   `json:"snapshot"`
	Count    int      `json:"count"`
	SHA256   string   `json:"sha256"`
	Cipher   string   `json:"cipher"`
	KeyHex   string   `json:"key_hex"`
	Location string   `json:"location"`
	Path     []string `json:"path"`
	// CiphertextSHA256 identifies the encrypted bytes (the RCDATA resource
	// or the file) so tests can find them without guessing.
	CiphertextSHA256 string `json:"ciphertext_sha256"`
}

// DESKeyGT is the message-upload DES key and the PE that carries it.
type DESKeyGT struct {
	KeyHex string   `json:"key_hex"`
	Path   []string `json:"path"`
}

// InstallerGT is what an installer would do, as its generator wrote it: the
// tables a reader of the installer's own data must find (docs/contracts.md,
// "Installer ground truth"). Optional: only wrappers whose tables tomscan
// decodes itself (Inno Setup) record it.
type InstallerGT struct {
	Format  string             `json:"format"`  // "inno"
	Version string             `json:"version"` // data version as innoextract prints it: "5.5.0 (unicode)"
	Path    []string           `json:"path"`    // the installer's node
	Tables  map[string]TableGT `json:"tables"`  // setup, files, dirs, registry, run, icons
}

// TableGT is one installer table, rows in the installer's order.
type TableGT struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}
