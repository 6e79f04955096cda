package corpustest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/corpus/manifest/manifesttest"
	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/reports"
)

func decided(kind string) bool {
	switch kind {
	case tom.KindTOMEnglish, tom.KindTOMChinese, tom.KindRegular, tom.KindJointVenture:
		return true
	}
	return false
}

// TestNegativeCorpus: not one file of the negative corpus (cleaners,
// plug-ins, articles, forum posts, documents, ZIPs of them, ZIPs with an
// unreadable member named TOM-SkypeSetup.exe) gets a TOM-Skype, regular
// Skype or joint-venture verdict; each gets the manifest's kind and a
// reason in plain words.
func TestNegativeCorpus(t *testing.T) {
	dir, m := manifesttest.Load(t)
	if len(m.Negatives) < 100 {
		t.Fatalf("%d negatives in the manifest, want at least 100 (rerun make corpus)", len(m.Negatives))
	}
	var paths []string
	for _, n := range m.Negatives {
		paths = append(paths, filepath.Join(dir, filepath.FromSlash(n.File)))
	}
	reps := scan(t, paths)
	wrong, byKind := 0, map[string]int{}
	for _, n := range m.Negatives {
		rep := reps[filepath.Join(dir, filepath.FromSlash(n.File))]
		if rep == nil || rep.TOM == nil {
			t.Errorf("%s: no TOM result", n.ID)
			continue
		}
		v := rep.TOM.Verdict
		byKind[v.Kind]++
		if decided(v.Kind) {
			wrong++
			t.Errorf("%s (%s): verdict %s %.2f; evidence %+v", n.ID, n.Class, v.Kind, v.Confidence, v.Evidence)
			continue
		}
		if v.Kind != n.Kind {
			t.Errorf("%s (%s): verdict %s, manifest says %s; reason %q", n.ID, n.Class, v.Kind, n.Kind, v.Reason)
		}
		if v.Kind == tom.KindUndetermined && !strings.Contains(v.Reason, "mentioned only in") {
			t.Errorf("%s (%s): reason %q does not say where the mention is", n.ID, n.Class, v.Reason)
		}
	}
	t.Logf("negative corpus: %d files, %d TOM/regular/joint-venture verdicts; verdicts %v", len(m.Negatives), wrong, byKind)
}

// TestHelperDoesNotOutvoteProduct: the Chinese builds with an English
// ContentFilter.exe (NSIS, ZIP and MSI wrappers) are Chinese, and the
// language is decided by Skype.exe.
func TestHelperDoesNotOutvoteProduct(t *testing.T) {
	dir, m := manifesttest.Load(t)
	var paths []string
	ids := map[string]string{}
	for _, b := range m.Builds {
		if strings.HasSuffix(b.ID, "-enhelper") {
			p := filepath.Join(dir, b.File)
			paths = append(paths, p)
			ids[p] = b.ID
		}
	}
	if len(paths) < 2 {
		t.Fatalf("%d builds with an English helper, want at least 2 (rerun make corpus)", len(paths))
	}
	wrappers := map[string]bool{}
	for p, rep := range scan(t, paths) {
		v := rep.TOM.Verdict
		if v.Kind != tom.KindTOMChinese || v.Language != "zh" {
			t.Errorf("%s: %s language %q; evidence %+v", ids[p], v.Kind, v.Language, v.Evidence)
		}
		if !strings.HasSuffix(v.LanguageNode, "Skype.exe") || v.LanguageNode != v.ProductNode {
			t.Errorf("%s: language decided by %q, product %q; want Skype.exe", ids[p], v.LanguageNode, v.ProductNode)
		}
		helperListed := false
		for _, e := range v.Evidence {
			if e.Source == "language" && strings.HasSuffix(e.Node, "ContentFilter.exe") && strings.Contains(e.Detail, "does not decide") {
				helperListed = true
			}
		}
		if !helperListed {
			t.Errorf("%s: the English helper's signals are not listed as not deciding", ids[p])
		}
		wrappers[filepath.Ext(p)] = true
	}
	if len(wrappers) < 2 {
		t.Errorf("helper builds in %d wrappers, want at least 2", len(wrappers))
	}
}

