package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SweepArchive removes the temp files a killed run left in the archive out:
// report files being written (builds/<key>/.tmp-report.*) and index files
// being built (.tmp-index*). Callers run it only once they know the run that
// held the archive's lock is dead; nothing but these temp files is touched.
// It returns what it removed.
func SweepArchive(out string) ([]string, error) {
	var removed []string
	sweep := func(dir, prefix string) error {
		des, err := os.ReadDir(dir)
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return fmt.Errorf("sweep %s: %w", dir, err)
		}
		for _, de := range des {
			if !de.Type().IsRegular() || !strings.HasPrefix(de.Name(), prefix) {
				continue
			}
			p := filepath.Join(dir, de.Name())
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("sweep: %w", err)
			}
			removed = append(removed, p)
		}
		return nil
	}
	if err := sweep(out, ".tmp-index"); err != nil {
		return removed, err
	}
	builds := filepath.Join(out, "builds")
	des, err := os.ReadDir(builds)
	if err != nil && !os.IsNotExist(err) {
		return removed, fmt.Errorf("sweep %s: %w", builds, err)
	}
	for _, de := range des {
		if de.IsDir() {
			if err := sweep(filepath.Join(builds, de.Name()), ".tmp-report."); err != nil {
				return removed, err
			}
		}
	}
	return removed, nil
}
