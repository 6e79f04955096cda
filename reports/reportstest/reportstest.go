// Package reportstest builds small, fixed reports for the tests of reports
// and its subpackages: a regular Skype build, a TOM-Skype build of the next
// version with endpoints and a keyword list, and a hostile build whose every
// string tries to act on a browser, a Markdown viewer or a terminal.
package reportstest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/pe"
	"github.com/tomscan/tomscan/reports"
)

// Keys of the fixture builds (fake sha256 values).
const (
	RegularKey = "1111111111111111111111111111111111111111111111111111111111111111"
	TOMKey     = "2222222222222222222222222222222222222222222222222222222222222222"
	HostileKey = "3333333333333333333333333333333333333333333333333333333333333333"
	ChineseKey = "4444444444444444444444444444444444444444444444444444444444444444"
	GMWKey     = "5555555555555555555555555555555555555555555555555555555555555555"
	OtherKey   = "6666666666666666666666666666666666666666666666666666666666666666"
	FailedKey  = "7777777777777777777777777777777777777777777777777777777777777777"
)

// Hostile is the payload every string of the hostile build carries.
const Hostile = "<script>alert(1)</script><img src=x onerror=alert(2)> **bold** [link](http://evil.example/) `code` | pipe \x1b[31mRED\x1b[0m \x1b]0;title\x07 \u202eevil\u202c \r\nnext line & </td></tr>"

func base(name, key string, size int64) *reports.Report {
	return &reports.Report{
		SchemaVersion: reports.SchemaVersion,
		Tool:          reports.Tool{Name: "tomscan", Version: "test", Dependencies: map[string]string{"github.com/saferwall/pe": "v1.6.5", "libyara": "4.2.3"}},
		Rules:         reports.RulesInfo{Digest: "sha256:" + strings.Repeat("ab", 32), Count: 8, Files: []reports.RuleFile{{Namespace: "tom", Path: "rules/tom_endpoints.yar"}}},
		Limits:        limits.Default(),
		Extractors:    []string{"nsis", "zip"},
		Build:         reports.BuildRef{Path: name, Size: size, SHA256: key, Type: "pe"},
		Cache:         &reports.Cache{Key: strings.Repeat("c", 56) + key[:8], KeywordLists: strings.Repeat("d", 64), GeoIP: strings.Repeat("e", 64)},
	}
}

func node(parent *artifact.Node, name, typ string, size int64, sha string) *artifact.Node {
	var n *artifact.Node
	if parent == nil {
		n = artifact.NewRoot(name)
	} else {
		n = parent.NewChild(name, "nsis")
		parent.Children = append(parent.Children, n)
	}
	n.Type, n.Size, n.SHA256 = typ, size, sha
	n.MD5, n.SHA1 = strings.Repeat("0", 32), strings.Repeat("0", 40)
	return n
}

func version(ver, product string) *pe.VersionInfo {
	return &pe.VersionInfo{FileVersion: ver, ProductVersion: ver, Tables: []pe.VersionTable{{Key: "040904b0", Resource: 1033,
		Strings: []pe.VersionString{{Key: "CompanyName", Value: "Skype Technologies S.A."}, {Key: "FileDescription", Value: product}, {Key: "ProductVersion", Value: ver}}}}}
}

func finish(r *reports.Report, tomSection any) *reports.Report {
	r.Tree.SortChildren()
	r.Summary, r.Status, r.StatusReason = reports.Summarize(r.Tree)
	if tomSection != nil {
		raw, err := json.Marshal(tomSection)
		if err != nil {
			panic(err)
		}
		var res tom.Result
		_ = json.Unmarshal(raw, &res)
		r.TOM, r.TOMRaw = &res, raw
	}
	return r
}

// Regular is a regular Skype 3.8 build: signed, no TOM endpoints.
func Regular() *reports.Report {
	r := base("SkypeSetup-3.8.0.188.exe", RegularKey, 2000)
	root := node(nil, "SkypeSetup-3.8.0.188.exe", "pe", 2000, RegularKey)
	root.Container = "nsis"
	trusted := true
	root.PE = &pe.Summary{Machine: "i386", Bits: 32, Signature: &pe.Signature{Signer: "Skype Technologies SA", Issuer: "VeriSign Class 3 Code Signing 2004 CA", DigestMatches: true, ChainTrusted: &trusted}}
	exe := node(root, "Skype.exe", "pe", 1500, strings.Repeat("a1", 32))
	exe.PE = &pe.Summary{Machine: "i386", Bits: 32, Version: version("3.8.0.188", "Skype")}
	exe.Matches = []artifact.Match{{Rule: "Skype_Regular_Identity", Namespace: "tom", Meta: map[string]string{"category": "identity"}}}
	node(root, "readme.txt", "text", 100, strings.Repeat("a2", 32))
	r.Tree = root
	return finish(r, map[string]any{"verdict": map[string]any{"kind": "regular-skype", "confidence": 0.9, "reason": "Skype named by executable content (pe-strings)",
		"evidence": []map[string]any{{"node": exe.ID, "source": "rule", "provenance": "pe-strings", "weight": 0.3, "decides": true, "family": "skype", "detail": "tom:Skype_Regular_Identity", "count": 1}}}})
}

