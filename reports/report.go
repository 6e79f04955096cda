// Package reports defines the per-build report (a versioned schema), its
// encoders and the archive it is written into. A report is a pure function of
// the inputs, the rules, the limits and the tool version: no wall-clock time
// unless asked for, sorted everything, so reruns are byte-identical.
package reports

import (
	"encoding/json"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/tom"
)

// SchemaVersion is bumped on every change to the JSON shape: major for
// removals or changed meanings, minor for additions.
const SchemaVersion = "2.2.0" // 2: keyword lists byte-exact (count, sha256, keywords changed meaning), evidence provenance and weights; 2.1: cache (the key the report was made under); 2.2: cache.geoip (the database the countries come from)

// Build statuses.
const (
	StatusSucceeded = "succeeded" // every stage ran on every node without an issue
	StatusPartial   = "partial"   // the build was read, but some node has an issue
	StatusFailed    = "failed"    // the build itself could not be read or made sense of
)

// Report is one build's report.
type Report struct {
	SchemaVersion string         `json:"schema_version"`
	Tool          Tool           `json:"tool"`
	Rules         RulesInfo      `json:"rules"`
	Limits        limits.Limits  `json:"limits"`
	Extractors    []string       `json:"extractors"`
	Build         BuildRef       `json:"build"`
	Status        string         `json:"status"`
	StatusReason  string         `json:"status_reason,omitempty"`
	ScannedAt     string         `json:"scanned_at,omitempty"` // only with --timestamps
	Cache         *Cache         `json:"cache,omitempty"`
	Summary       Summary        `json:"summary"`
	TOM           *tom.Result    `json:"tom,omitempty"`
	Tree          *artifact.Node `json:"tree"`

	// TOMRaw is the "tom" section exactly as a loaded report.json holds it,
	// so re-rendering an archive shows fields this build does not model.
	TOMRaw json.RawMessage `json:"-"`
}

// Tool names this program and the libraries that shaped the report.
type Tool struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Commit       string            `json:"commit,omitempty"`
	Dependencies map[string]string `json:"dependencies"` // module or library -> version
}

// RulesInfo identifies the rule set that was applied.
type RulesInfo struct {
	Digest string     `json:"digest"`
	Files  []RuleFile `json:"files"`
	Count  int        `json:"count"`
}

// RuleFile is one compiled rule file.
type RuleFile struct {
	Namespace string `json:"namespace"`
	Path      string `json:"path"`
}

// BuildRef identifies the input file.
type BuildRef struct {
	Path   string   `json:"path"`            // relative to the scanned argument's parent
	Paths  []string `json:"paths,omitempty"` // every input path with these bytes, sorted
	Size   int64    `json:"size"`
	MD5    string   `json:"md5,omitempty"`
	SHA1   string   `json:"sha1,omitempty"`
	SHA256 string   `json:"sha256,omitempty"`
	Type   string   `json:"type,omitempty"`
}

// Summary counts what the tree holds.
type Summary struct {
	Nodes      int            `json:"nodes"`
	PEs        int            `json:"pes"`
	Duplicates int            `json:"duplicates"`
	Matches    int            `json:"matches"`
	Rules      []string       `json:"rules,omitempty"` // namespace:rule that matched anywhere, sorted
	Issues     int            `json:"issues"`
	IssueKinds map[string]int `json:"issue_kinds,omitempty"`
	MaxDepth   int            `json:"max_depth"`
}

// Cache records what shaped the report besides the build's bytes, the tool,
// the rules and the limits (those are above): digests of the keyword-list
// snapshots and the trust store, and the key computed from all of it and
// the password list (pipeline.CacheKey; the passwords enter the key only). A scan that would compute the same key for the
// same build reuses the archived report instead of scanning again.
type Cache struct {
	Key          string `json:"key"`
	KeywordLists string `json:"keyword_lists,omitempty"` // digest of the --keyword-lists snapshots; "" without
	TrustStore   string `json:"trust_store,omitempty"`   // sha256 of the --trust-store PEM; "" without
	// GeoIP is the sha256 of the GeoIP database the endpoints' countries
	// come from: a country is that database's claim, and the report names
	// it. "" when it could not be read (no country is then given).
	GeoIP string `json:"geoip,omitempty"`
}
