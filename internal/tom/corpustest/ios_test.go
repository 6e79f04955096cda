package corpustest

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/corpus/gen"
	"github.com/tomscan/tomscan/corpus/manifest/manifesttest"
	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/tom"
)

// TestIOSCorpus holds the IPA builds (wrapper "ipa") to their ground truth
// beyond TestCorpus: verdict and language, the kinds of evidence the iOS
// verdict rests on, the executable analysed as Mach-O (an encrypted one
// with its `encrypted` issue), and the IPA node typed "ipa".
func TestIOSCorpus(t *testing.T) {
	dir, m := manifesttest.Load(t)
	var paths []string
	var ids []string
	for _, b := range m.Builds {
		if slices.Contains(b.Wrappers, "ipa") {
			paths = append(paths, filepath.Join(dir, b.File))
			ids = append(ids, b.ID)
		}
	}
	if len(paths) < 5 {
		t.Fatalf("%d IPA builds in the corpus, want at least 5", len(paths))
	}
	reps := scan(t, paths)
	correct := 0
	for _, b := range m.Builds {
		if !slices.Contains(ids, b.ID) {
			continue
		}
		rep := reps[filepath.Join(dir, b.File)]
		if rep == nil || rep.TOM == nil {
			t.Errorf("%s: no report", b.ID)
			continue
		}
		v := rep.TOM.Verdict
		if v.Kind != b.Kind {
			t.Errorf("%s: verdict %s, want %s; evidence %+v", b.ID, v.Kind, b.Kind, v.Evidence)
			continue
		}
		if b.Kind != tom.KindUnrelated && v.Language != b.Language {
			t.Errorf("%s: language %q, want %q", b.ID, v.Language, b.Language)
			continue
		}
		sources := map[string]bool{}
		for _, e := range v.Evidence {
			sources[e.Source] = true
		}
		var want []string
		switch b.Kind {
		case tom.KindRegular:
			want = []string{"bundle-id", "localization", "rule"}
		case tom.KindJointVenture:
			want = []string{"storefront", "endpoint", "localization", "rule"}
		}
		for _, s := range want {
			if !sources[s] {
				t.Errorf("%s: no %s evidence in %+v", b.ID, s, v.Evidence)
			}
		}
		root := rep.Tree
		if root.Type != "ipa" || root.IOS == nil || root.IOS.BuildVersion != b.Version {
			t.Errorf("%s: root type %s, app %+v", b.ID, root.Type, root.IOS)
		}
		var exe *artifact.Node
		_ = root.Walk(func(n *artifact.Node) error {
			if root.IOS != nil && len(n.Path) == 2 && n.Path[1] == root.IOS.Executable {
				exe = n
			}
			return nil
		})
		if exe == nil || exe.Type != "macho" || exe.MachO == nil || len(exe.MachO.Slices) == 0 {
			t.Errorf("%s: executable not analysed as Mach-O: %+v", b.ID, exe)
			continue
		}
		encrypted := false
		for _, is := range exe.Issues {
			encrypted = encrypted || is.Kind == artifact.KindEncrypted
		}
		// the spec says whether the generator wrote the cryptid 1 marker
		spec, err := gen.LoadIPASpecs(filepath.Join("..", "..", "..", "corpus", "specs", "ios"))
		if err != nil {
			t.Fatal(err)
		}
		wantEnc := false
		for _, s := range spec {
			if s.ID == b.ID {
				wantEnc = s.Encrypted
			}
		}
		if encrypted != wantEnc || wantEnc != strings.Contains(strings.Join(exe.MachO.Slices[0].LoadCommandsNames(), " "), "LC_ENCRYPTION_INFO_64") {
			t.Errorf("%s: encrypted issue %v, spec says encrypted %v", b.ID, encrypted, wantEnc)
		}
		correct++
	}
	t.Logf("IPA builds: %d of %d with verdict, language, evidence and Mach-O as in the ground truth", correct, len(ids))
}
