// Package tom holds the TOM-Skype analysers: the identity verdict with its
// evidence, the endpoints a build carries, and the keyword filter lists,
// decrypted. They see only the bytes and the tree of a build, never file
// names of the corpus or which spec produced a build.
//
// The pipeline calls NewBuild per build, Visit for every analysed node while
// its bytes are loaded (after PE, strings and YARA filled n.PE, n.Strings and
// n.Matches), and Finish once the tree is complete. Visit keeps only small,
// bounded candidates: byte windows around keyword-list URLs (for keys) and
// candidate list blobs (RCDATA leaves, plain files).
//
// # Report (JSON field "tom" of a build's report)
//
//	verdict            the answer for the build
//	  kind             regular-skype | tom-skype-english | tom-skype-chinese |
//	                   post-tom-joint-venture | unrelated | undetermined
//	  confidence       0..0.99, two decimals (see "# Verdict")
//	  reason           why, in plain words
//	  language         "zh" or "en" for Skype builds, from the product executable
//	  product_node     the executable that carries the product identity
//	  language_node    the executable whose resources decided the language
//	  evidence[]       {node, source, provenance, weight, decides, family,
//	                    detail, offset, count, locations[]}: why, heaviest
//	                    first; an identical text at many offsets or nodes is
//	                    one item with a count and the first locations
//	  evidence_omitted items past the first 256
//	endpoints[]        every URL, host name and IPv4 literal in any node's strings,
//	                   deduplicated per build (case-insensitive value), sorted
//	  value            as found ("http://skypetools.tom.com/agent/keyfile")
//	  kind             url | host | ipv4
//	  host             lower-case host or IPv4 literal
//	  class            surveillance-upload | keyword-list | version-check | update | other
//	  country          ISO 3166 code of an IPv4 host (offline GeoIP), "" when unknown
//	  locations[]      {node, offset, encoding}: where, at most maxLocations
//	keyword_lists[]    lists recovered, in node order
//	  cipher           xor | aes-256-ecb | des-ecb | none
//	  key_hex          the key ("" for none)
//	  key_node, key_offset, key_encoding (raw | hex)   where the key is
//	  location         rcdata | installer-file | cache-file
//	  node, resource, offset    where the list is (resource: the RCDATA leaf)
//	  encoding         gbk | utf-8
//	  count            distinct exact entries (whitespace kept, nothing merged)
//	  entries_total    every entry, duplicates included
//	  sha256           keywords.ExactDigest: the exact entries in file order
//	  keywords[]       the distinct exact entries, in order of first appearance
//	  duplicates[]     {entry, count}: entries found more than once
//	  normalized_count, normalized_sha256   trimmed, deduplicated, sorted form
//	                   (keywords.Canonical), beside the exact one for comparison
//	  snapshot         closest Citizen Lab snapshot by exact entries: family,
//	                   name, date, jaccard, common, added[] and removed[]
//	                   against it, unknown[] (entries in no snapshot)
//	des_upload_key     {key_hex, node, offset, method}: the 8-byte DES key of the
//	                   3.6/4.0 message upload, TOM-Skype builds only. method:
//	                   "rule:<name>" (a YARA rule matched the key's 8 bytes),
//	                   "field-after-upload-url" (the configuration field right
//	                   after the client's upload URL), "field-after-list-keys"
//	                   (the first unknown key-like field after the list keys);
//	                   see deskey.go
//	  locations_omitted  occurrences beyond maxLocations
//	issues[]           limits hit and failures of the analysers ({kind, stage, message});
//	                   also added to the root node, so the build's status shows them
//
// # Verdict
//
// Every observation is an evidence item with a provenance class (where it
// was read: pe-version-info, signer, pe-resources, installer-script,
// pe-strings, document, archive-member-name, third-party-pe,
// input-file-name) and that class's weight (Weights). TOM-Skype marks:
// a TOMSkype_* rule match; "TOM-Skype", "TOM Online", "TOM在线" or "Tom Word
// Review" in version info, a signer, an installer table or a string; a
// Skype service URL on tom.com or a name under it (not "harmless-tom.com",
// not a plain link to www.tom.com); a file name with TOM-Skype in it.
// Joint venture: skype.gmw.cn hosts or Skype_JointVenture_GMW. Regular:
// Skype_Regular_Identity or "Skype Technologies" in version info, signer or
// strings.
//
// Only executable content decides (Decides): a family is the verdict when
// some of its evidence is PE version info, PE resources, PE strings, a
// signer or installer script/tables, of a PE that does not name another
// maker in its version info. TOM-Skype wins over the joint venture, which
// wins over Skype. Marks found only in documents, member names, the input
// name or other makers' programs give undetermined, with the reason in
// plain words; no mark at all gives unrelated (0.90), or undetermined when
// some node was not wholly analysed. English or Chinese is decided by the
// product executable (productCandidates, language); helpers do not
// outvote it. Confidence is 1 - prod(1 - weight) over the distinct kinds
// (source, provenance class) of the winning family's evidence, capped at
// 0.99, times 0.75 when a TOM-Skype build's language is undecided, rounded
// to two decimals.
//
// ServerTable joins per-build results into GreatFire's server table:
// endpoint, class, country, builds carrying it.
package tom

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/keywords"
	"github.com/tomscan/tomscan/internal/tom/geoip"
	"github.com/tomscan/tomscan/internal/tom/keysearch"
	"github.com/tomscan/tomscan/internal/tom/lists"
)

