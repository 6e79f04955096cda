// Package nodecache is a content-addressed cache on disk for what a build's
// scan computes that does not depend on the rules: the bytes of every node
// the analysers read (by their sha256) and the rule-independent tree of a
// build (by a key over everything that shapes it). A rescan after a change
// of rules or keyword lists reads both back instead of unpacking again
// (internal/pipeline: replay).
//
// Nothing read back is trusted: a blob must hash to its name (or match the
// length and CRC-32C its reader recorded: GetBlobCheck) and a tree entry
// carries the sha256 of its payload; anything else is a miss (removed,
// with a warning) and the caller computes it again. Writes go to a temp file
// renamed into place, so concurrent workers and a kill -9 never leave a half
// file under a real name (temp files, ".tmp-*", are removed by Trim once
// older than an hour). The size is bounded by Trim: least recently used
// first (a hit touches the file's modification time).
package nodecache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Cache is one cache folder. Safe for concurrent use, also by several
// processes sharing the folder.
type Cache struct {
	dir      string
	maxBytes int64
	// Warn is told about entries found damaged (and removed); nil: silent.
	Warn    func(msg string)
	written atomic.Int64 // bytes put since the last Trim by this process
}

// Open creates dir when missing. maxBytes bounds the folder (see Trim); it
// must be positive.
func Open(dir string, maxBytes int64) (*Cache, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("nodecache: size bound %d: must be > 0", maxBytes)
	}
	for _, sub := range []string{"blobs", "trees"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("nodecache: %w", err)
		}
	}
	return &Cache{dir: dir, maxBytes: maxBytes}, nil
}

// Dir is the cache folder.
func (c *Cache) Dir() string { return c.dir }

// MaxBytes is the size bound.
func (c *Cache) MaxBytes() int64 { return c.maxBytes }

func validKey(k string) bool {
	if len(k) != 64 {
		return false
	}
	_, err := hex.DecodeString(k)
	return err == nil && strings.ToLower(k) == k
}

func (c *Cache) blobPath(sum string) string { return filepath.Join(c.dir, "blobs", sum[:2], sum) }
func (c *Cache) treePath(key string) string { return filepath.Join(c.dir, "trees", key[:2], key) }

// PutBlob stores data under its sha256 (sum, hex), unless already there or
// larger than an eighth of the bound (it would evict too much). It returns
// whether the blob is in the cache afterwards.
func (c *Cache) PutBlob(sum string, data []byte) bool {
	if !validKey(sum) || int64(len(data)) > c.maxBytes/8 {
		return false
	}
	p := c.blobPath(sum)
	if _, err := os.Stat(p); err == nil {
		touch(p)
		return true
	}
	got := sha256.Sum256(data)
	if hex.EncodeToString(got[:]) != sum {
		return false // the caller's sum is wrong: never store under a false name
	}
	return c.write(p, data) == nil
}

// GetBlob returns the bytes stored under sum, verified; ok is false on a
// miss, and a damaged blob is removed (with a warning) and a miss.
func (c *Cache) GetBlob(sum string) (data []byte, ok bool) {
	if !validKey(sum) {
		return nil, false
	}
	p := c.blobPath(sum)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	got := sha256.Sum256(data)
	if hex.EncodeToString(got[:]) != sum {
		c.damaged(p, "blob does not hash to its name")
		return nil, false
	}
	touch(p)
	return data, true
}

