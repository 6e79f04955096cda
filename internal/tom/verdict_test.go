package tom

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/pe"
)

// pePlain is a PE summary with version info (one table, its language) and
// UI resources in lang.
func pePlain(lang uint32, strs map[string]string) *pe.Summary {
	key, tr := "040904b0", "0409:04b0"
	if lang == 2052 {
		key, tr = "080403a8", "0804:03a8"
	}
	var vs []pe.VersionString
	for _, k := range []string{"CompanyName", "ProductName", "FileDescription", "InternalName", "OriginalFilename", "LegalCopyright"} {
		if v, ok := strs[k]; ok {
			vs = append(vs, pe.VersionString{Key: k, Value: v})
		}
	}
	return &pe.Summary{
		Version: &pe.VersionInfo{Tables: []pe.VersionTable{{Key: key, Resource: lang, Strings: vs}}, Translations: []string{tr}},
		Resources: []pe.Resource{
			{Type: "VERSION", TypeID: 16, Name: "1", Lang: lang, Offset: 0x10, Size: 0x10},
			{Type: "STRING", TypeID: 6, Name: "1", Lang: lang, Offset: 0x20, Size: 0x10},
			{Type: "DIALOG", TypeID: 5, Name: "1", Lang: lang, Offset: 0x30, Size: 0x10},
		},
	}
}

// bytesWith is 4 KiB of filler with NUL-terminated strings from 0x100 on.
func bytesWith(strs ...string) []byte {
	b := bytes.Repeat([]byte{1}, 4096)
	at := 0x100
	for _, s := range strs {
		put(b, at, []byte("\x00"+s+"\x00"))
		at += len(s) + 16
	}
	return b
}

func assertNotDecided(t *testing.T, what string, res *Result, reasonHas string) {
	t.Helper()
	v := res.Verdict
	if v.Kind != KindUndetermined && v.Kind != KindUnrelated {
		t.Fatalf("%s: verdict %s (%.2f), want undetermined or unrelated; evidence %+v", what, v.Kind, v.Confidence, v.Evidence)
	}
	if reasonHas != "" && !strings.Contains(v.Reason, reasonHas) {
		t.Errorf("%s: reason %q, want it to say %q", what, v.Reason, reasonHas)
	}
	for _, e := range v.Evidence {
		if e.Decides {
			t.Errorf("%s: deciding evidence in an undecided verdict: %+v", what, e)
		}
	}
}