// Verdict kinds.
const (
	KindRegular      = "regular-skype"
	KindTOMEnglish   = "tom-skype-english"
	KindTOMChinese   = "tom-skype-chinese"
	KindJointVenture = "post-tom-joint-venture"
	KindUnrelated    = "unrelated"
	KindUndetermined = "undetermined"
)

// Result is the TOM section of a build's report.
type Result struct {
	Verdict      Verdict          `json:"verdict"`
	Endpoints    []Endpoint       `json:"endpoints,omitempty"`
	KeywordLists []KeywordList    `json:"keyword_lists,omitempty"`
	DESUploadKey *DESKey          `json:"des_upload_key,omitempty"`
	Issues       []artifact.Issue `json:"issues,omitempty"`
}

// Verdict is the answer for one build with the evidence behind it.
type Verdict struct {
	Kind       string  `json:"kind"`
	Confidence float64 `json:"confidence"` // two decimals; see verdict
	// Reason says in plain words why this kind ("TOM-Skype is mentioned
	// only in a text document ...").
	Reason   string `json:"reason"`
	Language string `json:"language,omitempty"`
	// ProductNode is the executable that carries the product identity;
	// LanguageNode the one whose resources decided the language.
	ProductNode  string `json:"product_node,omitempty"`
	LanguageNode string `json:"language_node,omitempty"`
	// Evidence is ranked by weight, heaviest first.
	Evidence        []Evidence `json:"evidence"`
	EvidenceOmitted int        `json:"evidence_omitted,omitempty"` // items past maxEvidence
}

// Evidence is one observation behind a verdict. Identical observations on
// one node (the same text at many offsets) are one item with a count.
type Evidence struct {
	Node string `json:"node"`
	// Source is what was seen: rule, version-info, string, endpoint,
	// signer, installer, name, language, issue, absence.
	Source string `json:"source"`
	// Provenance is where it was read (ProvVersionInfo ... ProvInputName);
	// Weight is that class's weight (Weights), 0 for language, issue and
	// absence items, which explain and do not count.
	Provenance string  `json:"provenance"`
	Weight     float64 `json:"weight"`
	// Decides: executable content, which can decide a verdict; documents,
	// names and other makers' programs can only support one.
	Decides bool   `json:"decides"`
	Family  string `json:"family,omitempty"` // tom | joint-venture | skype
	Detail  string `json:"detail"`
	Offset  int64  `json:"offset,omitempty"` // the first occurrence
	// Count is how many occurrences (offsets, nodes) this item stands
	// for; Locations are the first of them, when Count > 1.
	Count     int        `json:"count"`
	Locations []Location `json:"locations,omitempty"`
}

