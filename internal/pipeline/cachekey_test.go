package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/rules"
)

// TestCacheKeyChangesWithEveryInput: each thing a report is a function of
// changes the key; the input order of a build's paths does not.
func TestCacheKeyChangesWithEveryInput(t *testing.T) {
	base := func() (Config, *Build) {
		return Config{Limits: limits.Default(), Tool: reports.Tool{Name: "tomscan", Version: "1.0"}},
			&Build{Key: "aa", Inputs: []Input{{Ref: "in/a.exe"}, {Ref: "in/b.exe"}}}
	}
	cfg, b := base()
	want := CacheKey(cfg, b)
	if len(want) != 64 {
		t.Fatalf("key %q", want)
	}
	cfg2, b2 := base()
	b2.Inputs[0], b2.Inputs[1] = b2.Inputs[1], b2.Inputs[0]
	if got := CacheKey(cfg2, b2); got != want {
		t.Errorf("the order of a build's paths changed its key")
	}
	for name, change := range map[string]func(*Config, *Build){
		"build":        func(_ *Config, b *Build) { b.Key = "bb" },
		"paths":        func(_ *Config, b *Build) { b.Inputs = b.Inputs[:1] },
		"tool version": func(c *Config, _ *Build) { c.Tool.Version = "1.1" },
		"tool commit":  func(c *Config, _ *Build) { c.Tool.Commit = "abc" },
		"dependency":   func(c *Config, _ *Build) { c.Tool.Dependencies = map[string]string{"libyara": "4.5.2"} },
		"limits":       func(c *Config, _ *Build) { c.Limits.MaxDepth++ },
		"rules":        func(c *Config, _ *Build) { c.Rules = &rules.Set{Digest: "sha256:1"} },
		"rule path": func(c *Config, _ *Build) {
			c.Rules = &rules.Set{Sources: []rules.Source{{Namespace: "x", Path: "x.yar"}}}
		},
		"keyword lists":  func(c *Config, _ *Build) { c.Cache.KeywordLists = "k" },
		"trust store":    func(c *Config, _ *Build) { c.Cache.TrustStore = "t" },
		"passwords":      func(c *Config, _ *Build) { c.Cache.Passwords = "p" },
		"GeoIP database": func(c *Config, _ *Build) { c.Cache.GeoIP = "g" },
		"timestamps":     func(c *Config, _ *Build) { c.Now = time.Now },
	} {
		c, b := base()
		change(&c, b)
		if CacheKey(c, b) == want {
			t.Errorf("changing the %s left the cache key as it was", name)
		}
	}
}

// TestTreeKeyLeavesOutWhatTheTreeDoesNotDependOn: the node cache's tree
// key is the cache key without the rules, the keyword snapshots and the
// GeoIP database (what only YARA and the TOM analysers read), so a change
// of those replays the cached tree; the rest still changes it.
func TestTreeKeyLeavesOutWhatTheTreeDoesNotDependOn(t *testing.T) {
	base := func() (Config, *Build) {
		return Config{Limits: limits.Default(), Tool: reports.Tool{Name: "tomscan", Version: "1.0"}},
			&Build{Key: "aa", Inputs: []Input{{Ref: "in/a.exe"}}}
	}
	cfg, b := base()
	want := treeKey(cfg, b)
	for name, change := range map[string]func(c *Config){
		"rules":          func(c *Config) { c.Rules = &rules.Set{Digest: "sha256:1"} },
		"keyword lists":  func(c *Config) { c.Cache.KeywordLists = "k" },
		"GeoIP database": func(c *Config) { c.Cache.GeoIP = "g" },
	} {
		c, b := base()
		change(&c)
		if treeKey(c, b) != want {
			t.Errorf("changing the %s changed the tree key", name)
		}
	}
	for name, change := range map[string]func(c *Config){
		"limits":      func(c *Config) { c.Limits.MaxDepth++ },
		"trust store": func(c *Config) { c.Cache.TrustStore = "t" },
	} {
		c, b := base()
		change(&c)
		if treeKey(c, b) == want {
			t.Errorf("changing the %s left the tree key as it was", name)
		}
	}
}

// TestReportNamesItsGeoIPDatabase: a report's countries are the GeoIP
// database's claims, so its cache section names that database by sha256
// (cache.geoip); when the scan had none to name (unreadable, not set) the
// field is absent rather than a value that is not a digest.
func TestReportNamesItsGeoIPDatabase(t *testing.T) {
	digest := strings.Repeat("0123456789abcdef", 4)
	for set, want := range map[string]string{
		digest:                  digest,
		"unreadable":            "",
		"":                      "",
		strings.ToUpper(digest): "",
		digest[:63]:             "",
		digest + "0":            "",
	} {
		cfg := Config{Limits: limits.Default(), Engine: unpack.New(nil, unpack.Tools{}), Cache: CacheDigests{GeoIP: set}}
		rep, _ := newReport(cfg, &Build{Key: "aa", Inputs: []Input{{Ref: "in/a.exe"}}})
		if rep.Cache == nil || rep.Cache.GeoIP != want {
			t.Errorf("GeoIP digest %q: report names %+v, want %q", set, rep.Cache, want)
		}
	}
	// A real database (the scan's default) is named by its file's sha256.
	if d := GeoIPDigest(""); d != "unreadable" && reportedGeoIP(d) != d {
		t.Errorf("GeoIPDigest gives %q, which a report would not name", d)
	}
}
