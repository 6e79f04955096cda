package tom

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/tom/endpoints"
	"github.com/tomscan/tomscan/pe"
)

// Families of evidence.
const (
	famTOM   = "tom"
	famJV    = "joint-venture"
	famSkype = "skype"
)

// marker is a text that identifies a family wherever it appears: in version
// info, strings or dialogs. ASCII markers match case-insensitively on word
// boundaries, so "custom online" is not "TOM Online".
type marker struct {
	text   string
	family string
}

var markers = []marker{
	{"TOM-Skype", famTOM},
	{"TOM Online", famTOM},
	{"TOM在线", famTOM},
	{"Tom Word Review", famTOM},
	{"skype.gmw.cn", famJV},
	{"Skype Technologies", famSkype},
}

// versionKeys are the version-info fields that name a product's maker.
var versionKeys = []string{"CompanyName", "ProductName", "FileDescription", "LegalCopyright", "InternalName", "OriginalFilename", "Comments"}

// ruleFamily maps the rule pack's build-level rules to families.
func ruleFamily(m artifact.Match) string {
	switch {
	case strings.HasPrefix(m.Rule, "TOMSkype_"):
		return famTOM
	case m.Rule == "Skype_JointVenture_GMW":
		return famJV
	case m.Rule == "Skype_Regular_Identity":
		return famSkype
	}
	return ""
}

// Bounds of a verdict's evidence.
const (
	maxEvidence = 256 // items kept after collapsing; the rest are counted
	maxOffsets  = 5   // first offsets kept for an item seen many times
)

// tally collects evidence items, collapsing identical texts: one item per
// family, node, source, provenance and detail, with a count and the first
// offsets.
type tally struct {
	items      map[string]*Evidence
	order      []string
	classes    map[string]map[string]bool    // family -> provenance classes seen
	nodeWeight map[string]map[string]float64 // family -> node -> deciding weight seen there
	blind      []string                      // issues that may hide evidence
	thirdParty map[string]string             // node ID -> the other maker its version info names
}

func newTally() *tally {
	return &tally{items: map[string]*Evidence{}, classes: map[string]map[string]bool{}, thirdParty: map[string]string{},
		nodeWeight: map[string]map[string]float64{}}
}

func (t *tally) add(family string, e Evidence) {
	// A program that names another maker in its version info only talks
	// about TOM-Skype or Skype: a cleaner listing install paths to delete,
	// a plug-in claiming compatibility.
	if _, ok := t.thirdParty[e.Node]; ok && e.Source != "signer" {
		e.Provenance = ProvThirdPartyPE
	}
	e.Family = family
	e.Weight = Weights[e.Provenance]
	e.Decides = Decides(e.Provenance)
	if t.classes[family] == nil {
		t.classes[family] = map[string]bool{}
	}
	t.classes[family][e.Provenance] = true
	if e.Decides {
		if t.nodeWeight[family] == nil {
			t.nodeWeight[family] = map[string]float64{}
		}
		t.nodeWeight[family][e.Node] += e.Weight
	}
	// The same text seen again, at another offset or in another node, is
	// one item: a count and the first places.
	key := strings.Join([]string{family, e.Source, e.Provenance, e.Detail}, "\x00")
	at := Location{Node: e.Node, Offset: e.Offset}
	if x := t.items[key]; x != nil {
		x.Count++
		if len(x.Locations) < maxOffsets {
			x.Locations = append(x.Locations, at)
		}
		return
	}
	e.Count = 1
	e.Locations = []Location{at}
	t.items[key] = &e
	t.order = append(t.order, key)
}

// family returns the items of one family (all families when fam is "").
func (t *tally) family(fam string) []Evidence {
	var out []Evidence
	for _, k := range t.order {
		if e := t.items[k]; fam == "" || e.Family == fam {
			out = append(out, *e)
		}
	}
	return out
}

// decided tells whether a family has evidence that can decide a verdict.
func (t *tally) decided(fam string) bool {
	for p := range t.classes[fam] {
		if Decides(p) {
			return true
		}
	}
	return false
}

