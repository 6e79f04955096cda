package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"sort"
	"strconv"
	"sync"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/internal/tom/geoip"
)

// The TOM analysers' Finish is a pure function of the build's tree (with
// the YARA matches and the issues of its nodes), of the node bytes its
// Visit calls saw, and of the keyword-list snapshots and GeoIP database it
// compares with. Under a node cache the tree and the bytes are named by the
// build's tree key (the rule-independent key of treeKey), so a rules-only
// rescan whose rules match what they matched before would finish with the
// same result: its Finish (the verdict's pass over every string, the
// keyword lists' canonical forms, duplicates and snapshot matches) is
// memoized in the node cache, keyed by all of those, and the result is
// applied to the tree as Finish applies it (tom.Apply). A rule that matches
// something new changes the key, and the build is finished afresh.
const tomMemoFormat = "tomscan-tom-memo-v1"

// finishTOM is t.Finish(ctx, root), through the node cache's memo when the
// build has a tree key.
func finishTOM(ctx context.Context, cfg Config, t *tom.Build, root *artifact.Node, treeKey string) *tom.Result {
	key, ok := tomMemoKey(cfg, treeKey, root)
	if !ok {
		return t.Finish(ctx, root)
	}
	if payload, hit := cfg.NodeCache.GetTree(key); hit {
		var res tom.Result
		if err := json.Unmarshal(payload, &res); err == nil {
			tom.Apply(root, &res)
			if testTOMMemo != nil {
				testTOMMemo(true)
			}
			return &res
		}
	}
	if testTOMMemo != nil {
		testTOMMemo(false)
	}
	res := t.Finish(ctx, root)
	if ctx.Err() != nil {
		return res // cut by the deadline: not Finish's own answer
	}
	// The memo holds the result as the report will: through JSON (a
	// string that is not UTF-8 is written as the report writes it).
	if payload, err := json.Marshal(res); err == nil {
		_ = cfg.NodeCache.PutTree(key, payload) // a cache that cannot be written is only slower
	}
	return res
}

// testTOMMemo, in tests, is told of every memo lookup: hit or not.
var testTOMMemo func(hit bool)

// tomMemoKey is the key Finish's result for root is memoized under: the
// tree key, the snapshots' digest, the GeoIP database's digest, and every
// node's YARA matches and issues, in tree order. false: no memo (no node
// cache or tree key, or snapshots named without a digest to key them by).
func tomMemoKey(cfg Config, treeKey string, root *artifact.Node) (string, bool) {
	if cfg.NodeCache == nil || treeKey == "" || root == nil || (cfg.TOM.KeywordListsDir != "" && cfg.Cache.KeywordLists == "") {
		return "", false
	}
	h := sha256.New()
	field := func(s string) { writeLen(h, len(s)); h.Write([]byte(s)) }
	field(tomMemoFormat)
	field(treeKey)
	field(cfg.Cache.KeywordLists)
	// The scan's parent hashed the default database for every build's
	// key (CacheDigests.GeoIP): a worker takes that digest instead of
	// reading the file again (2-3 ms of CPU a worker).
	geo := cfg.Cache.GeoIP
	if geo == "" || cfg.TOM.GeoIPPath != "" {
		geo = GeoIPDigest(cfg.TOM.GeoIPPath)
	}
	field(geo)
	_ = root.Walk(func(n *artifact.Node) error {
		field(n.ID)
		writeLen(h, len(n.Matches))
		for _, m := range n.Matches {
			field(m.Namespace)
			field(m.Rule)
			writeLen(h, len(m.Tags))
			for _, t := range m.Tags {
				field(t)
			}
			keys := make([]string, 0, len(m.Meta))
			for k := range m.Meta {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			writeLen(h, len(keys))
			for _, k := range keys {
				field(k)
				field(m.Meta[k])
			}
			writeLen(h, len(m.Strings))
			for _, s := range m.Strings {
				field(s.Name)
				field(strconv.FormatUint(s.Offset, 10))
				field(s.Data)
			}
		}
		writeLen(h, len(n.Issues))
		for _, is := range n.Issues {
			field(is.Kind)
			field(is.Stage)
			field(is.Message)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), true
}

var geoIPDigests sync.Map // path -> digest

// GeoIPDigest is the sha256 of the GeoIP database the TOM analysers open
// (path, or geoip.DefaultPath), made once per process; "unreadable" when it
// cannot be read (the analysers then report that, the same each time). A
// scan puts it in its builds' keys (CacheDigests.GeoIP): a report's country
// fields are the database's claims.
func GeoIPDigest(path string) string {
	if path == "" {
		path = geoip.DefaultPath
	}
	if d, ok := geoIPDigests.Load(path); ok {
		return d.(string)
	}
	d := "unreadable"
	if f, err := os.Open(path); err == nil {
		h := sha256.New()
		if _, err := io.Copy(h, f); err == nil {
			d = hex.EncodeToString(h.Sum(nil))
		}
		f.Close()
	}
	geoIPDigests.Store(path, d)
	return d
}