// Endpoint is one URL, host or IPv4 literal of a build.
type Endpoint struct {
	Value     string     `json:"value"`
	Kind      string     `json:"kind"`
	Host      string     `json:"host"`
	Class     string     `json:"class"`
	Country   string     `json:"country,omitempty"`
	Locations []Location `json:"locations"`
	// LocationsOmitted counts occurrences beyond maxLocations.
	LocationsOmitted int `json:"locations_omitted,omitempty"`
}

// Location is where something was seen.
type Location struct {
	Node     string `json:"node"`
	Offset   int64  `json:"offset"`
	Encoding string `json:"encoding,omitempty"`
}

// KeywordList is one recovered list.
type KeywordList struct {
	Cipher      string `json:"cipher"`
	KeyHex      string `json:"key_hex,omitempty"`
	KeyNode     string `json:"key_node,omitempty"`
	KeyOffset   int64  `json:"key_offset,omitempty"`
	KeyEncoding string `json:"key_encoding,omitempty"` // "raw" or "hex"
	Location    string `json:"location"`
	Node        string `json:"node"`
	Resource    string `json:"resource,omitempty"`
	Offset      int64  `json:"offset"`
	Encoding    string `json:"encoding"`
	// Count is the number of distinct exact entries; EntriesTotal counts
	// every entry, duplicates included.
	Count        int    `json:"count"`
	EntriesTotal int    `json:"entries_total"`
	SHA256       string `json:"sha256"` // keywords.ExactDigest of the entries in file order
	// Keywords are the distinct exact entries in order of first appearance:
	// whitespace kept, nothing merged. Duplicates are the entries found more
	// than once, with how often.
	Keywords   []string             `json:"keywords"`
	Duplicates []keywords.Duplicate `json:"duplicates,omitempty"`
	// NormalizedCount and NormalizedSHA256 are the trimmed, deduplicated,
	// sorted form (keywords.Canonical, keywords.Digest), for comparison only.
	NormalizedCount  int          `json:"normalized_count"`
	NormalizedSHA256 string       `json:"normalized_sha256"`
	Snapshot         *lists.Match `json:"snapshot,omitempty"`
}

// DESKey is the message-upload key.
type DESKey struct {
	KeyHex string `json:"key_hex"`
	Node   string `json:"node"`
	Offset int64  `json:"offset"`
	Method string `json:"method"` // "rule:<name>", "field-after-upload-url", "field-after-list-keys"
}

// Options configure the analysers.
type Options struct {
	KeywordListsDir string // Citizen Lab snapshots to compare recovered lists with; "" to skip
	GeoIPPath       string // legacy GeoIP country database; "" for geoip.DefaultPath
	// Search, when set, runs the keyword-list key search in place of
	// keysearch.Search and must answer as it would: a pure function of
	// its inputs, which the pipeline's node cache memoizes, so a
	// rules-only rescan does not search for keys again.
	Search func(ctx context.Context, windows []keysearch.Window, blobs []keysearch.Blob, lim keysearch.Limits) ([]keysearch.Found, bool) `json:"-"`
	// Compare, when set, answers for compare: the snapshots' matches of
	// the recovered lists (distinct entries each), one per list, which it
	// may take from a memo of an earlier call for the same lists and the
	// same snapshots (the pipeline's node cache does, keyed by the
	// snapshots' digest), or get from compute. A rules-only rescan then
	// neither loads the snapshots nor compares again.
	Compare func(ctx context.Context, lists [][]string, compute func() ([]lists.Match, error)) ([]lists.Match, error) `json:"-"`
}

// Build is the analysers' state for one build. The pipeline calls Visit for
// every analysed node while its bytes are still loaded (they are released
// right after), then Finish once the tree is complete.
type Build struct {
	opts Options
	mu   sync.Mutex // Visit may be called from the engine's goroutines
	c    collected
}

// NewBuild starts the analysis of one build.
func NewBuild(opts Options) *Build { return &Build{opts: opts} }

