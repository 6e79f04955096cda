package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRejects(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"escape", `{"builds":[{"id":"x","file":"../../etc/passwd"}]}`, "not inside the corpus"},
		{"absolute", `{"builds":[{"id":"x","file":"/etc/passwd"}]}`, "not inside the corpus"},
		{"no id", `{"builds":[{"file":"builds/a.exe"}]}`, "no id or file"},
		{"twice", `{"builds":[{"id":"a","file":"a"},{"id":"a","file":"b"}]}`, `build id "a" twice`},
		{"not json", `{"builds":`, "unexpected end"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(c.json), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// The real corpus manifest loads and every build's file is there.
func TestLoadCorpus(t *testing.T) {
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS not set")
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Builds) < 40 || m.SchemaVersion != "1" {
		t.Fatalf("%d builds, schema %q", len(m.Builds), m.SchemaVersion)
	}
	for _, b := range m.Builds {
		if info, err := os.Stat(b.FilePath(dir)); err != nil || info.Size() != b.Size {
			t.Errorf("%s: %v (size %d in the manifest)", b.ID, err, b.Size)
		}
	}
}
