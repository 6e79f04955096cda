// Package ruletest measures a rule set against the corpus: it runs the real
// pipeline (unpacking included) over the synthetic builds, whose manifest says
// which rules each build must match, and over the real third-party files,
// which are goodware; it reports per rule TP, FP, FN, precision and recall,
// checks every rule's example builds, and times each rule's cost.
package ruletest

import (
	"fmt"
	"os"
	"path/filepath"
)

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