// TOM is a TOM-Skype English 3.8 build: surveillance endpoints and a keyword list.
func TOM() *reports.Report {
	r := base("TOM-Skype-3.8.0.188-en.exe", TOMKey, 3000)
	root := node(nil, "TOM-Skype-3.8.0.188-en.exe", "pe", 3000, TOMKey)
	root.Container = "nsis"
	root.PE = &pe.Summary{Machine: "i386", Bits: 32}
	exe := node(root, "Skype.exe", "pe", 1600, strings.Repeat("b1", 32))
	exe.PE = &pe.Summary{Machine: "i386", Bits: 32, Version: version("3.8.0.188", "TOM-Skype")}
	exe.Matches = []artifact.Match{
		{Rule: "TOMSkype_Identity", Namespace: "tom", Meta: map[string]string{"category": "identity"}},
		{Rule: "TOMSkype_Endpoint_Agent", Namespace: "tom", Meta: map[string]string{"category": "endpoint"},
			Strings: []artifact.MatchString{{Name: "$agent", Offset: 4096, Data: "http://skypetools.tom.com/agent/keyfile"}}},
	}
	cf := node(root, "ContentFilter.exe", "pe", 500, strings.Repeat("b2", 32))
	cf.PE = &pe.Summary{Machine: "i386", Bits: 32}
	cf.Matches = []artifact.Match{{Rule: "TOMSkype_ContentFilter", Namespace: "tom", Meta: map[string]string{"category": "identity"}}}
	cf.Findings = []artifact.Finding{{Analyzer: "tom", Kind: "keyword-list", Value: "keyfile", Offset: 128, Detail: map[string]string{"cipher": "xor"}}}
	node(root, "readme.txt", "text", 100, strings.Repeat("a2", 32))
	root.Installer = &artifact.Installer{Format: "nsis",
		Script: "Section\n  SetOutPath $INSTDIR\n  File Skype.exe\n  SetOutPath $INSTDIR\\Tom\n  File ContentFilter.exe\n  Exec '\"$INSTDIR\\Tom\\ContentFilter.exe\" /install'\nSectionEnd\n",
		Tables: map[string]artifact.Table{
			"files":     {Columns: []string{"name", "output_dir", "path", "data_offset"}, Rows: [][]string{{"Skype.exe", "$INSTDIR", "$INSTDIR\\Skype.exe", "0"}, {"ContentFilter.exe", "$INSTDIR\\Tom", "$INSTDIR\\Tom\\ContentFilter.exe", "1604"}}},
			"exec":      {Columns: []string{"command", "wait"}, Rows: [][]string{{"\"$INSTDIR\\Tom\\ContentFilter.exe\" /install", "no"}}},
			"registry":  {Columns: []string{"root", "key", "name", "value"}, Rows: [][]string{{"HKLM", "Software\\Microsoft\\Windows\\CurrentVersion\\Run", "TOMContentFilter", "$INSTDIR\\Tom\\ContentFilter.exe"}}},
			"shortcuts": {Columns: []string{"link", "target"}, Rows: [][]string{}},
			"listed":    {Columns: []string{"path", "size"}, Rows: [][]string{{"Skype.exe", "1600"}, {"Tom/ContentFilter.exe", "500"}}},
		}}
	r.Tree = root
	return finish(r, map[string]any{
		"verdict": map[string]any{"kind": "tom-skype-english", "confidence": 0.97, "language": "en", "reason": "TOM-Skype named by executable content (pe-version-info, pe-strings)",
			"product_node": exe.ID, "language_node": exe.ID, "evidence": []map[string]any{
				{"node": exe.ID, "source": "version-info", "provenance": "pe-version-info", "weight": 0.6, "decides": true, "family": "tom", "detail": `040904b0 ProductName = "TOM-Skype"`, "count": 1},
				{"node": exe.ID, "source": "rule", "provenance": "pe-strings", "weight": 0.3, "decides": true, "family": "tom", "detail": "tom:TOMSkype_Identity", "offset": 4000, "count": 7,
					"locations": []map[string]any{{"node": exe.ID, "offset": 4000}, {"node": exe.ID, "offset": 4100}, {"node": cf.ID, "offset": 64}}},
				{"node": exe.ID, "source": "endpoint", "provenance": "pe-strings", "weight": 0.3, "decides": true, "family": "tom", "detail": "keyword-list http://skypetools.tom.com/agent/keyfile", "offset": 4096, "count": 1},
				{"node": exe.ID, "source": "language", "provenance": "pe-resources", "weight": 0, "decides": false, "detail": "language en decided by the product executable", "count": 1}}},
		"endpoints": []map[string]any{
			{"value": "http://skypetools.tom.com/agent/keyfile", "kind": "url", "host": "skypetools.tom.com", "class": "keyword-list",
				"locations": []map[string]any{{"node": exe.ID, "offset": 4096, "encoding": "ascii"}}},
			{"value": "http://220.181.9.132/agent/upload", "kind": "url", "host": "220.181.9.132", "class": "surveillance-upload", "country": "CN",
				"locations": []map[string]any{{"node": exe.ID, "offset": 8192, "encoding": "utf16le"}, {"node": cf.ID, "offset": 64, "encoding": "ascii"}}},
		},
		"keyword_lists": []map[string]any{{"cipher": "xor", "key_hex": "6b6579", "key_node": exe.ID, "key_offset": 4200, "key_encoding": "raw",
			"location": "rcdata", "node": cf.ID, "resource": "[rsrc]/RCDATA/101/1033", "offset": 256, "encoding": "gbk", "count": 5,
			"entries_total": 6, "normalized_count": 4, "normalized_sha256": strings.Repeat("ab", 32),
			"sha256": strings.Repeat("cd", 32), "keywords": []string{"falun", "六四", "法轮功", "x卧底下载 ", "x卧底下载"},
			"duplicates": []map[string]any{{"entry": "六四", "count": 2}},
			"snapshot": map[string]any{"family": "3.8", "name": "keyfile", "date": "2008-10-01", "jaccard": 0.667, "common": 4,
				"added": []string{"x卧底下载 "}, "removed": []string{"达赖"}}}},
		"des_upload_key": map[string]any{"key_hex": "0102030405060708", "node": exe.ID, "offset": 12288, "method": "beside-upload-url"},
	})
}