// Check is a cheap fingerprint of a blob's bytes: their length and CRC-32C.
// A caller that had the bytes when it stored them (PutBlob) and keeps their
// Check somewhere verified (a tree entry, which carries its own sha256)
// reads them back with GetBlobCheck.
type Check struct {
	Len int64  `json:"len"`
	CRC uint32 `json:"crc"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CheckOf is data's Check.
func CheckOf(data []byte) Check {
	return Check{Len: int64(len(data)), CRC: crc32.Checksum(data, castagnoli)}
}

// GetBlobCheck is GetBlob for a caller who knows the blob's Check: the
// bytes must match it. The name is a sha256, made sure of when the blob was
// stored (PutBlob); what can happen to the file since is damage (a disk
// error, a truncation, an edit by hand), which the length and the CRC-32C
// catch at a fraction of the cost of hashing it again: on replays of the
// synthetic corpus the sha256 was a third of reading the node cache's blobs.
// (Neither is a defence against someone who can write the cache folder:
// such a person can also rewrite the tree entries and their sha256.) A
// blob that does not match is removed (with a warning) and a miss. The
// bytes are read into buf when it is large enough (a caller reading many
// blobs one after the other reuses one buffer), else into a new one.
func (c *Cache) GetBlobCheck(buf []byte, sum string, want Check) (data []byte, ok bool) {
	if !validKey(sum) || want.Len < 0 {
		return nil, false
	}
	p := c.blobPath(sum)
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, false
	}
	if info.Size() != want.Len {
		c.damaged(p, "blob does not match its checksum (length)")
		return nil, false
	}
	if int64(cap(buf)) >= want.Len {
		data = buf[:want.Len]
	} else {
		data = make([]byte, want.Len)
	}
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, false // removed or cut under us: a miss
	}
	if CheckOf(data) != want {
		c.damaged(p, "blob does not match its checksum")
		return nil, false
	}
	touch(p)
	return data, true
}

// treeMagic opens every tree entry, with the sha256 of the payload after it.
const treeMagic = "tomscan-nodecache-tree-v1 "

// PutTree stores payload under key (64 hex characters).
func (c *Cache) PutTree(key string, payload []byte) error {
	if !validKey(key) {
		return fmt.Errorf("nodecache: bad tree key %q", key)
	}
	sum := sha256.Sum256(payload)
	var b bytes.Buffer
	b.Grow(len(treeMagic) + 65 + len(payload))
	b.WriteString(treeMagic)
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteByte('\n')
	b.Write(payload)
	return c.write(c.treePath(key), b.Bytes())
}

// GetTree returns the payload stored under key, verified; a damaged entry
// is removed (with a warning) and a miss.
func (c *Cache) GetTree(key string) ([]byte, bool) {
	if !validKey(key) {
		return nil, false
	}
	p := c.treePath(key)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	head, payload, found := bytes.Cut(b, []byte{'\n'})
	if !found || !bytes.HasPrefix(head, []byte(treeMagic)) {
		c.damaged(p, "tree entry without its header")
		return nil, false
	}
	sum := sha256.Sum256(payload)
	if string(head[len(treeMagic):]) != hex.EncodeToString(sum[:]) {
		c.damaged(p, "tree entry does not match its checksum")
		return nil, false
	}
	touch(p)
	return payload, true
}

func (c *Cache) damaged(p, why string) {
	os.Remove(p)
	if c.Warn != nil {
		c.Warn(fmt.Sprintf("node cache: %s: %s: removed, computed again", p, why))
	}
}

// write puts b at p through a temp file in the same folder and a rename: a
// reader sees the whole file or none. Every tenth of the bound written by
// this process, the cache is trimmed.
func (c *Cache) write(p string, b []byte) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("nodecache: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return fmt.Errorf("nodecache: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp)
		return fmt.Errorf("nodecache: write %s: %w", p, errors.Join(werr, cerr))
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("nodecache: %w", err)
	}
	if c.written.Add(int64(len(b))) > c.maxBytes/10 {
		c.written.Store(0)
		_, _ = c.Trim()
	}
	return nil
}

// touch marks p used now, for LRU eviction.
func touch(p string) {
	now := time.Now()
	_ = os.Chtimes(p, now, now)
}

// staleTemp is how old a temp file must be before Trim removes it: one that
// young may be a write in progress in another process.
const staleTemp = time.Hour

// Trim removes the least recently used entries until the folder holds at
// most the bound, and temp files left by killed writers. It returns the
// bytes the folder holds afterwards. Another process may trim at the same
// time: a file already gone is not an error, and a reader that loses a file
// to eviction has a miss.
func (c *Cache) Trim() (int64, error) {
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var entries []entry
	var total int64
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed under us
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			if time.Since(info.ModTime()) > staleTemp {
				os.Remove(p)
			}
			return nil
		}
		entries = append(entries, entry{p, info.Size(), info.ModTime()})
		total += info.Size()
		return nil
	})
	if err != nil {
		return total, fmt.Errorf("nodecache: trim %s: %w", c.dir, err)
	}
	if total <= c.maxBytes {
		return total, nil
	}
	sort.Slice(entries, func(i, j int) bool {
		if !entries[i].used.Equal(entries[j].used) {
			return entries[i].used.Before(entries[j].used)
		}
		return entries[i].path < entries[j].path
	})
	for _, e := range entries {
		if total <= c.maxBytes {
			break
		}
		if err := os.Remove(e.path); err == nil || errors.Is(err, fs.ErrNotExist) {
			total -= e.size
		}
	}
	return total, nil
}

// HasBlob tells whether a blob is stored under sum (not verified: GetBlob
// does that).
func (c *Cache) HasBlob(sum string) bool {
	if !validKey(sum) {
		return false
	}
	_, err := os.Stat(c.blobPath(sum))
	return err == nil
}
