package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/tom"
)

// View is what the human-readable encoders (Markdown, HTML) and the archive
// index show of a report. It is derived from the report alone, so a page
// re-rendered from archived JSON is the page the scan wrote.
//
// The TOM section (internal/tom.Result) and the PE summary grow while the
// analysers do: View reads the TOM section through its JSON, takes the parts
// it knows by name (verdict, endpoints, keyword lists) and keeps every other
// field as a generic table, so a new field shows up in the pages without a
// change here.
type View struct {
	Path         string
	SHA256       string
	Size         int64
	Type         string
	Status       string
	StatusReason string
	Version      string // the build's product version, see BuildVersion
	Verdict      string // "" when the report has no TOM section
	Confidence   float64
	Reason       string // the verdict's reason in plain words
	// Language, ProductNode and LanguageNode: the build's language, the
	// executable carrying the product identity and the one whose
	// resources decided the language.
	Language, ProductNode, LanguageNode string
	// Evidence rows (weight, provenance, source, node, count and first
	// offsets, detail), heaviest first; TopEvidence is the first
	// TopEvidenceCount of them, for the summary. The JSON keeps all.
	Evidence      []Row
	TopEvidence   []Row
	EvidenceTotal int
	Endpoints     []Endpoint
	KeywordLists  []KeywordList
	Signers       []Signer
	Versions      []VersionBlock
	Installers    []InstallerView
	TOMExtra      []Section // TOM fields View has no special rendering for
	Apps          []Section // iOS apps and Mach-O files (view_app.go)
	Rules         []string
	Nodes         []NodeView
	Summary       Summary
	Tool          Tool
	RulesDigest   string
	GeoIP         string // sha256 of the GeoIP database the countries come from (cache.geoip), "" when not named

	// For the page (view_page.go): the build's identity, what the
	// confidence means, the evidence deduplicated (TopItems, Distinct)
	// and without certificate-byte noise (AllItems; DERNoise counts what
	// was left out, report.json keeps it), every rule match with its
	// strings.
	ID                Identity
	ConfidenceMeaning string
	TopItems          []EvidenceItem
	AllItems          []EvidenceItem
	Distinct          int
	DERNoise          int
	Matches           []RuleMatch
	// The build's dates for the archive's timeline (YYYY-MM-DD, "" when
	// unknown): the product executable's link time (COFF TimeDateStamp)
	// when plausible, and the date of the first list's closest snapshot.
	PEDate, SnapshotDate string
}

// Row is one line of a generic table: cells in the order of its Section's Columns.
type Row []string

// Section is a named generic table.
type Section struct {
	Name    string
	Columns []string
	Rows    []Row
}

