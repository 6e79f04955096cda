// Package ruletest measures a rule set against the corpus: it runs the real
// pipeline (unpacking included) over the synthetic builds, whose manifest says
// which rules each build must match, and over the real third-party files,
// which are goodware; it reports per rule TP, FP, FN, precision and recall,
// checks every rule's example builds, and times each rule's cost.
package ruletest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Manifest is the part of the corpus manifest (docs/contracts.md) that rule
// testing needs.
type Manifest struct {
	SchemaVersion string  `json:"schema_version"`
	Builds        []Build `json:"builds"`
}

// Build is one corpus build and the rules it must match.
type Build struct {
	ID            string   `json:"id"`
	File          string   `json:"file"`
	SHA256        string   `json:"sha256"`
	Kind          string   `json:"kind"`
	Decoy         bool     `json:"decoy"`
	ExpectedRules []string `json:"expected_rules"`
}

// maxManifestBytes bounds the manifest read; the real one is well under 10 MiB.
const maxManifestBytes = 64 << 20

// LoadManifest reads DIR/manifest.json.
func LoadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, "manifest.json")
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ruletest: manifest: %w", err)
	}
	if info.Size() > maxManifestBytes {
		return nil, fmt.Errorf("ruletest: manifest %s: %d bytes is more than %d", path, info.Size(), maxManifestBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ruletest: manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("ruletest: manifest %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, bd := range m.Builds {
		if bd.ID == "" || bd.File == "" {
			return nil, fmt.Errorf("ruletest: manifest %s: build %d has no id or file", path, i)
		}
		if seen[bd.ID] {
			return nil, fmt.Errorf("ruletest: manifest %s: build id %q twice", path, bd.ID)
		}
		seen[bd.ID] = true
		if !filepath.IsLocal(bd.File) {
			return nil, fmt.Errorf("ruletest: manifest %s: build %s: file %q is not inside the corpus", path, bd.ID, bd.File)
		}
	}
	return &m, nil
}

// RealFiles lists the real corpus's files: every regular file below
// DIR/files, or below DIR when it has no files/ folder (manifest.json
// excepted), sorted.
func RealFiles(dir string) ([]string, error) {
	root := filepath.Join(dir, "files")
	if _, err := os.Stat(root); err != nil {
		root = dir
	}
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if root == dir && filepath.Dir(p) == dir && d.Name() == "manifest.json" {
			return nil
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ruletest: real corpus %s: %w", dir, err)
	}
	return out, nil
}
