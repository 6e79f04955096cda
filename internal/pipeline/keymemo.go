package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"hash"
	"reflect"

	"github.com/tomscan/tomscan/internal/tom/keysearch"
	"github.com/tomscan/tomscan/internal/tom/lists"
)

// The TOM analysers' keyword-list key search (keysearch.Search) is most of
// a replay's CPU on TOM builds (about two thirds on the synthetic corpus),
// and it depends only on the windows and blobs the analysers collected from
// the nodes' bytes, never on the rules. With a node cache its answer is
// memoized there, keyed by a digest of exactly those inputs (and the tool
// version, whose search may differ): a rules-only rescan reads it back. The
// entry goes through the cache's tree store, so it is checksummed like a
// tree; an entry that cannot be decoded is a miss and the search runs.

// keyMemoFormat names the memo's layout and meaning; a change gets a new name.
const keyMemoFormat = "keysearch-memo-v1"

type keyMemo struct {
	Found     []keysearch.Found
	Truncated bool
}

// memoSearch is keysearch.Search through cfg's node cache.
func memoSearch(cfg Config) func(context.Context, []keysearch.Window, []keysearch.Blob, keysearch.Limits) ([]keysearch.Found, bool) {
	return func(ctx context.Context, windows []keysearch.Window, blobs []keysearch.Blob, lim keysearch.Limits) ([]keysearch.Found, bool) {
		if len(windows) == 0 && len(blobs) == 0 {
			return keysearch.Search(ctx, windows, blobs, lim)
		}
		key := keyMemoKey(cfg, windows, blobs, lim)
		if payload, ok := cfg.NodeCache.GetTree(key); ok {
			var m keyMemo
			if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&m); err == nil && validMemo(m, blobs) {
				return m.Found, m.Truncated
			}
		}
		found, cut := keysearch.Search(ctx, windows, blobs, lim)
		if ctx.Err() != nil {
			return found, cut // cut by the deadline: not the search's own answer
		}
		var buf bytes.Buffer
		if gob.NewEncoder(&buf).Encode(keyMemo{Found: found, Truncated: cut}) == nil {
			_ = cfg.NodeCache.PutTree(key, buf.Bytes()) // a cache that cannot be written is only slower
		}
		return found, cut
	}
}

// validMemo: every recovered list points at a blob that exists.
func validMemo(m keyMemo, blobs []keysearch.Blob) bool {
	for _, f := range m.Found {
		if f.Blob < 0 || f.Blob >= len(blobs) {
			return false
		}
	}
	return true
}

func keyMemoKey(cfg Config, windows []keysearch.Window, blobs []keysearch.Blob, lim keysearch.Limits) string {
	h := sha256.New()
	field := func(s string) { writeLen(h, len(s)); h.Write([]byte(s)) }
	field(keyMemoFormat)
	field(cfg.Tool.Version)
	field(cfg.Tool.Commit)
	writeLen(h, lim.MaxTrials)
	writeLen(h, lim.MinPlainLines)
	writeLen(h, len(windows))
	for _, w := range windows {
		field(w.Node)
		writeLen(h, int(w.Offset))
		writeLen(h, len(w.Data))
		h.Write(w.Data)
	}
	writeLen(h, len(blobs))
	for _, b := range blobs {
		field(b.Node)
		field(b.Location)
		field(b.Resource)
		writeLen(h, int(b.Offset))
		writeLen(h, len(b.Data))
		h.Write(b.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeLen(h hash.Hash, n int) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(int64(n)))
	h.Write(b[:])
}

// The snapshots' matches of the recovered lists are memoized the same way
// (tom.Options.Compare): they depend on the lists and on the snapshots,
// named by the digest the scan's cache key holds (Config.Cache), never on
// the rules. A rules-only rescan then does not load the snapshots (a
// tenth of a worker's replay work on the synthetic corpus) nor compare.
// The memo is JSON, stored only when it decodes to exactly the matches
// computed, so what is read back is them.
const compareMemoFormat = "snapshot-compare-memo-v1"

// memoCompare is tom.Options.Compare through cfg's node cache; nil without
// a digest of the snapshots to key it by.
func memoCompare(cfg Config) func(context.Context, [][]string, func() ([]lists.Match, error)) ([]lists.Match, error) {
	if cfg.Cache.KeywordLists == "" {
		return nil
	}
	return func(ctx context.Context, found [][]string, compute func() ([]lists.Match, error)) ([]lists.Match, error) {
		key := compareMemoKey(cfg, found)
		if payload, ok := cfg.NodeCache.GetTree(key); ok {
			var m []lists.Match
			if err := json.Unmarshal(payload, &m); err == nil && len(m) == len(found) {
				return m, nil
			}
		}
		m, err := compute()
		if err != nil || ctx.Err() != nil {
			return m, err
		}
		if payload, err := json.Marshal(m); err == nil {
			var back []lists.Match
			if json.Unmarshal(payload, &back) == nil && reflect.DeepEqual(back, m) {
				_ = cfg.NodeCache.PutTree(key, payload) // a cache that cannot be written is only slower
			}
		}
		return m, nil
	}
}

func compareMemoKey(cfg Config, found [][]string) string {
	h := sha256.New()
	field := func(s string) { writeLen(h, len(s)); h.Write([]byte(s)) }
	field(compareMemoFormat)
	field(cfg.Tool.Version)
	field(cfg.Tool.Commit)
	field(cfg.Cache.KeywordLists)
	writeLen(h, len(found))
	for _, l := range found {
		writeLen(h, len(l))
		for _, e := range l {
			field(e)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