var familyNames = map[string]string{famTOM: "TOM-Skype", famJV: "the Skype joint venture (skype.gmw.cn)", famSkype: "Skype"}

// verdict decides what the build is (the README, "How a verdict is
// reached", says the same in prose):
//
//   - Every observation is an evidence item with a provenance class and
//     that class's weight (Weights). Identical texts collapse into one item.
//   - A family (TOM-Skype, joint venture, Skype) can be the verdict only if
//     some of its evidence comes from executable content (Decides): a PE's
//     version info, resources or strings, a signer, an installer's script or
//     tables. TOM-Skype wins over the joint venture, which wins over Skype: a
//     TOM build still says "Skype Technologies" in places.
//   - Mentions alone (documents, member names, file names, programs by
//     other makers) give undetermined, with the reason in plain words.
//   - The language is decided by the product executable (productCandidates,
//     language), not by a vote of every PE.
//   - Confidence is 1 - prod(1 - w) over the distinct kinds (source and
//     provenance class) of the winning family's evidence, capped at 0.99,
//     times 0.75 for a TOM-Skype build whose language could not be decided,
//     rounded to two decimals.
func verdict(ctx context.Context, root *artifact.Node, eps []Endpoint) Verdict {
	t := newTally()
	markThirdParty(root, nil, t.thirdParty)
	byID := map[string]*artifact.Node{}
	_ = root.Walk(func(n *artifact.Node) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		byID[n.ID] = n
		collectIssues(t, n)
		collectNode(t, root, n)
		return nil
	})
	iosEvidence(root, t) // ios.go: bundle id, storefront
	collectEndpoints(t, byID, eps)

	v := Verdict{}
	win := ""
	for _, fam := range []string{famTOM, famJV, famSkype} {
		if t.decided(fam) {
			win = fam
			break
		}
	}
	switch {
	case win != "":
		v.Evidence = t.family(win)
		cands := productCandidates(byID, t.nodeWeight[win])
		if len(cands) > 0 {
			v.ProductNode = cands[0].ID
		}
		lang, langNode, langEv := language(cands)
		if lang == "" { // ios.go: an IPA's localisations
			lang, langNode, langEv = iosLanguage(root)
		}
		v.Language, v.LanguageNode = lang, langNode
		v.Evidence = append(v.Evidence, langEv...)
		v.Confidence = confidence(v.Evidence)
		switch win {
		case famTOM:
			v.Kind = KindTOMEnglish
			if lang == "zh" {
				v.Kind = KindTOMChinese
			}
			if lang == "" {
				v.Confidence = round2(v.Confidence * 0.75)
				v.Reason = "TOM-Skype named by executable content; its language could not be decided (no Chinese or English majority in the product executable's resources), so English is assumed"
			}
		case famJV:
			v.Kind = KindJointVenture
		default:
			v.Kind = KindRegular
		}
		if v.Reason == "" {
			v.Reason = fmt.Sprintf("%s named by executable content (%s)", familyNames[win], strings.Join(decidingClasses(v.Evidence), ", "))
		}
	case len(t.order) > 0:
		// Marks, but none from executable content: mentions.
		v.Kind, v.Confidence = KindUndetermined, 0
		v.Evidence = t.family("")
		v.Reason = mentionReason(t)
		if len(t.blind) > 0 {
			v.Reason += "; " + blindReason(t.blind)
			v.Evidence = append(v.Evidence, blindEvidence(t.blind)...)
		}
	case len(t.blind) > 0:
		v.Kind, v.Confidence = KindUndetermined, 0
		v.Reason = "no TOM-Skype, joint-venture or Skype mark found, but " + blindReason(t.blind)
		v.Evidence = blindEvidence(t.blind)
	default:
		v.Kind, v.Confidence = KindUnrelated, 0.9
		v.Reason = "no TOM-Skype, joint-venture or Skype mark in any rule match, version info, resource, signer, installer table, string, endpoint or name, and every node was wholly analysed"
		v.Evidence = []Evidence{{Node: root.ID, Source: "absence", Provenance: "", Detail: v.Reason, Count: 1}}
	}
	v.Evidence, v.EvidenceOmitted = rank(v.Evidence)
	return v
}

