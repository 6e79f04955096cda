package nodecache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestBlobsAndTreesRoundTripAndDamageIsAMiss(t *testing.T) {
	c, err := Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	c.Warn = func(m string) { warnings = append(warnings, m) }
	data := []byte("MZ node bytes")
	k := sum(data)
	if _, ok := c.GetBlob(k); ok {
		t.Fatal("hit in an empty cache")
	}
	if !c.PutBlob(k, data) {
		t.Fatal("PutBlob refused")
	}
	if c.PutBlob(sum([]byte("other")), data) {
		t.Error("PutBlob stored bytes under a name they do not hash to")
	}
	if got, ok := c.GetBlob(k); !ok || string(got) != string(data) {
		t.Fatalf("GetBlob = %q %v", got, ok)
	}
	// a damaged blob (a bit flipped on disk) is a miss, removed, warned
	if err := os.WriteFile(c.blobPath(k), []byte("MZ node bytez"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.GetBlob(k); ok {
		t.Error("a damaged blob was trusted")
	}
	if _, err := os.Stat(c.blobPath(k)); !os.IsNotExist(err) {
		t.Error("the damaged blob was left in place")
	}
	key := strings.Repeat("ab", 32)
	if err := c.PutTree(key, []byte(`{"tree":1}`)); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.GetTree(key); !ok || string(got) != `{"tree":1}` {
		t.Fatalf("GetTree = %q %v", got, ok)
	}
	for name, damage := range map[string]func([]byte) []byte{
		"payload changed": func(b []byte) []byte { return append(b[:len(b)-2], '2', '}') },
		"cut short":       func(b []byte) []byte { return b[:len(b)-3] },
		"no header":       func(b []byte) []byte { return []byte(`{"tree":1}`) },
		"empty":           func([]byte) []byte { return nil },
	} {
		if err := c.PutTree(key, []byte(`{"tree":1}`)); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(c.treePath(key))
		if err := os.WriteFile(c.treePath(key), damage(b), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, ok := c.GetTree(key); ok {
			t.Errorf("%s: damaged tree entry trusted: %q", name, got)
		}
	}
	if len(warnings) != 5 {
		t.Errorf("%d warnings, want 5 (one per damaged entry): %q", len(warnings), warnings)
	}
	if _, ok := c.GetTree("../../etc/passwd"); ok {
		t.Error("a key that is not a sha256 was looked up")
	}
}

// TestGetBlobCheck: a blob read with the Check of its bytes round-trips;
// one damaged on disk (a byte changed, cut short, grown) is a miss, removed
// and warned about; a wrong Check is a miss; a missing blob is a miss
// without a warning.
func TestGetBlobCheck(t *testing.T) {
	c, err := Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	c.Warn = func(m string) { warnings = append(warnings, m) }
	data := []byte("MZ node bytes, some more of them")
	k, check := sum(data), CheckOf(data)
	if _, ok := c.GetBlobCheck(nil, k, check); ok {
		t.Fatal("hit in an empty cache")
	}
	if len(warnings) != 0 {
		t.Fatalf("a miss warned: %q", warnings)
	}
	for name, damage := range map[string]func([]byte) []byte{
		"byte changed": func(b []byte) []byte { b[len(b)/2] ^= 0x20; return b },
		"cut short":    func(b []byte) []byte { return b[:len(b)-1] },
		"grown":        func(b []byte) []byte { return append(b, 0) },
		"empty":        func([]byte) []byte { return nil },
	} {
		if !c.PutBlob(k, data) {
			t.Fatal("PutBlob refused")
		}
		if got, ok := c.GetBlobCheck(nil, k, check); !ok || string(got) != string(data) {
			t.Fatalf("GetBlobCheck = %q %v", got, ok)
		}
		b := append([]byte(nil), data...)
		if err := os.WriteFile(c.blobPath(k), damage(b), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, ok := c.GetBlobCheck(nil, k, check); ok {
			t.Errorf("%s: damaged blob trusted: %q", name, got)
		}
		if _, err := os.Stat(c.blobPath(k)); !os.IsNotExist(err) {
			t.Errorf("%s: the damaged blob was left in place", name)
		}
	}
	if len(warnings) != 4 {
		t.Errorf("%d warnings, want 4 (one per damaged blob): %q", len(warnings), warnings)
	}
	if !c.PutBlob(k, data) {
		t.Fatal("PutBlob refused")
	}
	// read into a buffer large enough: the buffer's memory, same bytes
	buf := make([]byte, 100)
	if got, ok := c.GetBlobCheck(buf, k, check); !ok || string(got) != string(data) || &got[0] != &buf[0] {
		t.Errorf("GetBlobCheck into a buffer = %q %v (in the buffer: %v)", got, ok, ok && &got[0] == &buf[0])
	}
	other := CheckOf([]byte("MZ node bytes, some more of theM"))
	if _, ok := c.GetBlobCheck(nil, k, other); ok {
		t.Error("a blob was returned for a Check it does not match")
	}
	if _, ok := c.GetBlobCheck(nil, k, Check{Len: -1}); ok {
		t.Error("a negative length was accepted")
	}
	if _, ok := c.GetBlobCheck(nil, "../../etc/passwd", check); ok {
		t.Error("a key that is not a sha256 was looked up")
	}
}

// TestTrimEvictsLeastRecentlyUsed: past the bound, the entries used longest
// ago go first; one read recently stays.
func TestTrimEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, 1<<30) // no trimming while the entries are put
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	old := time.Now().Add(-time.Hour)
	for i := 0; i < 12; i++ {
		b := []byte(strings.Repeat(fmt.Sprint(i%10), 1000))
		b[0] = byte(i)
		k := sum(b)
		if !c.PutBlob(k, b) {
			t.Fatalf("put %d", i)
		}
		// entry i was last used i minutes after "old"
		at := old.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(c.blobPath(k), at, at); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if _, ok := c.GetBlob(keys[0]); !ok { // used now: the most recent
		t.Fatal("miss")
	}
	c, err = Open(dir, 8*1000)
	if err != nil {
		t.Fatal(err)
	}
	total, err := c.Trim()
	if err != nil {
		t.Fatal(err)
	}
	if total > c.MaxBytes() {
		t.Errorf("after Trim the cache holds %d bytes, bound %d", total, c.MaxBytes())
	}
	for i, k := range keys {
		_, err := os.Stat(c.blobPath(k))
		evicted := os.IsNotExist(err)
		want := i >= 1 && i <= 4 // the four least recently used: 1..4 (0 was just read)
		if evicted != want {
			t.Errorf("entry %d evicted %v, want %v", i, evicted, want)
		}
	}
}

// TestConcurrentWritersNeverShowAHalfFile: writers of the same entries and
// readers at once (as worker processes share a cache): every read is a miss
// or the whole right bytes, and no temp file is left.
func TestConcurrentWritersNeverShowAHalfFile(t *testing.T) {
	dir := t.TempDir()
	data := []byte(strings.Repeat("payload ", 20000))
	k := sum(data)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Open(dir, 64<<20) // each its own handle, as separate processes
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < 50; i++ {
				if w%2 == 0 {
					_ = c.PutTree(strings.Repeat("cd", 32), data)
					c.PutBlob(k, data)
					continue
				}
				if got, ok := c.GetTree(strings.Repeat("cd", 32)); ok && string(got) != string(data) {
					t.Error("a reader saw a partial tree entry")
				}
				if got, ok := c.GetBlob(k); ok && len(got) != len(data) {
					t.Error("a reader saw a partial blob")
				}
			}
		}()
	}
	wg.Wait()
	matches, _ := filepath.Glob(filepath.Join(dir, "*", "*", ".tmp-*"))
	if len(matches) > 0 {
		t.Errorf("temp files left: %v", matches)
	}
}
