package reports

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/plist"
)

// appVersion is the CFBundleVersion of the first IPA in the tree, for
// builds without PE version info.
func appVersion(root *artifact.Node) string {
	var v string
	_ = root.Walk(func(n *artifact.Node) error {
		if v == "" && n.IOS != nil {
			v = n.IOS.BuildVersion
		}
		return nil
	})
	return v
}

// appSections are the report page's tables for an IPA node and a Mach-O
// node: AppFields as key/value rows.
func appSections(n *artifact.Node) []Section {
	if n.IOS == nil && n.MachO == nil {
		return nil
	}
	fields := AppFields(n)
	if n.MachO != nil {
		for i, sl := range n.MachO.Slices {
			p := fmt.Sprintf("Mach-O/slice %d", i)
			fields[p] = fmt.Sprintf("%s %d-bit %s at %d (%d bytes), %d load commands", sl.CPU, sl.Bits, sl.FileType, sl.Offset, sl.Size, len(sl.LoadCommands))
			if sl.Platform != "" {
				fields[p+" platform"] = sl.Platform + " " + sl.MinOS
			}
			if cs := sl.Signature; cs != nil {
				var h []string
				for _, d := range cs.Directories {
					h = append(h, d.HashType+" "+d.CDHash)
				}
				fields[p+" cdhash"] = strings.Join(h, ", ")
				if len(cs.Signers) > 0 {
					fields[p+" signers"] = strings.Join(cs.Signers, " | ")
				} else if cs.AdHoc {
					fields[p+" signers"] = "ad hoc (no signer)"
				}
			}
		}
	}
	var rows []Row
	for _, k := range sortedFieldKeys(fields) {
		rows = append(rows, Row{k, fields[k]})
	}
	name := "Mach-O " + n.ID
	if n.IOS != nil {
		name = "iOS app " + n.ID
	}
	return []Section{{Name: name, Columns: []string{"field", "value"}, Rows: rows}}
}

func sortedFieldKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// AppFields are the iOS facts of a node that a diff sets side by side and
// a report page lists, as version-info fields are for PEs: what an IPA's Info.plist, store metadata
// and profile declare (identity, storefront, localisations, background
// modes, URL schemes, hosts allowed over plain HTTP, entitlements), and what
// a Mach-O links and is signed with. Lists are sorted and comma-joined.
func AppFields(n *artifact.Node) map[string]string {
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	join := func(l []string) string {
		c := append([]string(nil), l...)
		sort.Strings(c)
		return strings.Join(c, ", ")
	}
	if a := n.IOS; a != nil {
		put("Info.plist/CFBundleIdentifier", a.BundleID)
		put("Info.plist/CFBundleDisplayName", a.DisplayName)
		put("Info.plist/CFBundleShortVersionString", a.ShortVersion)
		put("Info.plist/CFBundleVersion", a.BuildVersion)
		put("Info.plist/MinimumOSVersion", a.MinimumOS)
		put("Info.plist/CFBundleDevelopmentRegion", a.DevelopmentLang)
		put("Info.plist/CFBundleLocalizations", join(a.Localizations))
		put("bundle/lproj folders", join(a.LprojFolders))
		put("Info.plist/UIBackgroundModes", join(a.BackgroundModes))
		put("Info.plist/URL schemes", join(a.URLSchemes))
		if a.ATS != nil {
			var plain []string
			for _, x := range a.ATS.Exceptions {
				if x.InsecureHTTP {
					plain = append(plain, x.Domain)
				}
			}
			put("Info.plist/ATS plain-HTTP hosts", join(plain))
			if a.ATS.AllowsArbitraryLoads {
				put("Info.plist/ATS arbitrary loads", "allowed")
			}
		}
		if t := a.ITunes; t != nil {
			if t.Storefront != 0 {
				put("iTunesMetadata/storefront", strings.TrimSpace(fmt.Sprintf("%d %s", t.Storefront, t.Country)))
			}
			put("iTunesMetadata/artist", t.Artist)
			put("iTunesMetadata/item id", t.ItemID)
		}
		if p := a.Provision; p != nil {
			put("profile/team", join(p.TeamIDs))
			put("profile/entitlements", join(p.Entitlements))
			put("profile/expires", p.Expires)
		}
	}
	if mo := n.MachO; mo != nil {
		var archs, dylibs, ids, teams []string
		encrypted := false
		for _, sl := range mo.Slices {
			archs = append(archs, sl.CPU)
			for _, d := range sl.Dylibs {
				if !contains(dylibs, d.Name) {
					dylibs = append(dylibs, d.Name)
				}
			}
			if cs := sl.Signature; cs != nil {
				if cs.Identifier != "" && !contains(ids, cs.Identifier) {
					ids = append(ids, cs.Identifier)
				}
				if cs.TeamID != "" && !contains(teams, cs.TeamID) {
					teams = append(teams, cs.TeamID)
				}
				if cs.Entitlements != "" {
					put("Mach-O/entitlements ("+sl.CPU+")", entitlements(cs.Entitlements))
				}
			}
			if sl.Encryption != nil && sl.Encryption.CryptID != 0 {
				encrypted = true
			}
		}
		put("Mach-O/architectures", strings.Join(archs, ", "))
		put("Mach-O/linked libraries", join(dylibs))
		put("Mach-O/signature identifier", join(ids))
		put("Mach-O/team", join(teams))
		if encrypted {
			put("Mach-O/encrypted", "cryptid 1")
		}
	}
	return m
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// entitlements renders an entitlements plist as sorted key=value pairs;
// the XML as found when it does not decode.
func entitlements(xml string) string {
	v, _, err := plist.Decode([]byte(xml))
	d := plist.AsDict(v)
	if err != nil || d == nil {
		return xml
	}
	var kv []string
	for k, x := range d {
		kv = append(kv, fmt.Sprintf("%s=%v", k, x))
	}
	sort.Strings(kv)
	return strings.Join(kv, ", ")
}
