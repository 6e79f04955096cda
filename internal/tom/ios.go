package tom

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/ios"
	"github.com/tomscan/tomscan/internal/tom/endpoints"
)

// iOS builds (IPA). The same families decide them as Windows builds; these
// observations add to the tally:
//
//   - bundle-id: Skype for iPhone's App Store bundle id com.skype.skype (from
//     Info.plist, or the CodeDirectory identifier of a Mach-O's signature):
//     regular Skype.
//   - storefront: an iTunesMetadata.plist from the China storefront (143465)
//     on an app that calls itself Skype (bundle id under com.skype. or the
//     display name): the international Skype for iPhone was not in the China
//     App Store, so a Skype bought there is the China-only joint-venture
//     build (GreatFire, "Tom Skype is dead"). Another app in that store is
//     nothing.
//   - endpoint: hosts that Info.plist's App Transport Security lets the app
//     reach over plain HTTP become endpoints of class plain-http-allowed;
//     those under gmw.cn are the joint venture's.
//
// Language comes from the bundle's localisations: CFBundleLocalizations,
// <lang>.lproj folders and the development region; a bundle localised only
// in Chinese is zh, one whose development region is English en.

// ClassPlainHTTP is the endpoint class of a host that App Transport
// Security exceptions allow over plain HTTP.
const ClassPlainHTTP = "plain-http-allowed"

const chinaStorefront = 143465

// regularBundleIDs are the App Store bundle ids of Skype for iPhone and iPad.
var regularBundleIDs = map[string]bool{"com.skype.skype": true, "com.skype.SkypeForiPad": true}

// iosEvidence adds the observations above for every IPA and Mach-O node.
func iosEvidence(root *artifact.Node, t *tally) {
	_ = root.Walk(func(n *artifact.Node) error {
		if n.MachO != nil {
			for _, sl := range n.MachO.Slices {
				if cs := sl.Signature; cs != nil && regularBundleIDs[cs.Identifier] {
					t.add(famSkype, Evidence{Node: n.ID, Source: "bundle-id", Provenance: ProvAppBundle, Detail: fmt.Sprintf("code signature identifier %q (%s slice), team %q", cs.Identifier, sl.CPU, cs.TeamID)})
					break
				}
			}
		}
		app := n.IOS
		if app == nil {
			return nil
		}
		if regularBundleIDs[app.BundleID] {
			t.add(famSkype, Evidence{Node: n.ID, Source: "bundle-id", Provenance: ProvAppBundle, Detail: fmt.Sprintf("Info.plist CFBundleIdentifier %q", app.BundleID)})
		}
		if m := app.ITunes; m != nil && m.Storefront == chinaStorefront && callsItselfSkype(app) {
			t.add(famJV, Evidence{Node: n.ID, Source: "storefront", Provenance: ProvAppBundle, Detail: fmt.Sprintf("iTunesMetadata storefront %d (%s) for %q (%s): the China App Store carried only the China-only Skype", m.Storefront, m.CountryName, app.BundleID, app.DisplayName)})
		}
		return nil
	})
}

func callsItselfSkype(app *ios.App) bool {
	return strings.HasPrefix(app.BundleID, "com.skype.") || strings.EqualFold(app.DisplayName, "Skype") || strings.EqualFold(app.Name, "Skype")
}

// iosLanguage decides zh or en from the first IPA's localisations, with the
// evidence; "" when there is no IPA or it is undecided.
func iosLanguage(root *artifact.Node) (lang, node string, ev []Evidence) {
	_ = root.Walk(func(n *artifact.Node) error {
		if n.IOS == nil || lang != "" {
			return nil
		}
		app := n.IOS
		langs := map[string]bool{}
		for _, l := range append(append([]string(nil), app.Localizations...), app.LprojFolders...) {
			if l != "Base" {
				langs[l] = true
			}
		}
		zh, other := 0, 0
		for l := range langs {
			if isChineseLocale(l) {
				zh++
			} else {
				other++
			}
		}
		dev := app.DevelopmentLang
		switch {
		case zh > 0 && other == 0:
			lang = "zh"
		case isChineseLocale(dev) && zh > 0:
			lang = "zh"
		case strings.HasPrefix(strings.ToLower(dev), "en") || other > 0 && dev == "":
			lang = "en"
		}
		if lang != "" {
			names := make([]string, 0, len(langs))
			for l := range langs {
				names = append(names, l)
			}
			sort.Strings(names)
			node = n.ID
			ev = append(ev, Evidence{Node: n.ID, Source: "localization", Provenance: ProvAppBundle, Count: 1, Detail: fmt.Sprintf("localisations %s, development region %q", strings.Join(names, ","), dev)})
		}
		return nil
	})
	return lang, node, ev
}

func isChineseLocale(l string) bool {
	l = strings.ToLower(l)
	return l == "zh" || strings.HasPrefix(l, "zh_") || strings.HasPrefix(l, "zh-") || l == "chinese"
}

// iosEndpoints gives the hosts of ATS plain-HTTP exceptions the class
// plain-http-allowed: an endpoint found in the bundle's strings is
// reclassified when it is only a bare host of class other, otherwise one
// is added at the IPA node.
func iosEndpoints(root *artifact.Node, eps []Endpoint) []Endpoint {
	byValue := map[string]int{}
	for i, e := range eps {
		byValue[strings.ToLower(e.Value)] = i
	}
	_ = root.Walk(func(n *artifact.Node) error {
		if n.IOS == nil || n.IOS.ATS == nil {
			return nil
		}
		for _, x := range n.IOS.ATS.Exceptions {
			if !x.InsecureHTTP {
				continue
			}
			host := strings.ToLower(x.Domain)
			if i, ok := byValue[host]; ok {
				if eps[i].Kind == endpoints.KindHost && eps[i].Class == endpoints.ClassOther {
					eps[i].Class = ClassPlainHTTP
				}
				continue
			}
			byValue[host] = len(eps)
			eps = append(eps, Endpoint{Value: x.Domain, Kind: endpoints.KindHost, Host: host, Class: ClassPlainHTTP,
				Locations: []Location{{Node: n.ID}}})
		}
		return nil
	})
	sort.SliceStable(eps, func(i, j int) bool { return strings.ToLower(eps[i].Value) < strings.ToLower(eps[j].Value) })
	return eps
}

// jvATSHost: a plain-HTTP exception for the joint venture's domain.
func jvATSHost(e Endpoint) bool {
	return e.Class == ClassPlainHTTP && (e.Host == "gmw.cn" || strings.HasSuffix(e.Host, ".gmw.cn"))
}
