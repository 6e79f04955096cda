package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/rules"
)

// CacheDigests are the digests of what shapes a report besides the build,
// the tool, the rules and the limits; the caller computes them from the
// files it read (keyword-list snapshots, trust store, password list, GeoIP
// database).
type CacheDigests struct {
	KeywordLists string // lists.Snapshots.Digest; "" without --keyword-lists
	TrustStore   string // sha256 of the trust store's PEM; "" without
	Passwords    string // sha256 over the password list; it enters the key only, never a report
	// GeoIP is the sha256 of the GeoIP database the TOM analysers give
	// endpoints their country from (GeoIPDigest); it enters the key, and
	// reports name it (cache.geoip) when it is a digest.
	GeoIP string
}

// cacheKeyInputs is everything a report is a function of, but the build.
// Its JSON is hashed, so a field added here changes every key (and so a
// tomscan that adds one rescans everything once: the safe direction).
type cacheKeyInputs struct {
	Schema       string            `json:"schema"`
	Tool         reports.Tool      `json:"tool"`
	Rules        reports.RulesInfo `json:"rules"`
	Limits       limits.Limits     `json:"limits"`
	Extractors   []string          `json:"extractors"`
	KeywordLists string            `json:"keyword_lists"`
	TrustStore   string            `json:"trust_store"`
	Passwords    string            `json:"passwords"`
	GeoIP        string            `json:"geoip"`
	Timestamps   bool              `json:"timestamps"`
}

// cacheBase is the part of every build's key that depends on cfg alone
// (and on the rules as ri describes them).
func cacheBase(cfg Config, ri reports.RulesInfo) string {
	in := cacheKeyInputs{
		Schema:       reports.SchemaVersion,
		Tool:         cfg.Tool,
		Rules:        ri,
		Limits:       cfg.Limits,
		KeywordLists: cfg.Cache.KeywordLists,
		TrustStore:   cfg.Cache.TrustStore,
		Passwords:    cfg.Cache.Passwords,
		GeoIP:        cfg.Cache.GeoIP,
		Timestamps:   cfg.Now != nil,
	}
	if cfg.Engine != nil {
		in.Extractors = cfg.Engine.Extractors()
	}
	b, err := json.Marshal(in)
	if err != nil {
		panic("pipeline: cache key inputs do not encode: " + err.Error()) // plain data: cannot happen
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// CacheKey is the key build b's report is made under with cfg: the sha256
// of the build's bytes, every path it was found at (the report lists them),
// and cacheBase. Same key, same report bytes: a scan that finds an archived
// report with this key reuses it (README: Reuse).
func CacheKey(cfg Config, b *Build) string {
	return CacheKeyRules(cfg, rulesInfo(cfg), b)
}

// CacheKeyRules is CacheKey with the rules described by ri instead of
// cfg.Rules (which may be nil): a scan computes its builds' keys before it
// compiles the rules, and compiles them only when a build is not reusable.
// ri must be what RulesInfo gives for the sources cfg.Rules would be
// compiled from.
func CacheKeyRules(cfg Config, ri reports.RulesInfo, b *Build) string {
	refs := make([]string, 0, len(b.Inputs))
	for _, in := range b.Inputs {
		refs = append(refs, in.Ref)
	}
	sort.Strings(refs)
	in, _ := json.Marshal(struct {
		Build string   `json:"build"`
		Refs  []string `json:"refs"`
		Base  string   `json:"base"`
	}{b.Key, refs, cacheBase(cfg, ri)})
	sum := sha256.Sum256(in)
	return hex.EncodeToString(sum[:])
}

// rulesInfo is the report's description of cfg's rules.
func rulesInfo(cfg Config) reports.RulesInfo {
	var ri reports.RulesInfo
	if cfg.Rules == nil {
		return ri
	}
	return RulesInfo(cfg.Rules.Sources, cfg.Rules.Digest, len(cfg.Rules.Names))
}

// RulesInfo is the report's description of the rules compiled from
// sources: their digest (rules.SourcesDigest), how many rules they hold,
// and their files.
func RulesInfo(sources []rules.Source, digest string, count int) reports.RulesInfo {
	ri := reports.RulesInfo{Digest: digest, Count: count}
	for _, s := range sources {
		ri.Files = append(ri.Files, reports.RuleFile{Namespace: s.Namespace, Path: s.Path})
	}
	return ri
}

// reportedGeoIP is what a report names as its GeoIP database (cache.geoip):
// the digest, or "" when there is none to name (the database could not be
// read: GeoIPDigest's "unreadable", or a caller that set none).
func reportedGeoIP(digest string) string {
	if !isSHA256Hex(digest) {
		return ""
	}
	return digest
}