// TestQuotedCases runs the cases a new user tried through the whole
// pipeline: a text file that mentions TOM-Skype; tomscan's own reports of
// a TOM-Skype build scanned as input; a ZIP whose member is only named
// TOM-SkypeSetup.exe. None is TOM-Skype.
func TestQuotedCases(t *testing.T) {
	dir, m := manifesttest.Load(t)
	in := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := write("a.txt", []byte("This article is about TOM-Skype\n"))

	// The reports of a real TOM-Skype corpus build, in every format.
	var tomBuild string
	for _, b := range m.Builds {
		if b.Kind == tom.KindTOMChinese {
			tomBuild = filepath.Join(dir, b.File)
			break
		}
	}
	rep := scan(t, []string{tomBuild})[tomBuild]
	if rep.TOM.Verdict.Kind != tom.KindTOMChinese {
		t.Fatalf("%s: %s", tomBuild, rep.TOM.Verdict.Kind)
	}
	rep.Tool.Name = "tomscan" // as a real scan writes it
	js, err := reports.EncodeJSON(rep)
	if err != nil {
		t.Fatal(err)
	}
	html, err := reports.EncodeHTML(rep)
	if err != nil {
		t.Fatal(err)
	}
	md := reports.EncodeMarkdown(rep)
	// Under their own names, tomscan's reports are recognised and skipped
	// before anything reads them (internal/pipeline, Discover)...
	own := t.TempDir()
	for name, data := range map[string][]byte{"report.json": js, "report.md": md, "report.html": html} {
		if err := os.WriteFile(filepath.Join(own, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	found, skipped, err := pipeline.Discover([]string{own}, pipeline.DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	builds, skippedHashing, err := pipeline.Group(context.Background(), found) // reads each file's head
	if err != nil {
		t.Fatal(err)
	}
	if skipped = append(skipped, skippedHashing...); len(builds) != 0 || len(skipped) != 3 {
		t.Errorf("own reports: %d builds, %d skipped (%v); want all 3 skipped", len(builds), len(skipped), skipped)
	}
	// ...and renamed (saved elsewhere, quoted in a case file) they are plain
	// documents, which can never decide a verdict.
	reportPaths := []string{write("saved-report.json", js), write("saved-report.md", md), write("saved-report.html", html)}

	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	body := make([]byte, 2048)
	_, _ = rand.Read(body)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "TOM-SkypeSetup.exe", Method: 99, CompressedSize64: 2048, UncompressedSize64: 4096})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(body)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	named := write("named.zip", zb.Bytes())

	reps := scan(t, append([]string{text, named}, reportPaths...))
	for _, p := range append([]string{text, named}, reportPaths...) {
		r := reps[p]
		if r == nil || r.TOM == nil {
			t.Errorf("%s: no result", p)
			continue
		}
		v := r.TOM.Verdict
		t.Logf("%s: %s %.2f: %s", filepath.Base(p), v.Kind, v.Confidence, v.Reason)
		if decided(v.Kind) || v.Kind != tom.KindUndetermined {
			t.Errorf("%s: verdict %s %.2f, want undetermined; evidence %+v", filepath.Base(p), v.Kind, v.Confidence, v.Evidence)
		}
	}
	if r := reps[text]; r != nil && !strings.Contains(r.TOM.Verdict.Reason, "text document") {
		t.Errorf("a.txt: reason %q", r.TOM.Verdict.Reason)
	}
	if r := reps[named]; r != nil && !strings.Contains(r.TOM.Verdict.Reason, "archive member names") {
		t.Errorf("named.zip: reason %q", r.TOM.Verdict.Reason)
	}
}