// markThirdParty records the PEs whose version info names a maker (a
// CompanyName) that is neither TOM, Skype nor the joint venture: programs by
// someone else. Resource leaves of such a PE inherit its maker.
func markThirdParty(n *artifact.Node, parentMaker *string, out map[string]string) {
	maker := parentMaker
	if n.PE != nil {
		maker = nil
		if company := companyName(n.PE); company != "" && !makerMark(company) {
			maker = &company
		}
	} else if !strings.HasPrefix(n.Name, "[rsrc]") {
		maker = nil
	}
	if maker != nil {
		out[n.ID] = *maker
	}
	for _, c := range n.Children {
		markThirdParty(c, maker, out)
	}
}

// companyName is the first non-blank CompanyName of a PE's version info.
func companyName(s *pe.Summary) string {
	if s.Version == nil {
		return ""
	}
	for _, tb := range s.Version.Tables {
		for _, vs := range tb.Strings {
			if vs.Key == "CompanyName" && strings.TrimSpace(vs.Value) != "" {
				return vs.Value
			}
		}
	}
	return ""
}

// makerMark: a CompanyName of TOM Online, Skype or the joint venture. Only
// the maker counts: a cleaner by another company may well call itself
// "TOM-Skype Removal Tool" in its FileDescription.
func makerMark(company string) bool {
	for _, mk := range markers {
		if hasMarker(company, mk.text) {
			return true
		}
	}
	l := strings.ToLower(company)
	return strings.Contains(l, "skype") || hasMarker(company, "TOM") || strings.Contains(l, "gmw")
}

func collectIssues(t *tally, n *artifact.Node) {
	for _, is := range n.Issues {
		switch is.Kind {
		case artifact.KindLimit, artifact.KindTimeout, artifact.KindToolMissing, artifact.KindExtract, artifact.KindRead, artifact.KindPanic,
			artifact.KindEncrypted, artifact.KindUnsupportedFormat, artifact.KindTruncated:
			t.blind = append(t.blind, n.ID+": "+is.Kind)
		case artifact.KindUnsupported:
			// "script not decompiled" loses nothing the analysers read;
			// a container whose content could not be listed at all does.
			if len(n.Children) == 0 {
				t.blind = append(t.blind, n.ID+": "+is.Kind)
			}
		}
	}
}

// collectNode adds the evidence one node carries: rule matches, version
// info, signers, installer tables, strings and its own name.
func collectNode(t *tally, root, n *artifact.Node) {
	class := func(off int64) string {
		if n.PE != nil {
			return peOffsetClass(n, off)
		}
		return nodeClass(n)
	}
	for _, m := range n.Matches {
		fam := ruleFamily(m)
		if fam == "" {
			continue
		}
		if len(m.Strings) == 0 {
			t.add(fam, Evidence{Node: n.ID, Source: "rule", Provenance: class(0), Detail: m.Namespace + ":" + m.Rule})
		}
		// Every matched string is an occurrence: one item per class, with
		// a count and the first offsets.
		for _, ms := range m.Strings {
			t.add(fam, Evidence{Node: n.ID, Source: "rule", Provenance: class(int64(ms.Offset)), Offset: int64(ms.Offset), Detail: m.Namespace + ":" + m.Rule})
		}
	}
	if n.PE != nil && n.PE.Version != nil {
		for _, tb := range n.PE.Version.Tables {
			for _, s := range tb.Strings {
				if !contains(versionKeys, s.Key) {
					continue
				}
				for _, mk := range markers {
					if hasMarker(s.Value, mk.text) {
						t.add(mk.family, Evidence{Node: n.ID, Source: "version-info", Provenance: ProvVersionInfo, Detail: fmt.Sprintf("%s %s = %q", tb.Key, s.Key, s.Value)})
					}
				}
			}
		}
	}
	for _, sig := range []*pe.Signature{peSig(n), n.Signature} {
		if sig == nil || sig.Signer == "" {
			continue
		}
		for _, mk := range markers {
			if hasMarker(sig.Signer, mk.text) {
				t.add(mk.family, Evidence{Node: n.ID, Source: "signer", Provenance: ProvSigner, Detail: sig.Signer})
			}
		}
		if strings.Contains(sig.Signer, "Skype") && !hasMarker(sig.Signer, "Skype Technologies") {
			t.add(famSkype, Evidence{Node: n.ID, Source: "signer", Provenance: ProvSigner, Detail: sig.Signer})
		}
	}
	if in := n.Installer; in != nil {
		collectInstaller(t, n, in)
	}
	if n.Strings != nil {
		archive := n.PE == nil && nodeClass(n) == ProvMemberName
		for _, s := range n.Strings.Strings {
			marked := false
			if mayHoldMarker(s.Value) {
				for _, mk := range markers {
					if hasMarker(s.Value, mk.text) {
						marked = true
						t.add(mk.family, Evidence{Node: n.ID, Source: "string", Provenance: class(s.Offset), Offset: s.Offset, Detail: fmt.Sprintf("%s %q", s.Encoding, clip(s.Value))})
					}
				}
			}
			// An archive's strings are its member names, which run words
			// together ("tomskype_full.exe"): look for a name there too,
			// even when the member itself could not be read.
			if archive && !marked && nameMark(s.Value) {
				t.add(famTOM, Evidence{Node: n.ID, Source: "name", Provenance: ProvMemberName, Offset: s.Offset, Detail: fmt.Sprintf("member name %q", clip(s.Value))})
			}
		}
	}
	if nameMark(n.Name) {
		p := ProvMemberName
		if n == root {
			p = ProvInputName
		}
		t.add(famTOM, Evidence{Node: n.ID, Source: "name", Provenance: p, Detail: fmt.Sprintf("file name %q", clip(n.Name))})
	}
}

