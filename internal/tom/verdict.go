package tom

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/tom/endpoints"
	"github.com/tomscan/tomscan/pe"
)

// Families of evidence.
const (
	famTOM     = "tom"
	famJV      = "joint-venture"
	famSkype   = "skype"
	famLangZH  = "zh"
	famLangEN  = "en"
	maxStrEvid = 8 // string evidence entries per family: the rest add nothing
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

type tally struct {
	evidence []Evidence
	sources  map[string]map[string]bool // family -> sources seen
	strCount map[string]int
	lang     map[string]int
	blind    []string // issues that may hide evidence
}

func (t *tally) add(family string, e Evidence) {
	if t.sources[family] == nil {
		t.sources[family] = map[string]bool{}
	}
	if e.Source == "string" {
		t.strCount[family]++
		if t.strCount[family] > maxStrEvid {
			t.sources[family][e.Source] = true
			return
		}
	}
	t.sources[family][e.Source] = true
	t.evidence = append(t.evidence, e)
}

// verdict decides what the build is. TOM marks win over joint-venture marks,
// which win over regular Skype marks: a TOM build still says "Skype
// Technologies" in places, a regular one never says "TOM Online".
func verdict(ctx context.Context, root *artifact.Node, eps []Endpoint) Verdict {
	t := &tally{sources: map[string]map[string]bool{}, strCount: map[string]int{}, lang: map[string]int{}}
	tomNodes := map[string]bool{}
	_ = root.Walk(func(n *artifact.Node) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, is := range n.Issues {
			switch is.Kind {
			case artifact.KindLimit, artifact.KindTimeout, artifact.KindToolMissing, artifact.KindExtract, artifact.KindRead, artifact.KindPanic,
				artifact.KindEncrypted, artifact.KindUnsupportedFormat:
				t.blind = append(t.blind, n.ID+": "+is.Kind)
			case artifact.KindUnsupported:
				// "script not decompiled" loses nothing the analysers read;
				// a container whose content could not be listed at all does.
				if len(n.Children) == 0 {
					t.blind = append(t.blind, n.ID+": "+is.Kind)
				}
			}
		}
		for _, m := range n.Matches {
			if fam := ruleFamily(m); fam != "" {
				e := Evidence{Node: n.ID, Source: "rule", Detail: m.Namespace + ":" + m.Rule}
				if len(m.Strings) > 0 {
					e.Offset = int64(m.Strings[0].Offset)
				}
				t.add(fam, e)
				if fam == famTOM {
					tomNodes[n.ID] = true
				}
			}
		}
		if n.PE != nil {
			if v := n.PE.Version; v != nil {
				for _, tb := range v.Tables {
					for _, s := range tb.Strings {
						if !contains(versionKeys, s.Key) {
							continue
						}
						for _, mk := range markers {
							if hasMarker(s.Value, mk.text) {
								t.add(mk.family, Evidence{Node: n.ID, Source: "version-info", Detail: fmt.Sprintf("%s %s = %q", tb.Key, s.Key, s.Value)})
								if mk.family == famTOM {
									tomNodes[n.ID] = true
								}
							}
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
					t.add(mk.family, Evidence{Node: n.ID, Source: "signer", Detail: sig.Signer})
				}
			}
			if mk := "Skype"; strings.Contains(sig.Signer, mk) && !hasMarker(sig.Signer, "Skype Technologies") {
				t.add(famSkype, Evidence{Node: n.ID, Source: "signer", Detail: sig.Signer})
			}
		}
		if n.Strings != nil {
			for _, s := range n.Strings.Strings {
				for _, mk := range markers {
					if hasMarker(s.Value, mk.text) {
						t.add(mk.family, Evidence{Node: n.ID, Source: "string", Offset: s.Offset, Detail: fmt.Sprintf("%s %q", s.Encoding, clip(s.Value))})
						if mk.family == famTOM {
							tomNodes[n.ID] = true
						}
					}
				}
			}
		}
		return nil
	})
	iosEvidence(root, t) // ios.go: bundle id, storefront
	for _, e := range eps {
		if jvATSHost(e) { // ios.go: plain HTTP allowed to the joint venture's domain
			t.add(famJV, Evidence{Node: e.Locations[0].Node, Source: "endpoint", Detail: e.Class + " " + e.Value})
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
		for _, l := range e.Locations {
			if fam == famTOM {
				tomNodes[l.Node] = true
			}
		}
		t.add(fam, Evidence{Node: e.Locations[0].Node, Source: "endpoint", Offset: e.Locations[0].Offset, Detail: e.Class + " " + e.Value})
	}

	v := Verdict{}
	switch {
	case len(t.sources[famTOM]) > 0:
		lang, ev := language(root, tomNodes)
		v.Language = lang
		t.evidence = append(t.evidence, ev...)
		v.Kind = KindTOMEnglish
		if lang == "zh" {
			v.Kind = KindTOMChinese
		}
		v.Confidence = confidence(len(t.sources[famTOM]))
		if lang == "" {
			v.Confidence -= 0.2
		}
	case len(t.sources[famJV]) > 0:
		v.Kind, v.Confidence = KindJointVenture, confidence(len(t.sources[famJV]))
		v.Language, _ = language(root, nil)
	case len(t.sources[famSkype]) > 0:
		v.Kind, v.Confidence = KindRegular, confidence(len(t.sources[famSkype]))
		v.Language, _ = language(root, nil)
	case len(t.blind) > 0:
		v.Kind, v.Confidence = KindUndetermined, 0
		sort.Strings(t.blind)
		for i, b := range t.blind {
			if i == maxStrEvid {
				break
			}
			v.Evidence = append(v.Evidence, Evidence{Node: strings.SplitN(b, ": ", 2)[0], Source: "issue", Detail: "no Skype mark found, but this node was not wholly analysed: " + b})
		}
		return v
	default:
		v.Kind, v.Confidence = KindUnrelated, 0.9
		v.Evidence = []Evidence{{Node: root.ID, Source: "absence", Detail: "no TOM-Skype, joint-venture or Skype mark in any rule match, version info, signer, string or endpoint"}}
		return v
	}
	if v.Language == "" { // ios.go: an IPA's localisations
		var ev []Evidence
		v.Language, ev = iosLanguage(root)
		t.evidence = append(t.evidence, ev...)
	}
	v.Evidence = t.evidence
	sort.SliceStable(v.Evidence, func(i, j int) bool {
		a, b := v.Evidence[i], v.Evidence[j]
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
	return v
}

// confidence grows with the number of independent kinds of evidence.
func confidence(sources int) float64 {
	c := 0.6 + 0.1*float64(sources)
	if c > 0.99 {
		c = 0.99
	}
	return float64(int(c*100+0.5)) / 100
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
func hasMarker(s, marker string) bool {
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

// language decides zh or en from the PEs in nodes (all PEs when nodes is
// nil): the languages of UI resources (VERSION, STRING, DIALOG, MENU), the
// version-info translations, and Han text in string tables, dialogs and
// strings. Never from names.
func language(root *artifact.Node, nodes map[string]bool) (string, []Evidence) {
	zh, en := 0, 0
	var ev []Evidence
	_ = root.Walk(func(n *artifact.Node) error {
		if n.PE == nil || nodes != nil && !nodes[n.ID] {
			return nil
		}
		nz, ne := 0, 0
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
		han := 0
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
		if nz+ne > 0 {
			ev = append(ev, Evidence{Node: n.ID, Source: "resource-language", Detail: fmt.Sprintf("%d Chinese and %d English signals (UI resource languages, version translations); %d Han strings", nz, ne, han)})
		}
		zh += nz
		en += ne
		return nil
	})
	switch {
	case zh > en:
		return "zh", ev
	case en > zh:
		return "en", ev
	}
	return "", ev
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