// HostileBuild is a build whose names, strings, version info, matches,
// findings, issues and TOM fields all carry Hostile.
func HostileBuild() *reports.Report {
	r := base("hostile"+Hostile+".exe", HostileKey, 700)
	root := node(nil, "hostile"+Hostile+".exe", "pe", 700, HostileKey)
	root.PE = &pe.Summary{Machine: "i386", Bits: 32, Version: &pe.VersionInfo{FileVersion: "1.0" + Hostile, Tables: []pe.VersionTable{{Key: "0804" + Hostile,
		Strings: []pe.VersionString{{Key: "ProductName" + Hostile, Value: "Skype" + Hostile}}}}},
		Signature: &pe.Signature{Signer: "CN=" + Hostile, Issuer: Hostile}}
	root.Strings = &pe.StringSet{Count: 1, Strings: []pe.String{{Offset: 1, Encoding: "ascii", Value: Hostile}}}
	child := node(root, "dir/"+Hostile, "text"+Hostile, 10, strings.Repeat("c1", 32))
	child.Matches = []artifact.Match{{Rule: "Rule" + Hostile, Namespace: "ns" + Hostile, Meta: map[string]string{"category": "endpoint", "description": "describes " + Hostile},
		Tags: []string{"tag" + Hostile}, Strings: []artifact.MatchString{{Name: "$u" + Hostile, Offset: 0x40, Data: "http://evil.example/" + Hostile}}}}
	child.Findings = []artifact.Finding{{Analyzer: "tom", Kind: "endpoint", Value: "http://x.example/" + Hostile, Detail: map[string]string{"class": Hostile}}}
	child.AddIssue(artifact.KindParse, "pe"+Hostile, "bad header: "+Hostile)
	hostileLine := strings.ReplaceAll(Hostile, "\n", " ")
	root.Installer = &artifact.Installer{Format: "nsis" + Hostile,
		// A script's newlines are its own line breaks: Hostile goes in
		// without its LF, each line keeping the rest of it.
		Script: "Name " + hostileLine + "\n```\n</pre><script>alert(1)</script>\n    # " + hostileLine + "\r\n",
		Tables: map[string]artifact.Table{
			"files":         {Columns: []string{"name" + Hostile}, Rows: [][]string{{Hostile}, {"|" + Hostile + "|"}}},
			"registry":      {Columns: []string{"key"}, Rows: [][]string{{"HKLM\\" + Hostile}}},
			"odd" + Hostile: {Columns: []string{"x"}, Rows: [][]string{{Hostile}}},
		}}
	r.Tree = root
	return finish(r, map[string]any{
		"verdict": map[string]any{"kind": "undetermined", "confidence": 0.1, "reason": Hostile, "evidence": []map[string]any{{"node": child.ID, "source": Hostile, "provenance": Hostile, "weight": 0, "decides": false, "detail": Hostile,
			"count": 2, "locations": []map[string]any{{"node": Hostile, "offset": 1}}}}},
		"endpoints": []map[string]any{{"value": "http://" + Hostile, "kind": Hostile, "host": Hostile, "class": Hostile, "country": Hostile,
			"locations": []map[string]any{{"node": child.ID, "offset": 1, "encoding": Hostile}}}},
		"keyword_lists": []map[string]any{{"cipher": Hostile, "location": Hostile, "node": child.ID, "offset": 0, "encoding": Hostile, "sha256": Hostile, "count": 2, "entries_total": 2, "normalized_count": 2, "normalized_sha256": Hostile, "keywords": []string{Hostile, "<b>" + Hostile},
			"duplicates": []map[string]any{{"entry": Hostile, "count": 3}},
			"snapshot":   map[string]any{"name": Hostile, "family": Hostile, "date": Hostile, "jaccard": 0.5, "common": 0, "added": []string{Hostile}, "removed": []string{"</li>" + Hostile}}}},
		"issues": []map[string]any{{"kind": "parse-error", "stage": Hostile, "message": Hostile}},
	})
}