// Finish runs the build-level analysers over the analysed tree.
func (b *Build) Finish(ctx context.Context, root *artifact.Node) *Result {
	b.mu.Lock()
	defer b.mu.Unlock()
	res := &Result{}
	res.Issues = append(res.Issues, b.c.issues...)

	eps := iosEndpoints(root, b.endpoints(ctx, root)) // ios.go: ATS plain-HTTP hosts
	res.Verdict = verdict(ctx, root, eps)
	res.Endpoints = eps
	res.Issues = append(res.Issues, b.countries(res.Endpoints)...)

	var keys []keyAt
	res.KeywordLists, keys, res.Issues = b.keywordLists(ctx, root, res.Issues)
	// The upload key is a TOM-Skype notion: key-like bytes beside an
	// IP-addressed URL in other software are not reported.
	if res.Verdict.Kind == KindTOMEnglish || res.Verdict.Kind == KindTOMChinese {
		res.DESUploadKey = b.desKey(keys)
	}
	Apply(root, res)
	return res
}

// Apply marks root's tree with what Finish found, as Finish does: the
// result's issues on the root, its findings on the nodes that hold a
// recovered list, its key or the upload key. A caller that has res for the
// same tree from an earlier Finish (the pipeline's memo of a replay whose
// YARA matches did not change) applies it instead of finishing again.
func Apply(root *artifact.Node, res *Result) {
	for _, is := range res.Issues {
		root.AddIssue(is.Kind, is.Stage, is.Message)
	}
	addFindings(root, res)
}

// addFindings marks the nodes that hold a recovered list, its key or the
// upload key, so the tree shows them where they are.
func addFindings(root *artifact.Node, res *Result) {
	byID := map[string]*artifact.Node{}
	_ = root.Walk(func(n *artifact.Node) error { byID[n.ID] = n; return nil })
	add := func(id string, f artifact.Finding) {
		if n := byID[id]; n != nil {
			f.Analyzer = "tom"
			n.Findings = append(n.Findings, f)
		}
	}
	for _, l := range res.KeywordLists {
		d := map[string]string{"cipher": l.Cipher, "count": fmt.Sprint(l.Count), "location": l.Location}
		if l.Resource != "" {
			d["resource"] = l.Resource
		}
		add(l.Node, artifact.Finding{Kind: "keyword-list", Value: l.SHA256, Offset: l.Offset, Detail: d})
		if l.KeyHex != "" {
			add(l.KeyNode, artifact.Finding{Kind: "keyword-list-key", Value: l.KeyHex, Offset: l.KeyOffset,
				Detail: map[string]string{"cipher": l.Cipher, "encoding": l.KeyEncoding, "list": l.SHA256}})
		}
	}
	if k := res.DESUploadKey; k != nil {
		add(k.Node, artifact.Finding{Kind: "des-upload-key", Value: k.KeyHex, Offset: k.Offset, Detail: map[string]string{"method": k.Method}})
	}
}