// TestMentionsDoNotDecide: marks in documents, member names, the input name
// or a program by another maker never make a TOM-Skype verdict.
func TestMentionsDoNotDecide(t *testing.T) {
	t.Run("text document", func(t *testing.T) {
		fx := newFixture()
		fx.root.Type = filetype.Text
		fx.root.Strings = pe.ExtractStrings(t.Context(), []byte("This article is about TOM-Skype\n"), pe.StringOptions{MinLength: 4, Max: 100})
		fx.root.Matches = []artifact.Match{{Rule: "TOMSkype_Identity", Namespace: "tom_identity", Strings: []artifact.MatchString{{Offset: 22}}}}
		res := fx.run(t, Options{})
		assertNotDecided(t, "a.txt", res, "mentioned only in a text document")
		if res.Verdict.Kind != KindUndetermined || res.Verdict.Confidence != 0 {
			t.Errorf("verdict %+v", res.Verdict)
		}
	})
	t.Run("report quoting evidence", func(t *testing.T) {
		fx := newFixture()
		rep := `{"tom":{"verdict":{"kind":"tom-skype-chinese","evidence":[{"detail":"080403a8 CompanyName = \"TOM在线\""},{"detail":"ascii \"TOM-Skype\""},` +
			`{"detail":"keyword-list http://skypetools.tom.com/agent/keyfile_u"},{"detail":"surveillance-upload http://220.181.111.37/upload/msg.php"}]}}}`
		fx.add(fx.root, "report.json", filetype.Text, []byte(rep), nil)
		fx.add(fx.root, "report.md", filetype.Text, []byte("**Verdict: tom-skype-english**\n| TOM Online | http://skypetools.tom.com/agent/keyfile |\n"), nil)
		assertNotDecided(t, "reports", fx.run(t, Options{}), "text document")
	})
	t.Run("member named TOM-SkypeSetup.exe, unreadable", func(t *testing.T) {
		fx := newFixture()
		fx.root.Strings = pe.ExtractStrings(t.Context(), []byte("PK\x03\x04\x14\x00\x00\x00c\x00TOM-SkypeSetup.exe\x00\x00PK\x01\x02TOM-SkypeSetup.exe"), pe.StringOptions{MinLength: 4, Max: 100})
		fx.root.Matches = []artifact.Match{{Rule: "TOMSkype_Identity", Namespace: "tom_identity", Strings: []artifact.MatchString{{Offset: 10}}}}
		fx.root.AddIssue(artifact.KindExtract, "unpack:zip", "TOM-SkypeSetup.exe: unsupported compression method 99")
		res := fx.run(t, Options{})
		assertNotDecided(t, "zip", res, "archive member names")
		if !strings.Contains(res.Verdict.Reason, "not wholly analysed") {
			t.Errorf("reason %q does not say the member was unreadable", res.Verdict.Reason)
		}
	})
	t.Run("input file name", func(t *testing.T) {
		fx := newFixture()
		fx.root = artifact.NewRoot("TOM-SkypeSetup-4.0.exe.txt")
		fx.root.Type = filetype.Text
		assertNotDecided(t, "name", fx.run(t, Options{}), "input file name")
	})
	t.Run("cleaner tool", func(t *testing.T) {
		fx := newFixture()
		sum := pePlain(1033, map[string]string{"CompanyName": "Sweepwell Software Ltd.", "ProductName": "Sweepwell Remover", "FileDescription": "TOM-Skype Removal Tool"})
		fx.add(fx.root, "remover.exe", filetype.PE, bytesWith(`C:\Program Files\TOM-Skype\Skype.exe`, `C:\Program Files\TOM\Skype\ContentFilter.exe`,
			"http://skypetools.tom.com/agent/keyfile", "TOM Online Inc."), sum)
		res := fx.run(t, Options{})
		assertNotDecided(t, "cleaner", res, `another maker ("Sweepwell Software Ltd.")`)
	})
	t.Run("plug-in", func(t *testing.T) {
		fx := newFixture()
		sum := pePlain(1033, map[string]string{"CompanyName": "Chatterbox Add-ons", "ProductName": "Call Recorder", "FileDescription": "Call Recorder plug-in"})
		fx.add(fx.root, "recorder.dll", filetype.PE, bytesWith("Works with Skype and TOM-Skype 3.x to 5.x", "Skype Technologies S.A. API"), sum)
		assertNotDecided(t, "plug-in", fx.run(t, Options{}), "another maker")
	})
}

// TestProductDecidesLanguage: a Chinese Skype.exe with an English helper
// beside it is Chinese; the evidence names Skype.exe.
func TestProductDecidesLanguage(t *testing.T) {
	fx := newFixture()
	client := fx.add(fx.root, "TOM/Skype.exe", filetype.PE, bytesWith("TOM-Skype"),
		pePlain(2052, map[string]string{"CompanyName": "TOM在线", "ProductName": "TOM-Skype", "FileDescription": "TOM-Skype 网络电话", "InternalName": "Skype"}))
	en := map[string]string{"CompanyName": "TOM Online Inc.", "ProductName": "TOM-Skype", "FileDescription": "Tom Word Review", "InternalName": "ContentFilter"}
	helper := fx.add(fx.root, "TOM/ContentFilter.exe", filetype.PE, bytesWith("Tom Word Review", "TOM Online"), pePlain(1033, en))
	// More English signals than the client has Chinese ones: a vote would say English.
	helper.PE.Resources = append(helper.PE.Resources, pe.Resource{Type: "MENU", Lang: 1033}, pe.Resource{Type: "STRING", Lang: 1033, Name: "2"}, pe.Resource{Type: "DIALOG", Lang: 1033, Name: "2"})
	res := fx.run(t, Options{})
	v := res.Verdict
	if v.Kind != KindTOMChinese || v.Language != "zh" || v.ProductNode != client.ID || v.LanguageNode != client.ID {
		t.Fatalf("verdict %s %s product %s language node %s; evidence %+v", v.Kind, v.Language, v.ProductNode, v.LanguageNode, v.Evidence)
	}
	named := false
	for _, e := range v.Evidence {
		if e.Source == "language" && e.Node == client.ID && strings.Contains(e.Detail, "decided by the product executable") {
			named = true
		}
		if e.Source == "language" && e.Node == helper.ID && !strings.Contains(e.Detail, "does not decide") {
			t.Errorf("helper language item %q", e.Detail)
		}
	}
	if !named {
		t.Errorf("no language item names %s: %+v", client.ID, v.Evidence)
	}
}

