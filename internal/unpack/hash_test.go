package unpack

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
)

// TestHashAllMatchesOneByOne: hashing side by side gives the sums of
// hashing the bytes one hash at a time, in memory and spilled, below, at
// and across the chunk size.
func TestHashAllMatchesOneByOne(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, size := range []int{0, 1, 100, hashChunk - 1, hashChunk, 4*hashChunk + 3, 9 * hashChunk} {
		data := make([]byte, size)
		rng.Read(data)
		path := filepath.Join(t.TempDir(), "blob")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		m, s1, s256 := md5.Sum(data), sha1.Sum(data), sha256.Sum256(data)
		for _, blob := range []*artifact.Blob{artifact.MemoryBlob(data), artifact.FileBlob(f, int64(size))} {
			hm, h1, h256 := md5.New(), sha1.New(), sha256.New()
			n, err := hashAll(blob, hm, h1, h256)
			if err != nil || n != int64(size) {
				t.Fatalf("size %d (in memory %v): %d bytes, %v", size, blob.InMemory(), n, err)
			}
			if !bytes.Equal(hm.Sum(nil), m[:]) || !bytes.Equal(h1.Sum(nil), s1[:]) || !bytes.Equal(h256.Sum(nil), s256[:]) {
				t.Errorf("size %d (in memory %v): sums differ", size, blob.InMemory())
			}
		}
		f.Close()
	}
}

// TestBesideDigestsCheckTheFile: a spilled blob is read again for its MD5
// and SHA-1; a file written to since the walk read it (other size, or the
// same size rewritten) is an error, never digests of other bytes.
func TestBesideDigestsCheckTheFile(t *testing.T) {
	data := bytes.Repeat([]byte("tomscan"), 20000)
	m, s1 := md5.Sum(data), sha1.Sum(data)
	for _, change := range []string{"none", "append", "rewrite"} {
		path := filepath.Join(t.TempDir(), "blob")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		blob := artifact.FileBlob(f, int64(len(data)))
		before, err := blob.Stat()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // past the file system's clock tick
		switch change {
		case "append":
			f.WriteAt([]byte("more"), int64(len(data)))
		case "rewrite":
			f.WriteAt([]byte("TOM"), 0)
		}
		gm, g1, _, err := besideDigests(blob, before, "", true)
		if change == "none" {
			if err != nil || gm != hex.EncodeToString(m[:]) || g1 != hex.EncodeToString(s1[:]) {
				t.Errorf("unchanged file: %s %s %v", gm, g1, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), "changed while being read") {
			t.Errorf("%s: %v", change, err)
		}
		f.Close()
	}
	// In memory the bytes cannot change.
	gm, _, _, err := besideDigests(artifact.MemoryBlob(data), nil, "", true)
	if err != nil || gm != hex.EncodeToString(m[:]) {
		t.Fatal(gm, err)
	}
}