// collectInstaller looks for marks in an installer's script lines and table
// cells.
func collectInstaller(t *tally, n *artifact.Node, in *artifact.Installer) {
	const maxCells = 1 << 16 // cells looked at per installer
	for i, line := range strings.Split(in.Script, "\n") {
		if i >= maxCells {
			break
		}
		if !mayHoldMarker(line) {
			continue
		}
		for _, mk := range markers {
			if hasMarker(line, mk.text) {
				t.add(mk.family, Evidence{Node: n.ID, Source: "installer", Provenance: ProvInstaller, Detail: fmt.Sprintf("%s script line %d: %q", in.Format, i+1, clip(strings.TrimSpace(line)))})
			}
		}
	}
	names := make([]string, 0, len(in.Tables))
	for name := range in.Tables {
		names = append(names, name)
	}
	sort.Strings(names)
	cells := 0
	for _, name := range names {
		for r, row := range in.Tables[name].Rows {
			for _, cell := range row {
				if cells++; cells > maxCells {
					return
				}
				if !mayHoldMarker(cell) {
					continue
				}
				for _, mk := range markers {
					if hasMarker(cell, mk.text) {
						t.add(mk.family, Evidence{Node: n.ID, Source: "installer", Provenance: ProvInstaller, Detail: fmt.Sprintf("%s table %s row %d: %q", in.Format, name, r+1, clip(cell))})
					}
				}
			}
		}
	}
}

// collectEndpoints adds TOM and joint-venture service endpoints, with the
// provenance of their best location.
func collectEndpoints(t *tally, byID map[string]*artifact.Node, eps []Endpoint) {
	for _, e := range eps {
		if jvATSHost(e) { // ios.go: plain HTTP allowed to the joint venture's domain
			t.add(famJV, Evidence{Node: e.Locations[0].Node, Source: "endpoint", Provenance: ProvAppBundle, Detail: e.Class + " " + e.Value})
			continue
		}
		if !tomHost(e.Host) && !jvHost(e.Host) {
			continue
		}
		fam := famJV
		if tomHost(e.Host) {
			fam = famTOM
			// Only TOM's own service paths prove TOM-Skype: a link to
			// www.tom.com could sit in any Chinese software.
			if e.Class == endpoints.ClassOther && e.Kind == endpoints.KindURL && !strings.Contains(strings.ToLower(e.Value), "skype") {
				continue
			}
			if e.Kind != endpoints.KindURL && !strings.Contains(e.Host, "skype") {
				continue
			}
		}
		best := Evidence{}
		for _, l := range e.Locations {
			n := byID[l.Node]
			if n == nil {
				continue
			}
			p := nodeClass(n)
			if n.PE != nil {
				p = peOffsetClass(n, l.Offset)
			}
			if _, ok := t.thirdParty[n.ID]; ok {
				p = ProvThirdPartyPE
			}
			if best.Node == "" || Weights[p] > best.Weight {
				best = Evidence{Node: l.Node, Source: "endpoint", Provenance: p, Offset: l.Offset, Weight: Weights[p], Detail: e.Class + " " + e.Value}
			}
		}
		if best.Node != "" {
			t.add(fam, best)
		}
	}
}

