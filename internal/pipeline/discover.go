package pipeline

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Input is one top-level file to scan.
type Input struct {
	Path string // as opened
	Ref  string // as reported: relative to the parent of the argument it came from, slash-separated
}

// Discover walks paths (files or folders) and returns every regular file,
// sorted by Ref, then Path. Symbolic links are not followed: a corpus is a tree
// of files, and a link could lead the scan outside it. A path that cannot be
// listed is an error: the user named it, so a silent skip would hide a gap.
func Discover(paths []string) ([]Input, error) {
	var out []Input
	for _, arg := range paths {
		arg = filepath.Clean(arg)
		info, err := os.Lstat(arg)
		if err != nil {
			return nil, fmt.Errorf("discover: %w", err)
		}
		base := filepath.Dir(arg)
		if !info.IsDir() {
			out = append(out, Input{Path: arg, Ref: filepath.ToSlash(filepath.Base(arg))})
			continue
		}
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("discover: %w", err)
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(base, p)
			if err != nil {
				return fmt.Errorf("discover: %w", err)
			}
			out = append(out, Input{Path: p, Ref: filepath.ToSlash(rel)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Ref != out[j].Ref {
			return out[i].Ref < out[j].Ref
		}
		return out[i].Path < out[j].Path
	})
	return out, nil
}