// Chinese is a TOM-Skype Chinese 5.1 build with an AES list in a cache file.
func Chinese() *reports.Report {
	r := base("TOM-Skype-5.1.0.104-zh.cab", ChineseKey, 4000)
	root := node(nil, "TOM-Skype-5.1.0.104-zh.cab", "cab", 4000, ChineseKey)
	root.Container = "cab"
	exe := node(root, "Skype.exe", "pe", 2600, strings.Repeat("d1", 32))
	exe.Extractor = "cab"
	exe.PE = &pe.Summary{Machine: "i386", Bits: 32, Version: &pe.VersionInfo{FileVersion: "5.1.0.104", ProductVersion: "5.1.0.104",
		Tables: []pe.VersionTable{{Key: "080404b0", Resource: 2052, Strings: []pe.VersionString{
			{Key: "CompanyName", Value: "TOM在线有限公司"}, {Key: "FileDescription", Value: "TOM-Skype"}, {Key: "ProductName", Value: "TOM-Skype"}}}}}}
	exe.Matches = []artifact.Match{{Rule: "TOMSkype_Identity", Namespace: "tom", Meta: map[string]string{"category": "identity"}}}
	cache := node(root, "cache/keyfile_u.dat", "data", 300, strings.Repeat("d2", 32))
	cache.Extractor = "cab"
	r.Tree = root
	return finish(r, map[string]any{
		"verdict": map[string]any{"kind": "tom-skype-chinese", "confidence": 0.99, "language": "zh", "reason": "TOM-Skype named by executable content (pe-version-info)", "evidence": []map[string]any{
			{"node": exe.ID, "source": "version-info", "provenance": "pe-version-info", "weight": 0.6, "decides": true, "family": "tom", "detail": "080404b0 CompanyName = \"TOM在线有限公司\"", "count": 1}}},
		"endpoints": []map[string]any{{"value": "http://skypetools.tom.com/agent/keyfile_u", "kind": "url", "host": "skypetools.tom.com", "class": "keyword-list",
			"locations": []map[string]any{{"node": exe.ID, "offset": 512, "encoding": "utf16le"}}}},
		"keyword_lists": []map[string]any{{"cipher": "aes-256-ecb", "key_hex": strings.Repeat("0f", 32), "location": "cache-file", "node": cache.ID,
			"offset": 0, "encoding": "gbk", "count": 3, "entries_total": 3, "normalized_count": 3, "normalized_sha256": strings.Repeat("ef", 32), "sha256": strings.Repeat("ef", 32), "keywords": []string{"六四", "法轮功", "胡锦涛"},
			"snapshot": map[string]any{"family": "5.0", "name": "keyfile_u", "date": "2011-04-27", "jaccard": 1.0, "common": 3, "added": []string{}, "removed": []string{}}}},
	})
}

