package rules

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
)

func TestCompileErrorNamesFileAndLine(t *testing.T) {
	srcs, err := LoadPath("testdata/broken/broken.yar")
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || srcs[0].Namespace != "broken" {
		t.Fatalf("sources %+v", srcs)
	}
	_, err = Compile(context.Background(), srcs)
	var ce *CompileError
	if !errors.As(err, &ce) || len(ce.Messages) != 1 || !strings.HasPrefix(ce.Messages[0], "testdata/broken/broken.yar:13: ") {
		t.Fatalf("want one message at testdata/broken/broken.yar:13, got %v", err)
	}
}

func TestLoadPathFolderNamespaces(t *testing.T) {
	srcs, err := LoadPath("testdata/lint/dup")
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	for _, s := range srcs {
		ns = append(ns, s.Namespace)
	}
	if !reflect.DeepEqual(ns, []string{"one", "two"}) {
		t.Errorf("namespaces %v", ns)
	}
}

const metaRules = `
rule Listed : tag1 { meta: example = "a" example = "b" severity = "low" condition: true }
private rule Hidden { condition: true }
rule UsesHidden { condition: Hidden }
`

func TestRulesMetaAndEnable(t *testing.T) {
	ctx := context.Background()
	set, err := Compile(ctx, []Source{{Namespace: "ns", Path: "x.yar", Text: []byte(metaRules)}})
	if err != nil {
		t.Fatal(err)
	}
	got := set.Rules()
	want := []RuleInfo{
		{Namespace: "ns", Name: "Hidden", Private: true},
		{Namespace: "ns", Name: "Listed", Tags: []string{"tag1"}, Meta: map[string][]string{"example": {"a", "b"}, "severity": {"low"}}},
		{Namespace: "ns", Name: "UsesHidden"},
	}
	for i := range got {
		if len(got[i].Tags) == 0 {
			got[i].Tags = nil
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rules:\n got %+v\nwant %+v", got, want)
	}
	scan := func() []string {
		sc, err := set.NewScanner(0)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		ms, err := sc.Scan(ctx, []byte("x"), Variables{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range ms {
			names = append(names, m.Rule)
		}
		return names
	}
	if got := scan(); !reflect.DeepEqual(got, []string{"Listed", "UsesHidden"}) {
		t.Fatalf("enabled: %v", got)
	}
	if !set.SetEnabled("ns", "Hidden", false) || set.SetEnabled("ns", "Nope", false) {
		t.Fatal("SetEnabled found the wrong rules")
	}
	if got := scan(); !reflect.DeepEqual(got, []string{"Listed"}) {
		t.Fatalf("Hidden disabled: %v", got)
	}
}

func TestNodeVariables(t *testing.T) {
	root := artifact.NewRoot("setup.zip")
	root.Type = "zip"
	child := root.NewChild("app/Skype.exe", "zip")
	child.Type = "pe"
	v := NodeVariables(child, root)
	want := [][2]string{{"filename", "app/Skype.exe"}, {"filepath", "setup.zip!app/Skype.exe"}, {"filetype", "pe"},
		{"parent_filetype", "zip"}, {"extractor", "zip"}, {"depth", "1"}}
	if got := v.Pairs(); !reflect.DeepEqual(got, want) {
		t.Errorf("pairs %v", got)
	}
	if v := NodeVariables(root, nil); v.ParentFileType != "" || v.Depth != 0 || v.Extractor != "" {
		t.Errorf("root vars %+v", v)
	}
}

// TestFreezeThaw: thawed rules are the same set and match the same.
func TestFreezeThaw(t *testing.T) {
	src, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	set, err := Compile(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := set.Freeze()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thaw(frozen, src)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != set.Digest || strings.Join(got.Names, ",") != strings.Join(set.Names, ",") {
		t.Fatalf("thawed set differs: %s %v vs %s %v", got.Digest, got.Names, set.Digest, set.Names)
	}
	data := []byte("xx http://skypetools.tom.com/agent/keyfile_u xx")
	var matched [2][]string
	for i, s := range []*Set{set, got} {
		sc, err := s.NewScanner(time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := sc.Scan(context.Background(), data, Variables{})
		sc.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			matched[i] = append(matched[i], m.Rule)
		}
	}
	if len(matched[0]) == 0 || strings.Join(matched[0], ",") != strings.Join(matched[1], ",") {
		t.Fatalf("matches: compiled %v, thawed %v", matched[0], matched[1])
	}
	if _, err := Thaw([]byte("not rules"), src); err == nil {
		t.Fatal("Thaw of garbage succeeded")
	}
}
