package lists

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
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
	return eachSnapshotFile(ctx, filepath.Clean(dir), nil)
}

// eachSnapshotFile walks dir's tom-skype-raw-data folder in lexical order
// and hands fn each snapshot file's name match (family, name, date) and
// bytes, after the folder checks Load and Digest share; it returns the
// digest over the files' names and sha256s (stable: WalkDir's order). With
// fn nil (Digest) each file is hashed through one small buffer instead of
// being read whole into fresh memory: a scan takes the digest at start-up,
// where it took 5.5 ms for the 1.7 MB of the real snapshots, 3.8 so.
func eachSnapshotFile(ctx context.Context, dir string, fn func(m []string, b []byte)) (string, error) {
	root := filepath.Join(dir, "tom-skype-raw-data")
	digest := sha256.New()
	var buf []byte // fn == nil: the hashing buffer
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
		var fileSum []byte
		if fn == nil {
			if buf == nil {
				buf = make([]byte, 32<<10)
			}
			if fileSum, err = hashFile(p, buf); err != nil {
				return err
			}
		} else {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			fileSum = sum[:]
			fn(m, b)
		}
		fmt.Fprintf(digest, "%s\x00%x\n", filepath.ToSlash(rel), fileSum)
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

// hashFile is the sha256 of the file at p through buf: a file that grew
// past maxSnapshotBytes since the walk checked its size is an error.
func hashFile(p string, buf []byte) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.LimitReader(f, maxSnapshotBytes+1), buf)
	if err != nil {
		return nil, err
	}
	if n > maxSnapshotBytes {
		return nil, fmt.Errorf("%s: more than %d bytes", p, int64(maxSnapshotBytes))
	}
	return h.Sum(nil), nil
}