// Endpoint is a network address a build talks to, as an analyser or a rule saw it.
type Endpoint struct {
	Value    string `json:"value"`
	Kind     string `json:"kind,omitempty"` // url, host, ipv4
	Host     string `json:"host"`
	Class    string `json:"class,omitempty"`
	Country  string `json:"country,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	Node     string `json:"node"`      // the first place it was seen
	Places   int    `json:"locations"` // how many places it was seen at
	Source   string `json:"source"`    // "tom", "finding", "rule"
}

// KeywordList is a recovered keyword filter list.
type KeywordList struct {
	Name     string `json:"name"`     // the closest known snapshot's list name (keyfile, keyfile_u), else where it was found
	Family   string `json:"family"`   // the closest snapshot's client family
	Snapshot string `json:"snapshot"` // the closest snapshot's date
	Jaccard  string `json:"jaccard"`  // similarity to that snapshot
	Cipher   string `json:"cipher"`
	Key      string `json:"key"`
	Location string `json:"location"` // rcdata, installer-file, cache-file
	Node     string `json:"node"`
	SHA256   string `json:"sha256"`
	Count    int    `json:"count"` // distinct exact entries
	// Total counts every entry, duplicates included; Normalized the
	// trimmed, deduplicated form (for comparison only).
	Total      int `json:"entries_total"`
	Normalized int `json:"normalized_count"`
	// Keywords are the distinct exact entries (pages show an entry with
	// spaces at either end quoted: ShowEntry).
	Keywords   []string `json:"keywords"`
	Duplicates []string `json:"duplicates"` // "entry ×n", entry as ShowEntry shows it
	// Added and Removed are the entries against the closest snapshot.
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

// Signer is one Authenticode signature in the tree.
type Signer struct {
	Node          string
	Signer        string
	Issuer        string
	SigningTime   string
	DigestMatches bool
	ChainTrusted  string // "yes", "no" or "not checked"
}

// VersionBlock is one VERSIONINFO string table of one PE.
type VersionBlock struct {
	Node           string
	FileVersion    string
	ProductVersion string
	Table          string
	Strings        [][2]string
}

// NodeView is one node of the tree, flattened in tree order.
type NodeView struct {
	ID          string
	Name        string
	Depth       int
	Type        string
	Size        int64
	SHA256      string
	Extractor   string
	DuplicateOf string
	Matches     []string
	Findings    []string
	Issues      []string
}

// NewView derives the view of r.
func NewView(r *Report) *View {
	v := &View{
		Path: r.Build.Path, SHA256: r.Build.SHA256, Size: r.Build.Size, Type: r.Build.Type,
		Status: r.Status, StatusReason: r.StatusReason, Rules: append([]string(nil), r.Summary.Rules...),
		Summary: r.Summary, Tool: r.Tool, RulesDigest: r.Rules.Digest,
	}
	if r.Cache != nil {
		v.GeoIP = r.Cache.GeoIP
	}
	if r.Tree != nil {
		v.Version = BuildVersion(r.Tree)
		// Depth is counted here, not read from the nodes: a loaded report
		// is input too, and its depth field must not size an indent.
		var walk func(n *artifact.Node, depth int)
		walk = func(n *artifact.Node, depth int) {
			nv := nodeView(n)
			nv.Depth = depth
			v.Nodes = append(v.Nodes, nv)
			v.Signers = appendSigners(v.Signers, n)
			v.Versions = appendVersions(v.Versions, n)
			if n.Installer != nil {
				v.Installers = append(v.Installers, installerView(n))
			}
			v.Apps = append(v.Apps, appSections(n)...) // view_app.go: IPA and Mach-O
			for _, c := range n.Children {
				if c != nil {
					walk(c, depth+1)
				}
			}
		}
		walk(r.Tree, 0)
	}
	if !v.readTOM(r) {
		// Without a TOM section (an older report, analysers off), the
		// tree's own findings and endpoint rules are the best list there is.
		v.Endpoints = treeEndpoints(r.Tree)
	}
	v.Endpoints = mergeEndpoints(v.Endpoints)
	v.pageEvidence()
	v.identity(r) // also Date
	v.ConfidenceMeaning = ConfidenceMeaning(v.Verdict, v.Confidence)
	v.Matches = ruleMatches(r.Tree)
	return v
}

func nodeView(n *artifact.Node) NodeView {
	nv := NodeView{ID: n.ID, Name: n.Name, Depth: n.Depth, Type: n.Type, Size: n.Size, SHA256: n.SHA256,
		Extractor: n.Extractor, DuplicateOf: n.DuplicateOf}
	for _, m := range n.Matches {
		nv.Matches = append(nv.Matches, m.Namespace+":"+m.Rule)
	}
	for _, f := range n.Findings {
		s := fmt.Sprintf("%s/%s: %s @%d", f.Analyzer, f.Kind, f.Value, f.Offset)
		for _, k := range sortedKeys(f.Detail) {
			s += fmt.Sprintf(" %s=%s", k, f.Detail[k])
		}
		nv.Findings = append(nv.Findings, s)
	}
	for _, is := range n.Issues {
		nv.Issues = append(nv.Issues, fmt.Sprintf("[%s] %s: %s", is.Kind, is.Stage, is.Message))
	}
	return nv
}

func appendSigners(out []Signer, n *artifact.Node) []Signer {
	sig := n.Signature
	if n.PE != nil && n.PE.Signature != nil {
		sig = n.PE.Signature
	}
	if sig == nil {
		return out
	}
	trust := "not checked"
	if sig.ChainTrusted != nil {
		trust = map[bool]string{true: "yes", false: "no"}[*sig.ChainTrusted]
	}
	return append(out, Signer{Node: n.ID, Signer: sig.Signer, Issuer: sig.Issuer, SigningTime: sig.SigningTime,
		DigestMatches: sig.DigestMatches, ChainTrusted: trust})
}

func appendVersions(out []VersionBlock, n *artifact.Node) []VersionBlock {
	if n.PE == nil || n.PE.Version == nil {
		return out
	}
	vi := n.PE.Version
	if len(vi.Tables) == 0 {
		return append(out, VersionBlock{Node: n.ID, FileVersion: vi.FileVersion, ProductVersion: vi.ProductVersion})
	}
	for _, t := range vi.Tables {
		b := VersionBlock{Node: n.ID, FileVersion: vi.FileVersion, ProductVersion: vi.ProductVersion, Table: t.Key}
		for _, s := range t.Strings {
			b.Strings = append(b.Strings, [2]string{s.Key, s.Value})
		}
		out = append(out, b)
	}
	return out
}

// BuildVersion is the product version a build presents: the version info of
// the first PE (tree order) whose product or description names Skype, else of
// the root, else of the first PE that has one. "" when no PE carries one.
func BuildVersion(root *artifact.Node) string {
	var skype, rootVer, first string
	_ = root.Walk(func(n *artifact.Node) error {
		if n.PE == nil || n.PE.Version == nil {
			return nil
		}
		ver := n.PE.Version.ProductVersion
		if ver == "" {
			ver = n.PE.Version.FileVersion
		}
		if ver == "" {
			return nil
		}
		if n == root {
			rootVer = ver
		}
		if first == "" {
			first = ver
		}
		for _, t := range n.PE.Version.Tables {
			for _, s := range t.Strings {
				if (s.Key == "ProductName" || s.Key == "FileDescription") && strings.Contains(strings.ToLower(s.Value), "skype") && skype == "" {
					skype = ver
				}
			}
		}
		return nil
	})
	switch {
	case skype != "":
		return skype
	case rootVer != "":
		return rootVer
	}
	if first == "" {
		first = appVersion(root) // view_app.go: an IPA's CFBundleVersion
	}
	return first
}

// readTOM takes the TOM section apart through its JSON, see View. A report
// loaded from the archive keeps the section as written (Report.TOMRaw), so
// fields this build of tomscan does not know still show.
//
// A report made in this process (the scan's workers) has the section as a
// struct: its verdict and keyword lists, most of the section's bytes (the
// evidence, the keywords), are read from the struct as their JSON would
// give them (verdictOf, keywordListsOf), and only the rest goes through
// JSON. Encoding the whole section and decoding it again was a sixth of a
// worker's CPU in a rules-only rescan.
func (v *View) readTOM(r *Report) bool {
	raw := r.TOMRaw
	var typed *tom.Result
	if raw == nil && r.TOM != nil {
		rest := *r.TOM
		if finiteTOM(r.TOM) {
			typed = r.TOM
			rest.Verdict = tom.Verdict{}
			rest.KeywordLists = nil
		} // else the whole section goes through JSON, which refuses it, as before
		var err error
		if raw, err = json.Marshal(&rest); err != nil {
			return false
		}
	}
	if raw == nil {
		return false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		return false
	}
	var verdict tomVerdict
	if typed != nil {
		verdict = verdictOf(&typed.Verdict)
		if len(typed.KeywordLists) > 0 { // omitempty: no key without lists
			v.KeywordLists = keywordListsOf(typed.KeywordLists)
		}
	} else {
		_ = json.Unmarshal(fields["verdict"], &verdict)
	}
	v.Verdict, v.Confidence, v.Reason = verdict.Kind, verdict.Confidence, verdict.Reason
	v.Language, v.ProductNode, v.LanguageNode = verdict.Language, verdict.ProductNode, verdict.LanguageNode
	for _, ev := range verdict.Evidence {
		seen := "1"
		if ev.Offset != 0 {
			seen = fmt.Sprintf("1 (at %#x)", ev.Offset)
		}
		if ev.Count > 1 {
			var at []string
			for _, l := range ev.Locations {
				a := fmt.Sprintf("%#x", l.Offset)
				if l.Node != ev.Node {
					a = l.Node + "@" + a
				}
				at = append(at, a)
			}
			seen = fmt.Sprintf("%d (first at %s)", ev.Count, strings.Join(at, ", "))
		}
		v.Evidence = append(v.Evidence, Row{strconv.FormatFloat(ev.Weight, 'f', 2, 64), orDash(ev.Provenance), ev.Source, ev.Node, seen, ev.Detail})
	}
	v.EvidenceTotal = len(v.Evidence) + verdict.EvidenceOmitted
	v.TopEvidence = v.Evidence[:min(len(v.Evidence), TopEvidenceCount)]
	for _, k := range sortedKeys(fields) {
		switch k {
		case "verdict":
		case "endpoints":
			v.Endpoints = append(v.Endpoints, decodeEndpoints(fields[k])...)
		case "keyword_lists":
			v.KeywordLists = decodeKeywordLists(fields[k])
		default:
			v.TOMExtra = append(v.TOMExtra, genericSection(k, fields[k]))
		}
	}
	return true
}

// tomVerdict is the verdict as readTOM reads it from a TOM section's JSON
// (keys matched as encoding/json does, without regard to case).
type tomVerdict struct {
	Kind            string        `json:"kind"`
	Confidence      float64       `json:"confidence"`
	Reason          string        `json:"reason"`
	Language        string        `json:"language"`
	ProductNode     string        `json:"product_node"`
	LanguageNode    string        `json:"language_node"`
	EvidenceOmitted int           `json:"evidence_omitted"`
	Evidence        []tomEvidence `json:"evidence"`
}

type tomEvidence struct {
	Node, Source, Detail, Provenance string
	Weight                           float64
	Offset                           int64
	Count                            int
	Locations                        []tomLocation
}

type tomLocation struct {
	Node   string
	Offset int64
}

// verdictOf is what decoding t's JSON into a tomVerdict gives: the same
// fields, each string as encoding/json writes it and reads it back
// (jsonText).
func verdictOf(t *tom.Verdict) tomVerdict {
	v := tomVerdict{Kind: jsonText(t.Kind), Confidence: t.Confidence, Reason: jsonText(t.Reason), Language: jsonText(t.Language),
		ProductNode: jsonText(t.ProductNode), LanguageNode: jsonText(t.LanguageNode), EvidenceOmitted: t.EvidenceOmitted}
	if t.Evidence != nil {
		v.Evidence = make([]tomEvidence, len(t.Evidence))
	}
	for i, ev := range t.Evidence {
		e := tomEvidence{Node: jsonText(ev.Node), Source: jsonText(ev.Source), Detail: jsonText(ev.Detail), Provenance: jsonText(ev.Provenance),
			Weight: ev.Weight, Offset: ev.Offset, Count: ev.Count}
		if len(ev.Locations) > 0 { // omitempty: an empty list is not written
			e.Locations = make([]tomLocation, len(ev.Locations))
			for j, l := range ev.Locations {
				e.Locations[j] = tomLocation{Node: jsonText(l.Node), Offset: l.Offset}
			}
		}
		v.Evidence[i] = e
	}
	return v
}

// keywordListsOf is what decodeKeywordLists gives for the JSON of lists:
// the same rules, each string as encoding/json writes it and reads it back
// (jsonText), each number as JSON carries it. The slices are new: a page
// makes the view's strings safe in place.
func keywordListsOf(lists []tom.KeywordList) []KeywordList {
	texts := func(xs []string) []string { // stringsOf: nil for none
		if len(xs) == 0 {
			return nil
		}
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = jsonText(x)
		}
		return out
	}
	out := make([]KeywordList, 0, len(lists))
	for _, t := range lists {
		kl := KeywordList{Cipher: jsonText(t.Cipher), Key: jsonText(t.KeyHex), Location: jsonText(t.Location),
			Node: jsonText(t.Node), SHA256: jsonText(t.SHA256)}
		if snap := t.Snapshot; snap != nil {
			kl.Name, kl.Family, kl.Snapshot = jsonText(snap.Name), jsonText(snap.Family), jsonText(snap.Date)
			kl.Jaccard = strconv.FormatFloat(snap.Jaccard, 'f', 3, 64)
			kl.Added, kl.Removed = texts(snap.Added), texts(snap.Removed)
		}
		kl.Keywords = texts(t.Keywords)
		finishKeywordList(&kl, jsonText(t.Resource), t.Count)
		kl.Total, kl.Normalized = t.EntriesTotal, t.NormalizedCount
		for _, d := range t.Duplicates {
			kl.Duplicates = append(kl.Duplicates, duplicateLine(jsonText(d.Entry), d.Count))
		}
		out = append(out, kl)
	}
	return out
}

// finiteTOM: encoding/json can write the verdict and the keyword lists
// of t (it refuses NaN and infinities).
func finiteTOM(t *tom.Result) bool {
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if !finite(t.Verdict.Confidence) {
		return false
	}
	for _, ev := range t.Verdict.Evidence {
		if !finite(ev.Weight) {
			return false
		}
	}
	for _, kl := range t.KeywordLists {
		if kl.Snapshot != nil && !finite(kl.Snapshot.Jaccard) {
			return false
		}
	}
	return true
}

// jsonText is s written by encoding/json and read back: each byte that is
// not part of valid UTF-8 becomes U+FFFD; everything else is kept.
func jsonText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// decodeEndpoints reads tom.Result.Endpoints: {value, kind, host, class,
// country, locations[{node, offset, encoding}]}.
func decodeEndpoints(raw json.RawMessage) []Endpoint {
	var items []map[string]any
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []Endpoint
	for _, it := range items {
		e := Endpoint{Value: firstString(it, "value", "url", "address"), Kind: firstString(it, "kind"),
			Host: firstString(it, "host"), Class: firstString(it, "class"), Country: firstString(it, "country"),
			Encoding: firstString(it, "encoding"), Node: firstString(it, "node"), Source: "tom"}
		locs, _ := it["locations"].([]any)
		encs := map[string]bool{}
		for _, l := range locs {
			if m, ok := l.(map[string]any); ok {
				if e.Node == "" {
					e.Node = firstString(m, "node")
				}
				if enc := firstString(m, "encoding"); enc != "" {
					encs[enc] = true
				}
			}
		}
		if e.Encoding == "" {
			e.Encoding = strings.Join(sortedKeys(encs), ", ")
		}
		e.Places = len(locs)
		if n, ok := it["locations_omitted"].(float64); ok {
			e.Places += int(n)
		}
		if e.Places == 0 && e.Node != "" {
			e.Places = 1
		}
		if e.Host == "" {
			e.Host = HostOf(e.Value)
		}
		out = append(out, e)
	}
	return out
}

// TopEvidenceCount is how many evidence items a report's summary shows.
const TopEvidenceCount = 10

// EvidenceColumns are the columns of View.Evidence rows.
var EvidenceColumns = []string{"weight", "provenance", "source", "node", "seen", "detail"}

// ShowEntry quotes a keyword entry with whitespace or control characters
// at either end, so that "x卧底下载 " and "x卧底下载" read differently.
func ShowEntry(s string) string {
	if s != strings.TrimSpace(s) {
		return strconv.Quote(s)
	}
	return s
}

func stringsOf(v any) []string {
	var out []string
	if xs, ok := v.([]any); ok && len(xs) > 0 {
		out = make([]string, 0, len(xs))
		for _, x := range xs {
			if s, ok := x.(string); ok {
				out = append(out, s) // what fmt.Sprint gives, without its cost (a list has thousands)
			} else {
				out = append(out, fmt.Sprint(x))
			}
		}
	}
	return out
}

// decodeKeywordLists reads tom.Result.KeywordLists: {cipher, key_hex,
// location, node, resource, count, sha256, keywords[], snapshot{family,
// name, date, jaccard}}.
func decodeKeywordLists(raw json.RawMessage) []KeywordList {
	var items []map[string]any
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []KeywordList
	for _, it := range items {
		kl := KeywordList{Name: firstString(it, "name"), Family: firstString(it, "family"),
			Cipher: firstString(it, "cipher"), Key: firstString(it, "key_hex"), Location: firstString(it, "location"),
			Node: firstString(it, "node"), SHA256: firstString(it, "sha256")}
		if snap, ok := it["snapshot"].(map[string]any); ok {
			if kl.Name == "" {
				kl.Name = firstString(snap, "name")
			}
			if kl.Family == "" {
				kl.Family = firstString(snap, "family")
			}
			kl.Snapshot = firstString(snap, "date")
			if j, ok := snap["jaccard"].(float64); ok {
				kl.Jaccard = strconv.FormatFloat(j, 'f', 3, 64)
			}
			kl.Added, kl.Removed = stringsOf(snap["added"]), stringsOf(snap["removed"])
		} else if s, ok := it["snapshot"].(string); ok {
			kl.Snapshot = s
		}
		kl.Keywords = stringsOf(it["keywords"])
		stored, _ := it["count"].(float64)
		finishKeywordList(&kl, firstString(it, "resource"), int(stored))
		kl.Total, kl.Normalized = kl.Count, kl.Count
		if c, ok := it["entries_total"].(float64); ok {
			kl.Total = int(c)
		}
		if c, ok := it["normalized_count"].(float64); ok {
			kl.Normalized = int(c)
		}
		if ds, ok := it["duplicates"].([]any); ok {
			for _, d := range ds {
				if m, ok := d.(map[string]any); ok {
					n, _ := m["count"].(float64)
					kl.Duplicates = append(kl.Duplicates, duplicateLine(fmt.Sprint(m["entry"]), int(n)))
				}
			}
		}
		out = append(out, kl)
	}
	return out // node order, as the analyser wrote them
}

// finishKeywordList applies what both readers of a list (the analyser's
// struct, keywordListsOf; a report's JSON, decodeKeywordLists) share: a
// named resource follows the node, a list without a name is named after
// its location, and the count is that of the keywords kept, or the stored
// one when none are.
func finishKeywordList(kl *KeywordList, resource string, storedCount int) {
	if resource != "" {
		kl.Node += " " + resource
	}
	if kl.Name == "" {
		kl.Name = "list"
		if kl.Location != "" {
			kl.Name = kl.Location + " list"
		}
	}
	kl.Count = len(kl.Keywords)
	if kl.Count == 0 {
		kl.Count = storedCount
	}
}

// duplicateLine is how a list's repeated entry is shown: the entry, and
// how many times the list holds it.
func duplicateLine(entry string, count int) string {
	return fmt.Sprintf("%s ×%d", ShowEntry(entry), count)
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// genericSection renders any JSON value as a table: an object as key/value
// rows, an array of objects with one column per key, anything else as one cell.
func genericSection(name string, raw json.RawMessage) Section {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return Section{Name: name, Columns: []string{"value"}, Rows: []Row{{string(raw)}}}
	}
	switch x := v.(type) {
	case map[string]any:
		s := Section{Name: name, Columns: []string{"field", "value"}}
		for _, k := range sortedKeys(x) {
			s.Rows = append(s.Rows, Row{k, cell(x[k])})
		}
		return s
	case []any:
		cols := map[string]bool{}
		for _, it := range x {
			if m, ok := it.(map[string]any); ok {
				for k := range m {
					cols[k] = true
				}
			}
		}
		if len(cols) == 0 {
			s := Section{Name: name, Columns: []string{"value"}}
			for _, it := range x {
				s.Rows = append(s.Rows, Row{cell(it)})
			}
			return s
		}
		s := Section{Name: name, Columns: sortedKeys(cols)}
		for _, it := range x {
			m, _ := it.(map[string]any)
			row := make(Row, len(s.Columns))
			for i, c := range s.Columns {
				row[i] = cell(m[c])
			}
			s.Rows = append(s.Rows, row)
		}
		return s
	}
	return Section{Name: name, Columns: []string{"value"}, Rows: []Row{{cell(v)}}}
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(buf.String())
}

// treeEndpoints lists what the tree itself says about endpoints: analyser
// findings of kind "endpoint"/"url" and the strings behind YARA rules whose
// meta category is "endpoint". The TOM section is the better source; these
// keep a report useful when it is missing.
func treeEndpoints(root *artifact.Node) []Endpoint {
	if root == nil {
		return nil
	}
	var out []Endpoint
	_ = root.Walk(func(n *artifact.Node) error {
		for _, f := range n.Findings {
			if f.Kind == "endpoint" || f.Kind == "url" {
				out = append(out, Endpoint{Value: f.Value, Host: HostOf(f.Value), Class: f.Detail["class"],
					Country: f.Detail["country"], Encoding: f.Detail["encoding"], Node: n.ID, Places: 1, Source: "finding"})
			}
		}
		for _, m := range n.Matches {
			if m.Meta["category"] != "endpoint" {
				continue
			}
			for _, s := range m.Strings {
				if h := HostOf(s.Data); h != "" {
					out = append(out, Endpoint{Value: s.Data, Host: h, Node: n.ID, Places: 1, Source: "rule"})
				}
			}
		}
		return nil
	})
	return out
}

// mergeEndpoints keeps one endpoint per value (the first seen), sorted by
// host, then value.
func mergeEndpoints(in []Endpoint) []Endpoint {
	seen := map[string]bool{}
	var out []Endpoint
	for _, e := range in {
		if e.Value == "" || seen[e.Value] {
			continue
		}
		seen[e.Value] = true
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// HostOf returns the host of a URL or a bare host[:port], "" when s names none.
func HostOf(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	h := strings.ToLower(u.Hostname())
	if net.ParseIP(h) == nil && !strings.Contains(h, ".") {
		return ""
	}
	return h
}

// KeywordCount is the number of keywords over all lists.
func (v *View) KeywordCount() int {
	n := 0
	for _, kl := range v.KeywordLists {
		n += kl.Count
	}
	return n
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sanitize applies f to every string of v that may have come from a binary,
// or from a report read back from an archive (its provenance).
func (v *View) sanitize(f func(string) string) {
	for _, p := range []*string{&v.Path, &v.Type, &v.Status, &v.StatusReason, &v.Version, &v.Verdict, &v.Reason, &v.Language, &v.ProductNode, &v.LanguageNode,
		&v.RulesDigest, &v.GeoIP, &v.Tool.Name, &v.Tool.Version, &v.Tool.Commit} {
		*p = f(*p)
	}
	// A report read back from an archive may say anything in its
	// provenance too. The map is the report's own: a new one, not edited.
	if len(v.Tool.Dependencies) > 0 {
		deps := make(map[string]string, len(v.Tool.Dependencies))
		for _, k := range sortedKeys(v.Tool.Dependencies) {
			sk := f(k)
			if _, taken := deps[sk]; !taken { // two names made one: the first in order, every time
				deps[sk] = f(v.Tool.Dependencies[k])
			}
		}
		v.Tool.Dependencies = deps
	}
	rows := func(rs []Row) {
		for _, r := range rs {
			for i := range r {
				r[i] = f(r[i])
			}
		}
	}
	rows(v.Evidence)
	for i := range v.Endpoints {
		e := &v.Endpoints[i]
		for _, p := range []*string{&e.Value, &e.Kind, &e.Host, &e.Class, &e.Country, &e.Encoding, &e.Node, &e.Source} {
			*p = f(*p)
		}
	}
	for i := range v.KeywordLists {
		k := &v.KeywordLists[i]
		for _, p := range []*string{&k.Name, &k.Family, &k.Snapshot, &k.Jaccard, &k.Cipher, &k.Key, &k.Location, &k.Node, &k.SHA256} {
			*p = f(*p)
		}
		for _, list := range [][]string{k.Keywords, k.Duplicates, k.Added, k.Removed} {
			for j := range list {
				list[j] = f(list[j])
			}
		}
	}
	for i := range v.Apps {
		s := &v.Apps[i]
		s.Name = f(s.Name)
		for j := range s.Columns {
			s.Columns[j] = f(s.Columns[j])
		}
		rows(s.Rows)
	}
	for i := range v.TOMExtra {
		s := &v.TOMExtra[i]
		s.Name = f(s.Name)
		for j := range s.Columns {
			s.Columns[j] = f(s.Columns[j])
		}
		rows(s.Rows)
	}
	for i := range v.Signers {
		s := &v.Signers[i]
		for _, p := range []*string{&s.Node, &s.Signer, &s.Issuer, &s.SigningTime} {
			*p = f(*p)
		}
	}
	for i := range v.Versions {
		b := &v.Versions[i]
		for _, p := range []*string{&b.Node, &b.FileVersion, &b.ProductVersion, &b.Table} {
			*p = f(*p)
		}
		for j := range b.Strings {
			b.Strings[j] = [2]string{f(b.Strings[j][0]), f(b.Strings[j][1])}
		}
	}
	for i := range v.Installers {
		in := &v.Installers[i]
		in.Node, in.Format = f(in.Node), f(in.Format)
		for j := range in.Script {
			in.Script[j] = f(in.Script[j])
		}
		for j := range in.Tables {
			s := &in.Tables[j]
			s.Name = f(s.Name)
			for k := range s.Columns {
				s.Columns[k] = f(s.Columns[k])
			}
			rows(s.Rows)
		}
		for j := range in.Other {
			in.Other[j] = f(in.Other[j])
		}
	}
	for i := range v.Rules {
		v.Rules[i] = f(v.Rules[i])
	}
	v.ID.Product, v.ID.Version, v.ID.Signer = f(v.ID.Product), f(v.ID.Version), f(v.ID.Signer)
	for i := range v.ID.FileNames {
		v.ID.FileNames[i] = f(v.ID.FileNames[i])
	}
	for _, items := range [][]EvidenceItem{v.TopItems, v.AllItems} {
		for i := range items {
			it := &items[i]
			for _, p := range []*string{&it.Weight, &it.Provenance, &it.Also, &it.Source, &it.Node, &it.Seen, &it.Detail} {
				*p = f(*p)
			}
		}
	}
	for i := range v.Matches {
		m := &v.Matches[i]
		for _, p := range []*string{&m.Rule, &m.Node, &m.Description, &m.Tags} {
			*p = f(*p)
		}
		for j := range m.Strings {
			m.Strings[j] = f(m.Strings[j])
		}
	}
	for i := range v.Nodes {
		n := &v.Nodes[i]
		for _, p := range []*string{&n.ID, &n.Name, &n.Type, &n.SHA256, &n.Extractor, &n.DuplicateOf} {
			*p = f(*p)
		}
		for _, l := range [][]string{n.Matches, n.Findings, n.Issues} {
			for j := range l {
				l[j] = f(l[j])
			}
		}
	}
}
