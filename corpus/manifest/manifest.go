// Package manifest is the synthetic corpus's ground truth, in the format
// docs/contracts.md fixes ("Corpus manifest"): the types corpus/gen writes
// and that `tomscan rules test` and every corpus test read, and one loader
// that refuses a manifest pointing outside its corpus folder.
package manifest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Manifest is corpus/out/manifest.json.
type Manifest struct {
	SchemaVersion string  `json:"schema_version"`
	KeywordSource string  `json:"keyword_source"`
	Builds        []Build `json:"builds"`
	// Negatives are files that mention TOM-Skype without being it
	// (corpus/gen/negatives.go): their verdict is Kind, never TOM-Skype,
	// regular Skype or the joint venture.
	Negatives []Negative `json:"negatives,omitempty"`
}

// Negative is one file of the negative corpus.
type Negative struct {
	ID     string `json:"id"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Class: cleaner, plugin, article, forum, document, zip, named-member.
	Class string `json:"class"`
	Kind  string `json:"kind"` // unrelated | undetermined
	// Members lists a ZIP's readable members.
	Members []File `json:"members,omitempty"`
}

// Build is the ground truth of one build file.
type Build struct {
	ID            string        `json:"id"`
	File          string        `json:"file"`
	SHA256        string        `json:"sha256"`
	Size          int64         `json:"size"`
	Kind          string        `json:"kind"`
	Decoy         bool          `json:"decoy"`
	Language      string        `json:"language"`
	Version       string        `json:"version"`
	Wrappers      []string      `json:"wrappers"`
	Signer        string        `json:"signer"`
	Files         []File        `json:"files"`
	Endpoints     []Endpoint    `json:"endpoints"`
	KeywordLists  []KeywordList `json:"keyword_lists"`
	DESUploadKey  *DESKey       `json:"des_upload_key,omitempty"`
	ExpectedRules []string      `json:"expected_rules"`
	// Installers lists the installers whose actions the generator records
	// (Inno Setup); absent for builds without one.
	Installers []Installer `json:"installers,omitempty"`
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

// Endpoint is an endpoint string and the file whose bytes hold it.
type Endpoint struct {
	Value    string   `json:"value"`
	Host     string   `json:"host"`
	Class    string   `json:"class"`
	Encoding string   `json:"encoding"`
	Path     []string `json:"path"`
}

// KeywordList is one encrypted keyword list and how to decrypt it. SHA256 is
// keywords.ExactDigest over the exact entries in file order (whitespace and
// duplicates kept): a recovered list equals the encrypted one byte for byte
// when its sha256 is this. Count is the number of distinct exact entries,
// EntriesTotal every entry; the normalised form (keywords.Digest) is beside.
type KeywordList struct {
	Name             string   `json:"name"`
	Family           string   `json:"family"`
	Snapshot         string   `json:"snapshot"`
	Count            int      `json:"count"`
	EntriesTotal     int      `json:"entries_total"`
	SHA256           string   `json:"sha256"`
	NormalizedCount  int      `json:"normalized_count"`
	NormalizedSHA256 string   `json:"normalized_sha256"`
	Cipher           string   `json:"cipher"`
	KeyHex           string   `json:"key_hex"`
	Location         string   `json:"location"`
	Path             []string `json:"path"`
	// CiphertextSHA256 identifies the encrypted bytes (the RCDATA resource
	// or the file) so tests can find them without guessing.
	CiphertextSHA256 string `json:"ciphertext_sha256"`
}

// DESKey is the message-upload DES key and the PE that carries it.
type DESKey struct {
	KeyHex string   `json:"key_hex"`
	Path   []string `json:"path"`
}

// Installer is what an installer would do, as its generator wrote it: the
// tables a reader of the installer's own data must find (docs/contracts.md,
// "Installer ground truth"). Optional: only wrappers whose tables tomscan
// decodes itself (Inno Setup) record it.
type Installer struct {
	Format  string           `json:"format"`  // "inno"
	Version string           `json:"version"` // data version as innoextract prints it: "5.5.0 (unicode)"
	Path    []string         `json:"path"`    // the installer's node
	Tables  map[string]Table `json:"tables"`  // setup, files, dirs, registry, run, icons
}

// Table is one installer table, rows in the installer's order.
type Table struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// maxBytes bounds the manifest read; the real one is well under 10 MiB.
const maxBytes = 64 << 20

// Load reads DIR/manifest.json and checks what its readers rely on: every
// build has an id (unique) and a file inside DIR.
func Load(dir string) (*Manifest, error) {
	path := filepath.Join(dir, "manifest.json")
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if info.Size() > maxBytes {
		return nil, fmt.Errorf("manifest %s: %d bytes is more than %d", path, info.Size(), maxBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, bd := range m.Builds {
		if bd.ID == "" || bd.File == "" {
			return nil, fmt.Errorf("manifest %s: build %d has no id or file", path, i)
		}
		if seen[bd.ID] {
			return nil, fmt.Errorf("manifest %s: build id %q twice", path, bd.ID)
		}
		seen[bd.ID] = true
		if !filepath.IsLocal(bd.File) {
			return nil, fmt.Errorf("manifest %s: build %s: file %q is not inside the corpus", path, bd.ID, bd.File)
		}
	}
	for i, ng := range m.Negatives {
		if ng.ID == "" || !filepath.IsLocal(ng.File) {
			return nil, fmt.Errorf("manifest %s: negative %d: no id or a file outside the corpus", path, i)
		}
		if seen[ng.ID] {
			return nil, fmt.Errorf("manifest %s: id %q twice", path, ng.ID)
		}
		seen[ng.ID] = true
	}
	return &m, nil
}

// FilePath is the build's file under the corpus folder dir.
func (b *Build) FilePath(dir string) string { return filepath.Join(dir, filepath.FromSlash(b.File)) }
