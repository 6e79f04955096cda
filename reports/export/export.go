// Package export turns archived reports into the formats people share:
// CSV for spreadsheets (one row per build, or one per keyword), NDJSON for
// pipelines (one JSON object per build and line) and a STIX 2.1 bundle for
// threat-intelligence tools.
//
// Every format is derived from the report alone (through reports.View), is
// sorted (builds by version, then sha256) and carries no wall-clock time
// unless asked, so the same archive always exports to the same bytes.
package export

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/timeline"
)

// Kinds are the verdict kinds a build can carry, in the order help lists
// them ("" is a report without a TOM section).
var Kinds = []string{tom.KindTOMEnglish, tom.KindTOMChinese, tom.KindJointVenture, tom.KindRegular, tom.KindUnrelated, tom.KindUndetermined}

// IsTOM says whether a verdict kind is a TOM-Skype build.
func IsTOM(kind string) bool { return kind == tom.KindTOMEnglish || kind == tom.KindTOMChinese }

// Input is one archived build.
type Input struct {
	Key    string // the archive key: the build's sha256
	Report *reports.Report
}

// Record is one build as the exports show it. Its JSON is an NDJSON line.
type Record struct {
	Path       string     `json:"path"`
	SHA256     string     `json:"sha256"`
	Version    string     `json:"version"`
	Verdict    string     `json:"verdict"`
	Confidence float64    `json:"confidence"`
	Language   string     `json:"language"`
	Status     string     `json:"status"`
	ScannedAt  string     `json:"scanned_at,omitempty"` // only when the scan recorded it (--timestamps)
	Endpoints  []Endpoint `json:"endpoints"`
	Lists      []List     `json:"keyword_lists"`
	// KeywordCounts is keywords per list role (keyfile, keyfile_u, ...),
	// summed over the build's lists.
	KeywordCounts map[string]int `json:"keyword_counts"`
	// Reused is set only by `scan --ndjson`, for a build the scan did not
	// scan again because its archived report was made under the same cache
	// key (the record is that report's).
	Reused bool `json:"reused,omitempty"`
}

// Endpoint is one network address of a build.
type Endpoint struct {
	Value   string `json:"value"`
	Kind    string `json:"kind,omitempty"` // url, host, ipv4
	Host    string `json:"host"`
	Class   string `json:"class,omitempty"`
	Country string `json:"country,omitempty"`
}

// List is one recovered keyword list and its closest known snapshot.
type List struct {
	Role     string   `json:"role"` // keyfile (censor), keyfile_u (surveillance), or where it was found
	Family   string   `json:"family,omitempty"`
	Snapshot string   `json:"snapshot,omitempty"` // the closest snapshot's date
	Jaccard  string   `json:"jaccard,omitempty"`
	Count    int      `json:"count"`
	Node     string   `json:"node"`
	Keywords []string `json:"-"` // as the report holds them, byte for byte
}

// Closest names the list's closest snapshot, "family/role.date", or "".
func (l List) Closest() string {
	if l.Snapshot == "" {
		return ""
	}
	return l.Family + "/" + l.Role + "." + l.Snapshot
}

// NewRecord derives a build's record from its report.
func NewRecord(key string, r *reports.Report) Record {
	return NewRecordView(key, r, reports.NewView(r))
}

// NewRecordView is NewRecord from r's view (reports.NewView), for a caller
// that derives other things from the same view; v is not changed.
func NewRecordView(key string, r *reports.Report, v *reports.View) Record {
	rec := Record{Path: v.Path, SHA256: v.SHA256, Version: v.Version, Verdict: v.Verdict, Confidence: v.Confidence,
		Language: language(r), Status: v.Status, ScannedAt: r.ScannedAt,
		Endpoints: []Endpoint{}, Lists: []List{}, KeywordCounts: map[string]int{}}
	if rec.SHA256 == "" {
		rec.SHA256 = key
	}
	for _, e := range v.Endpoints {
		rec.Endpoints = append(rec.Endpoints, Endpoint{Value: e.Value, Kind: e.Kind, Host: e.Host, Class: e.Class, Country: e.Country})
	}
	sort.SliceStable(rec.Endpoints, func(i, j int) bool { return rec.Endpoints[i].Value < rec.Endpoints[j].Value })
	for _, kl := range v.KeywordLists {
		l := List{Role: kl.Name, Family: kl.Family, Snapshot: kl.Snapshot, Jaccard: kl.Jaccard, Count: kl.Count,
			Node: kl.Node, Keywords: kl.Keywords}
		rec.Lists = append(rec.Lists, l)
		rec.KeywordCounts[l.Role] += l.Count
	}
	return rec
}

// language reads the verdict's language ("en", "zh"), which View does not keep.
func language(r *reports.Report) string {
	if r.TOM != nil {
		return r.TOM.Verdict.Language
	}
	var t struct {
		Verdict struct {
			Language string `json:"language"`
		} `json:"verdict"`
	}
	if r.TOMRaw != nil && json.Unmarshal(r.TOMRaw, &t) == nil {
		return t.Verdict.Language
	}
	return ""
}

// Records derives every input's record, keeps those whose verdict is in
// verdicts (all when verdicts is empty), and sorts them by version, then
// sha256: the archive index's order.
func Records(in []Input, verdicts []string) []Record {
	want := map[string]bool{}
	for _, k := range verdicts {
		want[k] = true
	}
	var out []Record
	for _, e := range in {
		rec := NewRecord(e.Key, e.Report)
		if len(want) > 0 && !want[rec.Verdict] {
			continue
		}
		out = append(out, rec)
	}
	timeline.SortByVersion(out, func(r Record) string { return r.Version }, func(r Record) string { return r.SHA256 })
	return out
}

// roles are the list-role columns of the CSV. A list's role comes from the
// report (a snapshot name, or where a list was found) and can be anything a
// hostile build makes it, so it never names a column: keyfile and keyfile_u
// have their own, every other role is summed under "other".
var roles = []string{"keyfile", "keyfile_u", "other"}

// roleCount is the keywords of r's lists in one of roles.
func (r Record) roleCount(role string) int {
	if role != "other" {
		return r.KeywordCounts[role]
	}
	n := 0
	for k, c := range r.KeywordCounts {
		if k != "keyfile" && k != "keyfile_u" {
			n += c
		}
	}
	return n
}

// hosts is the build's distinct endpoint hosts, sorted.
func (r Record) hosts() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range r.Endpoints {
		h := strings.ToLower(e.Host)
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}
