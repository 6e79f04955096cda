package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/nodecache"
)

// TestTOMMemoKey: the memo's key changes with every input of Finish it
// stands for (the tree key, the snapshots' digest, the GeoIP database, any
// node's matches, their strings and meta, any node's issues) and with
// nothing else; there is no key without a node cache or a tree key, nor
// for snapshots named without their digest.
func TestTOMMemoKey(t *testing.T) {
	cache, err := nodecache.Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	geo := filepath.Join(t.TempDir(), "GeoIP.dat")
	if err := os.WriteFile(geo, []byte("one database"), 0o644); err != nil {
		t.Fatal(err)
	}
	geo2 := filepath.Join(t.TempDir(), "GeoIP.dat")
	if err := os.WriteFile(geo2, []byte("another database"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := func() *artifact.Node {
		root := &artifact.Node{ID: "0", Name: "setup.exe"}
		c := root.NewChild("Skype.exe", "nsis")
		c.Matches = []artifact.Match{{Rule: "TOMSkype_Identity", Namespace: "tom", Meta: map[string]string{"category": "identity", "family": "tom"},
			Strings: []artifact.MatchString{{Name: "$a", Offset: 16, Data: "TOM-Skype"}}}}
		c.Issues = []artifact.Issue{{Kind: artifact.KindParse, Stage: "pe", Message: "overlay"}}
		root.Children = append(root.Children, c)
		return root
	}
	cfg := Config{NodeCache: cache}
	cfg.TOM.GeoIPPath = geo
	cfg.Cache.KeywordLists = "snapshots-digest"
	cfg.TOM.KeywordListsDir = "/snapshots"
	key := func(cfg Config, treeKey string, root *artifact.Node) string {
		t.Helper()
		k, ok := tomMemoKey(cfg, treeKey, root)
		if !ok {
			t.Fatal("no key")
		}
		return k
	}
	want := key(cfg, "tree", tree())
	if got := key(cfg, "tree", tree()); got != want {
		t.Fatalf("same inputs, other key: %s vs %s", got, want)
	}
	changes := map[string]func(c *Config, treeKey *string, root *artifact.Node){
		"tree key":          func(c *Config, k *string, r *artifact.Node) { *k = "other tree" },
		"snapshots' digest": func(c *Config, k *string, r *artifact.Node) { c.Cache.KeywordLists = "other digest" },
		"GeoIP database":    func(c *Config, k *string, r *artifact.Node) { c.TOM.GeoIPPath = geo2 },
		"a match more": func(c *Config, k *string, r *artifact.Node) {
			r.Matches = []artifact.Match{{Rule: "Extra", Namespace: "extra"}}
		},
		"a match's rule":     func(c *Config, k *string, r *artifact.Node) { r.Children[0].Matches[0].Rule = "TOMSkype_Other" },
		"a match's meta":     func(c *Config, k *string, r *artifact.Node) { r.Children[0].Matches[0].Meta["family"] = "skype" },
		"a match's tag":      func(c *Config, k *string, r *artifact.Node) { r.Children[0].Matches[0].Tags = []string{"t"} },
		"a string's offset":  func(c *Config, k *string, r *artifact.Node) { r.Children[0].Matches[0].Strings[0].Offset = 17 },
		"a string's data":    func(c *Config, k *string, r *artifact.Node) { r.Children[0].Matches[0].Strings[0].Data = "TOM-Skypf" },
		"an issue's message": func(c *Config, k *string, r *artifact.Node) { r.Children[0].Issues[0].Message = "overlay!" },
		"an issue more":      func(c *Config, k *string, r *artifact.Node) { r.AddIssue(artifact.KindScan, "yara", "timeout") },
		// fields that run together must not hash alike
		"rule and namespace run together": func(c *Config, k *string, r *artifact.Node) {
			m := &r.Children[0].Matches[0]
			m.Namespace, m.Rule = "to", "mTOMSkype_Identity"
		},
	}
	for name, change := range changes {
		c, k, r := cfg, "tree", tree()
		change(&c, &k, r)
		if got := key(c, k, r); got == want {
			t.Errorf("%s: same key", name)
		}
	}
	// The default database: a worker takes the digest its scan made for
	// the builds' keys (Cache.GeoIP), which stands for the file as read.
	def := cfg
	def.TOM.GeoIPPath = ""
	def.Cache.GeoIP = ""
	read := key(def, "tree", tree())
	def.Cache.GeoIP = GeoIPDigest("")
	if got := key(def, "tree", tree()); got != read {
		t.Errorf("the scan's digest of the default database gives another key than reading it")
	}
	def.Cache.GeoIP = "another database's digest"
	if got := key(def, "tree", tree()); got == read {
		t.Errorf("the scan's GeoIP digest: same key")
	}
	noKey := map[string]func(c *Config) string{
		"no node cache": func(c *Config) string { c.NodeCache = nil; return "tree" },
		"no tree key":   func(c *Config) string { return "" },
		"snapshots without a digest": func(c *Config) string {
			c.Cache.KeywordLists = ""
			return "tree"
		},
	}
	for name, change := range noKey {
		c := cfg
		k := change(&c)
		if _, ok := tomMemoKey(c, k, tree()); ok {
			t.Errorf("%s: a key", name)
		}
	}
}
