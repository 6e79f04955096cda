package reports

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
)

// Identity is what a build says it is, for the top of its page.
type Identity struct {
	Product   string   // ProductName (else FileDescription) of the product executable, else of the first PE that has one
	Version   string   // View.Version
	Signer    string   // the first signer in tree order
	FileNames []string // every input name these bytes were seen under, and the product executable
}

// EvidenceItem is one deduplicated piece of evidence: the heaviest of the
// items that say the same thing (the same string or rule on the same
// node), with the provenance classes of the others in Also.
type EvidenceItem struct {
	Weight     string
	Provenance string
	Also       string // other provenance classes that said the same, ", "-joined
	Source     string
	Node       string
	Seen       string
	Detail     string
}

// RuleMatch is one YARA match on one node, with its rule's description
// and the strings behind it, as `yara -s` prints them.
type RuleMatch struct {
	Rule        string // namespace:rule
	Node        string
	Description string   // the rule's meta description (or category when it has none)
	Tags        string   // ", "-joined
	Strings     []string // "0x1000:$name: data"
	More        int      // strings the report holds beyond MaxMatchStrings
}

// MaxMatchStrings caps the matched strings a page lists per match; the
// report's JSON keeps every one.
const MaxMatchStrings = 20

// ConfidenceMeaning says in words what a verdict's confidence means: it is
// 1 - prod(1 - weight) over the distinct kinds of evidence behind the
// verdict (internal/tom), so the bands follow the provenance weights.
func ConfidenceMeaning(verdict string, c float64) string {
	switch {
	case verdict == "":
		return ""
	case c >= 0.9:
		return "strong: several independent kinds of evidence from the build's own executables agree"
	case c >= 0.6:
		return "moderate: one strong kind (the product's version info or its signer) or several weaker ones"
	case c > 0:
		return "weak: only loose strings, resources or installer text point this way"
	}
	return "none: nothing the verdict could rest on"
}

// derNoise matches a printable run cut from a certificate's DER bytes: a
// name followed by the 1-4 tag and length bytes that happen to be
// printable ("TOM Online Inc.1402", "TOM Online Inc.0").
var derTail = regexp.MustCompile(`^[0-9A-Za-z.\-_ ]{1,4}$`)