// keywordLists runs the key search over what Visit kept.
func (b *Build) keywordLists(ctx context.Context, root *artifact.Node, issues []artifact.Issue) ([]KeywordList, []keyAt, []artifact.Issue) {
	windows := keysearch.SortWindows(b.c.windows)
	blobs := b.c.sortedBlobs()
	search := keysearch.Search
	if b.opts.Search != nil {
		search = b.opts.Search
	}
	found, cut := search(ctx, windows, blobs, keysearch.Limits{})
	if cut {
		issues = append(issues, artifact.Issue{Kind: artifact.KindLimit, Stage: "tom",
			Message: fmt.Sprintf("keyword-list key search stopped at %d trials (key offsets x blobs) or by the deadline: %d windows, %d blobs; lists may be missing", keysearch.DefaultMaxTrials, len(windows), len(blobs))})
	}
	distincts := make([][]string, len(found))
	for i, f := range found {
		distincts[i] = keywords.Distinct(f.List.Lines)
	}
	var matches []lists.Match // one per found list; nil: not compared
	if b.opts.KeywordListsDir != "" && len(found) > 0 {
		compute := func() ([]lists.Match, error) {
			s, err := lists.Load(ctx, b.opts.KeywordListsDir)
			if err != nil {
				return nil, err
			}
			out := make([]lists.Match, len(distincts))
			for i, d := range distincts {
				out[i] = s.Compare(d)
			}
			return out, nil
		}
		var err error
		if b.opts.Compare != nil {
			matches, err = b.opts.Compare(ctx, distincts, compute)
		} else {
			matches, err = compute()
		}
		if err == nil && len(matches) != len(found) {
			matches, err = compute() // a memo that does not fit: not trusted
		}
		if err != nil {
			matches = nil
			issues = append(issues, artifact.Issue{Kind: artifact.KindRead, Stage: "tom", Message: err.Error()})
		}
	}
	var out []KeywordList
	var keys []keyAt
	for i, f := range found {
		bl := blobs[f.Blob]
		entries := f.List.Lines // exact, as decrypted
		distinct := distincts[i]
		canon := keywords.Canonical(entries)
		kl := KeywordList{
			Cipher: f.Cipher, Location: b.c.location(bl), Node: bl.Node, Resource: bl.Resource, Offset: bl.Offset,
			Encoding: f.List.Encoding, Count: len(distinct), EntriesTotal: len(entries), SHA256: keywords.ExactDigest(entries),
			Keywords: distinct, Duplicates: keywords.Duplicates(entries),
			NormalizedCount: len(canon), NormalizedSHA256: keywords.ExactDigest(canon),
		}
		if f.Key != nil {
			kl.KeyHex, kl.KeyNode, kl.KeyOffset, kl.KeyEncoding = hex.EncodeToString(f.Key), f.KeyNode, f.KeyOffset, "raw"
			size := len(f.Key)
			if f.KeyFromHex {
				kl.KeyEncoding = "hex"
				size *= 2
			}
			keys = append(keys, keyAt{node: f.KeyNode, offset: f.KeyOffset, size: size, key: f.Key, hex: f.KeyFromHex})
		}
		if matches != nil {
			m := matches[i]
			kl.Snapshot = &m
		}
		out = append(out, kl)
	}
	return out, keys, issues
}

// desKey: a rule's match first, then the field after an upload URL, then the
// field after the list keys.
func (b *Build) desKey(keys []keyAt) *DESKey {
	if b.c.des != nil {
		return b.c.des
	}
	var known [][]byte
	for _, k := range keys {
		known = append(known, k.key)
	}
	if d := desAfterUpload(b.c.ups, known); d != nil {
		return d
	}
	return desAfterKeys(keysearch.SortWindows(b.c.windows), keys)
}

var (
	geoOnce sync.Once
	geoDB   *geoip.DB
	geoErr  error
	geoPath string
)

// countries fills Country for IPv4 hosts. The database is opened once per
// process.
func (b *Build) countries(eps []Endpoint) []artifact.Issue {
	path := b.opts.GeoIPPath
	if path == "" {
		path = geoip.DefaultPath
	}
	need := false
	for _, e := range eps {
		if isIPv4(e.Host) {
			need = true
		}
	}
	if !need {
		return nil
	}
	geoOnce.Do(func() { geoPath = path; geoDB, geoErr = geoip.Open(path) })
	if geoErr != nil {
		return []artifact.Issue{{Kind: artifact.KindToolMissing, Stage: "tom", Message: fmt.Sprintf("no IP countries: %v", geoErr)}}
	}
	if path != geoPath {
		return []artifact.Issue{{Kind: artifact.KindUnsupported, Stage: "tom", Message: fmt.Sprintf("GeoIP database %s ignored: %s is already open in this process", path, geoPath)}}
	}
	for i := range eps {
		if a, ok := parseIPv4(eps[i].Host); ok {
			c, err := geoDB.Country(a)
			if err != nil {
				return []artifact.Issue{{Kind: artifact.KindParse, Stage: "tom", Message: err.Error()}}
			}
			eps[i].Country = c
		}
	}
	return nil
}
