package unpacktest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SevenZipX is 7-Zip's own extraction of an archive (name gives its
// extension, e.g. "a.zip", "a.7z") with password pw, as a SetOf: the
// reference the encrypted-archive tests compare our extraction with.
func SevenZipX(t *testing.T, data []byte, name, pw string) []string {
	t.Helper()
	dir := t.TempDir()
	arc := filepath.Join(dir, name)
	if err := os.WriteFile(arc, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if b, err := exec.Command("7zz", "x", "-y", "-bd", "-p"+pw, "-o"+out, arc).CombinedOutput(); err != nil {
		t.Fatalf("7zz x: %v\n%s", err, b)
	}
	files := map[string][]byte{}
	_ = filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(out, p)
			files[filepath.ToSlash(rel)] = b
		}
		return nil
	})
	return SetOf(files)
}
