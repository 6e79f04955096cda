package lists

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Digest is the Digest that Load gives for dir, with the same checks of
// the folder (snapshot files there, none too large, not too many), without
// decoding the snapshots: a scan's parent needs only the digest (its
// workers Load), and decoding them was a quarter of a rescan that reuses
// every build. Kept equal to Load's by TestDigestIsLoadDigest.
func Digest(ctx context.Context, dir string) (string, error) {
	return eachSnapshotFile(ctx, filepath.Clean(dir), func([]string, []byte) {})
}

// eachSnapshotFile walks dir's tom-skype-raw-data folder in lexical order
// and hands fn each snapshot file's name match (family, name, date) and
// bytes, after the folder checks Load and Digest share; it returns the
// digest over the files' names and sha256s (stable: WalkDir's order).
func eachSnapshotFile(ctx context.Context, dir string, fn func(m []string, b []byte)) (string, error) {
	root := filepath.Join(dir, "tom-skype-raw-data")
	digest := sha256.New()
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		m := snapshotFile.FindStringSubmatch(filepath.ToSlash(rel))
		if m == nil {
			return nil
		}
		if n >= maxSnapshots {
			return fmt.Errorf("more than %d snapshot files", maxSnapshots)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxSnapshotBytes {
			return fmt.Errorf("%s: %d bytes, more than %d", rel, info.Size(), maxSnapshotBytes)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fileSum := sha256.Sum256(b)
		fmt.Fprintf(digest, "%s\x00%x\n", filepath.ToSlash(rel), fileSum)
		fn(m, b)
		n++
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("lists: load snapshots from %s: %w", root, err)
	}
	if n == 0 {
		return "", fmt.Errorf("lists: no snapshot files under %s", root)
	}
	return hex.EncodeToString(digest.Sum(nil)), nil
}