// GMW is a post-TOM joint-venture (Guangming Wang) build: no TOM endpoints.
func GMW() *reports.Report {
	r := base("GMW-Skype-6.1.0.129.msi", GMWKey, 5000)
	root := node(nil, "GMW-Skype-6.1.0.129.msi", "msi", 5000, GMWKey)
	root.Container = "msi"
	exe := node(root, "Program Files/Skype/Phone/Skype.exe", "pe", 3000, strings.Repeat("e1", 32))
	exe.Extractor = "msi"
	exe.PE = &pe.Summary{Machine: "i386", Bits: 32, Version: version("6.1.0.129", "Skype")}
	exe.Matches = []artifact.Match{{Rule: "Skype_JointVenture_GMW", Namespace: "tom", Meta: map[string]string{"category": "identity"}}}
	r.Tree = root
	return finish(r, map[string]any{"verdict": map[string]any{"kind": "post-tom-joint-venture", "confidence": 0.9, "reason": "the Skype joint venture (skype.gmw.cn) named by executable content (pe-strings)",
		"evidence": []map[string]any{{"node": exe.ID, "source": "rule", "provenance": "pe-strings", "weight": 0.3, "decides": true, "family": "joint-venture", "detail": "tom:Skype_JointVenture_GMW", "count": 1}}}})
}

// Unrelated is an installer of something else.
func Unrelated() *reports.Report {
	r := base("notes-setup-1.2.0.0.zip", OtherKey, 900)
	root := node(nil, "notes-setup-1.2.0.0.zip", "zip", 900, OtherKey)
	root.Container = "zip"
	exe := node(root, "notes.exe", "pe", 800, strings.Repeat("f1", 32))
	exe.Extractor = "zip"
	exe.PE = &pe.Summary{Machine: "amd64", Bits: 64, Version: &pe.VersionInfo{FileVersion: "1.2.0.0", ProductVersion: "1.2.0.0"}}
	r.Tree = root
	return finish(r, map[string]any{"verdict": map[string]any{"kind": "unrelated", "confidence": 0.9, "reason": "no TOM-Skype, joint-venture or Skype mark", "evidence": []map[string]any{}}})
}

// Failed is a build that could not be read.
func Failed() *reports.Report {
	r := base("truncated.exe", FailedKey, 0)
	root := node(nil, "truncated.exe", "empty", 0, FailedKey)
	root.AddIssue(artifact.KindRead, "read", "open input: permission denied")
	r.Tree = root
	return finish(r, nil)
}

// All returns the fixtures by key.
func All() map[string]*reports.Report {
	return map[string]*reports.Report{RegularKey: Regular(), TOMKey: TOM(), HostileKey: HostileBuild(),
		ChineseKey: Chinese(), GMWKey: GMW(), OtherKey: Unrelated(), FailedKey: Failed()}
}

// Variant makes r, a fixture fresh from its constructor, the i-th of many
// copies for archives of thousands of builds: its own key and path, a
// version and a link date that grow with i, and its keyword lists' closest
// snapshot dated accordingly. r is changed and returned.
func Variant(r *reports.Report, i int) *reports.Report {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", r.Build.SHA256, i)))
	key := hex.EncodeToString(sum[:])
	ver := fmt.Sprintf("%d.%d.%d.%d", 3+i/500%4, i/50%10, i%50, 100+i%900)
	day := time.Date(2006, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
	ext := path.Ext(r.Build.Path)
	r.Build.Path = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(r.Build.Path, ext), i, ext)
	r.Build.SHA256 = key
	if r.Tree != nil {
		r.Tree.Name, r.Tree.SHA256 = r.Build.Path, key
		_ = r.Tree.Walk(func(n *artifact.Node) error {
			if n.PE != nil {
				n.PE.Timestamp = day.Format(time.RFC3339)
				if n.PE.Version != nil {
					n.PE.Version.FileVersion, n.PE.Version.ProductVersion = ver, ver
				}
			}
			return nil
		})
	}
	if r.TOMRaw != nil {
		var sec map[string]any
		if json.Unmarshal(r.TOMRaw, &sec) == nil {
			lists, _ := sec["keyword_lists"].([]any)
			for _, l := range lists {
				if m, ok := l.(map[string]any); ok {
					if s, ok := m["snapshot"].(map[string]any); ok {
						s["date"] = day.AddDate(0, 0, 20).Format("2006-01-02")
					}
				}
			}
			if raw, err := json.Marshal(sec); err == nil {
				r.TOMRaw = raw
			}
		}
	}
	return r
}
