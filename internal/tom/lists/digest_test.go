package lists

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDigestIsLoadDigest: Digest gives Load's Digest, and fails where Load
// fails on the folder's layout.
func TestDigestIsLoadDigest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw := filepath.Join(dir, "tom-skype-raw-data", "dlist-3.8")
	if err := os.MkdirAll(raw, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Digest(ctx, dir); err == nil {
		t.Error("Digest of a folder without snapshots did not fail")
	}
	for name, text := range map[string]string{
		"keyfile.2008-10-01.plain":   "falun\n六四\n",
		"keyfile_u.2008-11-01.plain": "x卧底下载 \n",
		"notes.txt":                  "not a snapshot",
	} {
		if err := os.WriteFile(filepath.Join(raw, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dirs := []string{dir}
	if real := os.Getenv("TOMSCAN_KEYWORD_LISTS"); real != "" {
		dirs = append(dirs, real)
	}
	for _, d := range dirs {
		snaps, err := load(ctx, filepath.Clean(d))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Digest(ctx, d)
		if err != nil || got != snaps.Digest {
			t.Errorf("%s: Digest = %q, %v; Load's Digest = %q", d, got, err, snaps.Digest)
		}
	}
}