// TestConfidenceFormula: the documented function, two decimals, and every
// item carries its class weight.
func TestConfidenceFormula(t *testing.T) {
	ev := []Evidence{
		{Family: "tom", Source: "version-info", Provenance: ProvVersionInfo},
		{Family: "tom", Source: "version-info", Provenance: ProvVersionInfo}, // same kind: once
		{Family: "tom", Source: "string", Provenance: ProvStrings},
		{Family: "tom", Source: "endpoint", Provenance: ProvStrings},
		{Family: "tom", Source: "endpoint", Provenance: ProvDocument},
		{Source: "language", Provenance: ProvResources}, // explains, does not count
	}
	// 1 - 0.4*0.7*0.7*0.95 = 0.8138
	if got := confidence(ev); got != 0.81 {
		t.Errorf("confidence = %v, want 0.81", got)
	}
	if got := confidence([]Evidence{{Family: "tom", Source: "string", Provenance: ProvStrings}}); got != 0.3 {
		t.Errorf("one string: %v", got)
	}
	many := []Evidence{}
	for _, src := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		many = append(many, Evidence{Family: "tom", Source: src, Provenance: ProvVersionInfo})
	}
	if got := confidence(many); got != 0.99 {
		t.Errorf("cap: %v", got)
	}
	res := tomBuild(t, 2052).fx.run(t, Options{})
	b, err := json.Marshal(res.Verdict.Confidence)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Verdict.Confidence; math.Round(c*100)/100 != c || len(b) > 4 {
		t.Errorf("confidence %s is not written with two decimals", b)
	}
	for _, e := range res.Verdict.Evidence {
		if e.Family != "" && e.Weight != Weights[e.Provenance] {
			t.Errorf("item %+v: weight %v, class weight %v", e, e.Weight, Weights[e.Provenance])
		}
	}
}

// TestEvidenceCollapsed: one text at many offsets (a rule's nine matches)
// or in many nodes is one item with a count and its first locations.
func TestEvidenceCollapsed(t *testing.T) {
	fx := newFixture()
	n := fx.add(fx.root, "Skype.exe", filetype.PE, bytesWith("TOM-Skype"), pePlain(1033, map[string]string{"CompanyName": "TOM Online Inc.", "FileDescription": "Skype"}))
	for i := 0; i < 9; i++ {
		off := 0x200 + 0x40*i
		n.Matches = append(n.Matches, artifact.Match{})
		if i == 0 {
			n.Matches[0] = artifact.Match{Rule: "TOMSkype_Identity", Namespace: "tom_identity"}
		}
		n.Matches[0].Strings = append(n.Matches[0].Strings, artifact.MatchString{Offset: uint64(off)})
	}
	n.Matches = n.Matches[:1]
	other := fx.add(fx.root, "copy/Skype.exe", filetype.PE, bytesWith("TOM-Skype"), pePlain(1033, map[string]string{"CompanyName": "TOM Online Inc.", "FileDescription": "Skype"}))
	res := fx.run(t, Options{})
	found, foundStr := false, false
	for _, e := range res.Verdict.Evidence {
		if e.Source == "rule" {
			found = true
			if e.Node != n.ID || e.Count != 9 || len(e.Locations) != maxOffsets || e.Locations[0].Offset != e.Offset || e.Offset != 0x200 || e.Locations[1].Offset != 0x240 {
				t.Errorf("collapsed rule item %+v", e)
			}
		}
		if e.Source == "string" && e.Detail == `ascii "TOM-Skype"` {
			foundStr = true
			if e.Count != 2 || e.Locations[1].Node != other.ID {
				t.Errorf("collapsed string item %+v", e)
			}
		}
	}
	found = found && foundStr
	if !found {
		t.Fatalf("no collapsed string item: %+v", res.Verdict.Evidence)
	}
	for i := 1; i < len(res.Verdict.Evidence); i++ {
		if res.Verdict.Evidence[i].Weight > res.Verdict.Evidence[i-1].Weight {
			t.Fatalf("not ranked by weight: %+v", res.Verdict.Evidence)
		}
	}
}