// certNames are the O= and CN= values of the build's signers: the names a
// certificate repeats, with DER bytes around them.
func certNames(signers []Signer) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range signers {
		for _, dn := range []string{s.Signer, s.Issuer} {
			for _, part := range strings.Split(dn, "/") {
				if k, v, ok := strings.Cut(part, "="); ok && (k == "O" || k == "CN") && len(v) >= 4 && !seen[v] {
					seen[v] = true
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// quoted is the string an evidence detail quotes (`ascii "x"` -> x), "" when none.
func quoted(detail string) string {
	i := strings.Index(detail, `"`)
	if i < 0 {
		return ""
	}
	if s, err := strconv.Unquote(detail[i:]); err == nil {
		return s
	}
	return strings.Trim(detail[i:], `"`)
}

// isDERNoise tells whether a loose-string evidence item is a signer's name
// with certificate bytes glued to it.
func isDERNoise(source, detail string, names []string) bool {
	if source != "string" {
		return false
	}
	q := quoted(detail)
	for _, n := range names {
		if strings.HasPrefix(q, n) && q != n && derTail.MatchString(q[len(n):]) {
			return true
		}
	}
	return false
}

// evidenceKey is what makes two evidence items say the same thing: the
// node and the quoted string (a version-info value and the same text found
// as a loose string), or the rule's name.
func evidenceKey(node, source, detail string) string {
	if q := quoted(detail); q != "" {
		return node + "\x00" + strings.TrimSpace(q)
	}
	return node + "\x00" + source + "\x00" + detail
}

// pageEvidence fills TopItems, AllItems and DERNoise from the evidence
// rows (heaviest first, as the verdict wrote them).
func (v *View) pageEvidence() {
	names := certNames(v.Signers)
	byKey := map[string]int{}
	var items []EvidenceItem
	for _, r := range v.Evidence {
		if len(r) < 6 {
			continue
		}
		if isDERNoise(r[2], r[5], names) {
			v.DERNoise++
			continue
		}
		it := EvidenceItem{Weight: r[0], Provenance: r[1], Source: r[2], Node: r[3], Seen: r[4], Detail: r[5]}
		v.AllItems = append(v.AllItems, it)
		k := evidenceKey(r[3], r[2], r[5])
		if i, ok := byKey[k]; ok {
			if !strings.Contains(", "+items[i].Also+", ", ", "+r[1]+", ") && items[i].Provenance != r[1] {
				items[i].Also = strings.TrimPrefix(items[i].Also+", "+r[1], ", ")
			}
			continue
		}
		byKey[k] = len(items)
		items = append(items, it)
	}
	v.Distinct = len(items)
	v.TopItems = items[:min(len(items), TopEvidenceCount)]
}

// identity derives the build's identity from its tree.
func (v *View) identity(r *Report) {
	v.ID.Version = v.Version
	if len(v.Signers) > 0 {
		v.ID.Signer = v.Signers[0].Signer
		for _, part := range strings.Split(v.ID.Signer, "/") {
			if k, val, ok := strings.Cut(part, "="); ok && k == "CN" {
				v.ID.Signer = val // the common name reads best; the Signers table has the whole subject
			}
		}
	}
	names := map[string]bool{}
	add := func(p string) {
		if b := path.Base(strings.ReplaceAll(p, `\`, "/")); b != "" && b != "." && !names[b] {
			names[b] = true
			v.ID.FileNames = append(v.ID.FileNames, b)
		}
	}
	add(r.Build.Path)
	for _, p := range r.Build.Paths {
		add(p)
	}
	if r.Tree == nil {
		return
	}
	var first string
	_ = r.Tree.Walk(func(n *artifact.Node) error {
		if n.ID == v.ProductNode && n.PE != nil && plausibleBuildTime(n.PE.Timestamp) {
			v.PEDate = n.PE.Timestamp[:10]
		}
		if n.PE == nil || n.PE.Version == nil {
			return nil
		}
		// ProductName, else FileDescription (some builds carry only that)
		for _, key := range []string{"ProductName", "FileDescription"} {
			for _, t := range n.PE.Version.Tables {
				for _, s := range t.Strings {
					if s.Key != key || s.Value == "" {
						continue
					}
					if n.ID == v.ProductNode && v.ID.Product == "" {
						v.ID.Product = s.Value
					}
					if first == "" {
						first = s.Value
					}
				}
			}
		}
		return nil
	})
	if v.ID.Product == "" {
		v.ID.Product = first
	}
	for _, kl := range v.KeywordLists {
		if isoDate.MatchString(kl.Snapshot) {
			v.SnapshotDate = kl.Snapshot[:10]
			break
		}
	}
	if v.ProductNode != "" {
		add(v.ProductNode[strings.LastIndex(v.ProductNode, artifact.PathSeparator)+1:])
	}
}

// plausibleBuildTime: a link time a Skype build could have; 0, reproducible
// builds' fixed stamps and far-future values say nothing about the build.
func plausibleBuildTime(ts string) bool {
	if !isoDate.MatchString(ts) {
		return false
	}
	y, err := strconv.Atoi(ts[:4])
	return err == nil && y >= 1995 && y <= 2035
}

// isoDate: a string that starts with a YYYY-MM-DD date (a loaded report's
// dates are input too).
var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)

// ruleMatches lists every match in tree order with its strings.
func ruleMatches(root *artifact.Node) []RuleMatch {
	if root == nil {
		return nil
	}
	var out []RuleMatch
	_ = root.Walk(func(n *artifact.Node) error {
		for _, m := range n.Matches {
			rm := RuleMatch{Rule: m.Namespace + ":" + m.Rule, Node: n.ID, Description: m.Meta["description"], Tags: strings.Join(m.Tags, ", ")}
			if rm.Description == "" && m.Meta["category"] != "" {
				rm.Description = "category: " + m.Meta["category"]
			}
			strs := append([]artifact.MatchString(nil), m.Strings...)
			sort.SliceStable(strs, func(i, j int) bool { return strs[i].Offset < strs[j].Offset })
			for i, s := range strs {
				if i == MaxMatchStrings {
					rm.More = len(strs) - i
					break
				}
				rm.Strings = append(rm.Strings, fmt.Sprintf("%#x:%s: %s", s.Offset, s.Name, s.Data))
			}
			out = append(out, rm)
		}
		return nil
	})
	return out
}