// confidence is 1 - prod(1 - w) over the distinct kinds of evidence: a
// kind is what was seen (rule match, version info, string, endpoint,
// signer, installer entry, name) and where (provenance class), and w is
// that class's weight. Each kind counts once, however many items it holds:
// a thousand copies of one string are one observation. Capped at 0.99,
// rounded to two decimals.
func confidence(ev []Evidence) float64 {
	seen := map[string]bool{}
	miss := 1.0
	for _, e := range ev {
		k := e.Source + "\x00" + e.Provenance
		if e.Family == "" || seen[k] {
			continue
		}
		seen[k] = true
		miss *= 1 - Weights[e.Provenance]
	}
	return round2(math.Min(1-miss, 0.99))
}

func decidingClasses(ev []Evidence) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ProvenanceOrder {
		for _, e := range ev {
			if e.Provenance == p && e.Decides && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// mentionReason says in plain words where the marks were, when none was in
// executable content.
func mentionReason(t *tally) string {
	var fams []string
	for _, fam := range []string{famTOM, famJV, famSkype} {
		if len(t.classes[fam]) == 0 {
			continue
		}
		var where []string
		for _, p := range ProvenanceOrder {
			if t.classes[fam][p] {
				w := plainWords(p)
				if p == ProvThirdPartyPE {
					var makers []string
					for _, e := range t.family(fam) {
						if mk := fmt.Sprintf("%q", clip(t.thirdParty[e.Node])); e.Provenance == p && t.thirdParty[e.Node] != "" && !slices.Contains(makers, mk) && len(makers) < 3 {
							makers = append(makers, mk)
						}
					}
					sort.Strings(makers)
					w = fmt.Sprintf("a program whose version info names another maker (%s)", strings.Join(makers, ", "))
				}
				where = append(where, w)
			}
		}
		fams = append(fams, fmt.Sprintf("%s is mentioned only in %s", familyNames[fam], strings.Join(where, " and ")))
	}
	return strings.Join(fams, "; ") + "; no executable content (PE version info, resources or strings, signer, installer script or tables) names it, so no verdict is given"
}

func blindReason(blind []string) string {
	return fmt.Sprintf("%d node(s) were not wholly analysed (%s), so a mark may be missed", len(blind), strings.Join(firstN(sortedCopy(blind), 3), "; "))
}

func blindEvidence(blind []string) []Evidence {
	var out []Evidence
	for _, b := range sortedCopy(blind) {
		out = append(out, Evidence{Node: strings.SplitN(b, ": ", 2)[0], Source: "issue", Count: 1,
			Detail: "this node was not wholly analysed: " + b})
	}
	return out
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// rank orders evidence by weight (heaviest first), then provenance class,
// node, offset and detail; drops the offsets list of items seen once; and
// keeps at most maxEvidence items.
func rank(ev []Evidence) ([]Evidence, int) {
	for i := range ev {
		if ev[i].Count <= 1 {
			ev[i].Locations = nil
		}
		if ev[i].Count == 0 {
			ev[i].Count = 1
		}
	}
	sort.SliceStable(ev, func(i, j int) bool {
		a, b := ev[i], ev[j]
		if a.Weight != b.Weight {
			return a.Weight > b.Weight
		}
		if a.Provenance != b.Provenance {
			return a.Provenance < b.Provenance
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if a.Offset != b.Offset {
			return a.Offset < b.Offset
		}
		return a.Detail < b.Detail
	})
	if len(ev) > maxEvidence {
		return ev[:maxEvidence], len(ev) - maxEvidence
	}
	return ev, 0
}

func peSig(n *artifact.Node) *pe.Signature {
	if n.PE == nil {
		return nil
	}
	return n.PE.Signature
}

// jvHost is a Skype host of the joint venture under gmw.cn (skype.gmw.cn,
// imgskype.gmw.cn); Guangming Online's news site www.gmw.cn is not.
func jvHost(h string) bool { return strings.HasSuffix(h, ".gmw.cn") && strings.Contains(h, "skype") }

// tomHost is tom.com or a name under it; "harmless-tom.com" is not.
func tomHost(h string) bool { return h == "tom.com" || strings.HasSuffix(h, ".tom.com") }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hasMarker finds marker in s, case-insensitively, with no letter or digit
// glued to either end of it.
//
// It runs on every string of every node for every marker, so ASCII text (all
// but a few strings) is compared case-folded in place, without the
// lower-cased copy; other text goes by strings.ToLower, whose Unicode rules
// (the Kelvin sign lower-cases to k) the fold would not follow.
func hasMarker(s, marker string) bool {
	if marker != "" && isASCII(s) && isASCII(marker) {
		return hasMarkerASCII(s, marker)
	}
	ls, lm := strings.ToLower(s), strings.ToLower(marker)
	for from := 0; ; {
		i := strings.Index(ls[from:], lm)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(lm)
		if !wordByte(ls, i-1) && !wordByte(ls, end) {
			return true
		}
		from = i + 1
	}
}

// mayHoldMarker tells whether s may hold one of the markers; false is
// certain. Every marker holds "tom" or "skype" (TestMarkersHoldAnAnchor),
// so an ASCII string with neither, case folded, holds none: one pass over
// the string instead of one per marker. A string with other bytes is
// always looked at, as lower-casing it can give ASCII letters (the Kelvin
// sign gives k).
func mayHoldMarker(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return true
		}
		switch c | 0x20 { // 'T' and 't', 'S' and 's': no other byte folds to them
		case 't':
			if i+3 <= len(s) && s[i+1]|0x20 == 'o' && s[i+2]|0x20 == 'm' {
				return true
			}
		case 's':
			if i+5 <= len(s) && s[i+1]|0x20 == 'k' && s[i+2]|0x20 == 'y' && s[i+3]|0x20 == 'p' && s[i+4]|0x20 == 'e' {
				return true
			}
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// hasMarkerASCII is hasMarker for ASCII s and marker: what the lower-cased
// copies would show, read through an ASCII fold.
func hasMarkerASCII(s, marker string) bool {
	m := len(marker)
	first := lowerASCII(marker[0])
	for i := 0; i+m <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < m && lowerASCII(s[i+j]) == lowerASCII(marker[j]) {
			j++
		}
		if j == m && !wordByteFold(s, i-1) && !wordByteFold(s, i+m) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// wordByteFold is wordByte on the lower-cased string, read in the original.
func wordByteFold(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := lowerASCII(s[i])
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func wordByte(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := s[i]
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func clip(s string) string {
	r := []rune(s)
	if len(r) > 120 {
		return string(r[:120]) + "…"
	}
	return s
}

// productCandidates are the PEs (or, lacking any, other nodes) that carry
// deciding evidence of the verdict's family, best first: the product
// executable is not an installer or self-extractor, is an EXE rather than
// a DLL, describes itself as Skype (version-info FileDescription,
// InternalName or OriginalFilename: a component such as ContentFilter.exe,
// "Tom Word Review", does not), and carries the most evidence weight.
func productCandidates(byID map[string]*artifact.Node, weight map[string]float64) []*artifact.Node {
	var pes, others []*artifact.Node
	for id := range weight {
		n := byID[id]
		if n == nil {
			continue
		}
		if n.PE != nil {
			pes = append(pes, n)
		} else {
			others = append(others, n)
		}
	}
	cands := pes
	if len(cands) == 0 {
		cands = others
	}
	score := func(n *artifact.Node) [3]bool {
		wrapper := n.Installer != nil || n.Container != "" && n.Container != "pe"
		dll := n.PE != nil && n.PE.IsDLL
		return [3]bool{!wrapper, !dll, selfDescribed(n)}
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := score(cands[i]), score(cands[j])
		for k := range a {
			if a[k] != b[k] {
				return a[k]
			}
		}
		if wa, wb := weight[cands[i].ID], weight[cands[j].ID]; wa != wb {
			return wa > wb
		}
		return cands[i].ID < cands[j].ID
	})
	return cands
}

// selfDescribed: the PE's version info describes the file itself as Skype.
func selfDescribed(n *artifact.Node) bool {
	if n.PE == nil || n.PE.Version == nil {
		return false
	}
	for _, tb := range n.PE.Version.Tables {
		for _, s := range tb.Strings {
			switch s.Key {
			case "FileDescription", "InternalName", "OriginalFilename":
				if strings.Contains(strings.ToLower(s.Value), "skype") {
					return true
				}
			}
		}
	}
	return false
}

// language is decided by the first candidate (the product executable) from
// its UI resource languages (VERSION, STRING, DIALOG, MENU), version-info
// translations and Han text in string tables, dialogs and strings, never
// from names. Only when it has no majority does the next candidate decide.
// Helpers never outvote the product: their signals are listed, with weight 0.
func language(cands []*artifact.Node) (lang, node string, ev []Evidence) {
	for i, n := range cands {
		if n.PE == nil {
			continue
		}
		nz, ne, han := langSignals(n)
		l := ""
		switch {
		case nz > ne:
			l = "zh"
		case ne > nz:
			l = "en"
		}
		role := "helper"
		if i == 0 {
			role = "product executable"
		}
		counts := fmt.Sprintf("%d Chinese and %d English signals (UI resource languages, version translations, %d Han strings)", nz, ne, han)
		switch {
		case lang == "" && l != "":
			lang, node = l, n.ID
			d := fmt.Sprintf("language %s decided by the %s: %s", l, role, counts)
			if i > 0 {
				d = fmt.Sprintf("language %s decided by this %s, because the product executable %s has no majority: %s", l, role, cands[0].ID, counts)
			}
			ev = append(ev, Evidence{Node: n.ID, Source: "language", Provenance: ProvResources, Detail: d, Count: 1})
		case nz+ne > 0:
			why := "does not decide: the language comes from the product executable"
			if lang == "" {
				why = "no majority"
			}
			ev = append(ev, Evidence{Node: n.ID, Source: "language", Provenance: ProvResources, Detail: fmt.Sprintf("%s (%s): %s", role, why, counts), Count: 1})
		}
	}
	return lang, node, ev
}

// langSignals counts a PE's Chinese and English signals.
func langSignals(n *artifact.Node) (nz, ne, han int) {
	for _, r := range n.PE.Resources {
		switch r.Type {
		case "VERSION", "STRING", "DIALOG", "MENU":
		default:
			continue
		}
		switch r.Lang & 0x3ff {
		case 0x04:
			nz++
		case 0x09:
			ne++
		}
	}
	if v := n.PE.Version; v != nil {
		for _, tr := range v.Translations {
			if strings.HasPrefix(strings.ToLower(tr), "0804") || strings.HasPrefix(strings.ToLower(tr), "0404") {
				nz++
			} else if strings.HasPrefix(tr, "0409") || strings.HasPrefix(tr, "0809") {
				ne++
			}
		}
	}
	for _, s := range n.PE.StringTable {
		if hasHan(s.Value) {
			han++
		}
	}
	for _, d := range n.PE.Dialogs {
		if hasHan(d.Caption) {
			han++
		}
		for _, c := range d.Controls {
			if hasHan(c.Text) {
				han++
			}
		}
	}
	if n.Strings != nil {
		for _, s := range n.Strings.Strings {
			if s.Encoding != "ascii" && hasHan(s.Value) && !hasMarker(s.Value, "TOM在线") {
				han++
			}
		}
	}
	if han >= 3 {
		nz++
	}
	return nz, ne, han
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
