package corpustest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/pipeline/pipelinetest"

	"github.com/tomscan/tomscan/corpus/manifest/manifesttest"

	"github.com/tomscan/tomscan/internal/pipeline"
	"github.com/tomscan/tomscan/internal/tom"
	"github.com/tomscan/tomscan/reports"
)

// scan runs the real pipeline (unpack registry, built-in rules, TOM
// analysers) over files and returns the reports by input path.
func scan(t *testing.T, paths []string) map[string]*reports.Report {
	t.Helper()
	out := map[string]*reports.Report{}
	pipelinetest.Scan(t, pipelinetest.Config(t), paths, func(r pipeline.Result) {
		for _, in := range r.Build.Inputs {
			out[in.Path] = r.Report
		}
	})
	return out
}

// TestCorpus holds every build of the synthetic corpus to its ground truth:
// the verdict, every expected endpoint with its class, every expected list
// (sha256 equal) and the DES upload key.
func TestCorpus(t *testing.T) {
	dir, m := manifesttest.Load(t)
	var paths []string
	for _, b := range m.Builds {
		paths = append(paths, filepath.Join(dir, b.File))
	}
	reps := scan(t, paths)
	correct := 0
	withDuplicates, withSpaces := 0, 0
	var merged []string
	for _, b := range m.Builds {
		rep := reps[filepath.Join(dir, b.File)]
		if rep == nil || rep.TOM == nil {
			t.Errorf("%s: no TOM result", b.ID)
			continue
		}
		res := rep.TOM
		if res.Verdict.Kind == b.Kind {
			correct++
		} else {
			t.Errorf("%s: verdict %s (%.2f), want %s; evidence %+v", b.ID, res.Verdict.Kind, res.Verdict.Confidence, b.Kind, res.Verdict.Evidence)
		}
		got := map[string]string{}
		for _, e := range res.Endpoints {
			got[e.Value] = e.Class
		}
		for _, e := range b.Endpoints {
			if c, ok := got[e.Value]; !ok {
				t.Errorf("%s: endpoint %s not found", b.ID, e.Value)
			} else if c != e.Class {
				t.Errorf("%s: endpoint %s class %s, want %s", b.ID, e.Value, c, e.Class)
			}
		}
		lists := map[string]tom.KeywordList{}
		for _, l := range res.KeywordLists {
			lists[l.SHA256] = l
		}
		for _, want := range b.KeywordLists {
			l, ok := lists[want.SHA256]
			if !ok {
				t.Errorf("%s: list %s (%s, %d keywords) not recovered; have %d lists", b.ID, want.Name, want.Cipher, want.Count, len(res.KeywordLists))
				continue
			}
			// Byte-exact: sha256 over the exact entries matched above; the
			// counts of distinct exact, all and normalised entries too.
			if l.Cipher != want.Cipher || want.KeyHex != "" && l.KeyHex != want.KeyHex || l.Count != want.Count ||
				l.EntriesTotal != want.EntriesTotal || l.NormalizedCount != want.NormalizedCount || l.NormalizedSHA256 != want.NormalizedSHA256 {
				t.Errorf("%s: list %s: cipher %s key %s count %d/%d/%d, want %s %s %d/%d/%d", b.ID, want.Name, l.Cipher, l.KeyHex,
					l.Count, l.EntriesTotal, l.NormalizedCount, want.Cipher, want.KeyHex, want.Count, want.EntriesTotal, want.NormalizedCount)
			}
			if l.EntriesTotal > l.Count {
				withDuplicates++
			}
			for _, k := range l.Keywords {
				if k != strings.TrimSpace(k) {
					withSpaces++
					break
				}
			}
			if l.NormalizedCount != l.Count {
				merged = append(merged, fmt.Sprintf("%s/%s: %d exact, %d if trimmed", b.ID, want.Name, l.Count, l.NormalizedCount))
			}
			if os.Getenv("TOMSCAN_KEYWORD_LISTS") != "" && want.Family != "" {
				s := l.Snapshot
				snap := want.Family + "/" + want.Name + "." + want.Snapshot
				if s == nil || s.Jaccard != 1 || (s.Family+"/"+s.Name+"."+s.Date != snap && !slices.Contains(s.Ties, snap)) {
					t.Errorf("%s: list %s: snapshot match %+v, want %s with Jaccard 1", b.ID, want.Name, s, snap)
				}
			}
		}
		if len(res.KeywordLists) > len(b.KeywordLists) {
			t.Errorf("%s: %d lists reported, %d expected", b.ID, len(res.KeywordLists), len(b.KeywordLists))
		}
		switch {
		case b.DESUploadKey != nil && res.DESUploadKey == nil:
			t.Errorf("%s: DES upload key %s not found", b.ID, b.DESUploadKey.KeyHex)
		case b.DESUploadKey != nil && res.DESUploadKey.KeyHex != b.DESUploadKey.KeyHex:
			t.Errorf("%s: DES upload key %s (%s), want %s", b.ID, res.DESUploadKey.KeyHex, res.DESUploadKey.Method, b.DESUploadKey.KeyHex)
		case b.DESUploadKey == nil && res.DESUploadKey != nil:
			t.Errorf("%s: DES upload key %s reported (%s), none expected", b.ID, res.DESUploadKey.KeyHex, res.DESUploadKey.Method)
		}
	}
	t.Logf("verdicts: %d/%d correct", correct, len(m.Builds))
	// Both corpora (Citizen Lab and synthetic lists) hold lists with
	// duplicate entries and entries with trailing spaces: they must come
	// back as they are.
	if withDuplicates == 0 || withSpaces == 0 {
		t.Errorf("recovered lists with duplicates: %d, with edge spaces: %d; the corpus must hold both", withDuplicates, withSpaces)
	}
	t.Logf("lists with duplicate entries: %d, with edge spaces: %d; lists a trimming reader would shrink: %d (e.g. %s)", withDuplicates, withSpaces, len(merged), strings.Join(firstOf(merged, 2), "; "))

	table := map[string]*tom.Result{}
	for _, b := range m.Builds {
		if rep := reps[filepath.Join(dir, b.File)]; rep != nil {
			table[b.ID] = rep.TOM
		}
	}
	for _, s := range tom.ServerTable(table) {
		if s.Class == "surveillance-upload" {
			t.Logf("server %s %s %s: %s", s.Endpoint, s.Class, s.Country, strings.Join(s.Builds, " "))
		}
	}
}

// TestRealGoodware: real third-party files are neither TOM-Skype nor Skype,
// and carry no TOM-Skype endpoint (surveillance upload, keyword list, a
// tom.com host), keyword list or upload key. Their ordinary URLs are
// listed like any build's, as class update or other.
func TestRealGoodware(t *testing.T) {
	dir := os.Getenv("TOMSCAN_REAL_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_REAL_CORPUS not set")
	}
	reps := scan(t, []string{filepath.Join(dir, "files")})
	if len(reps) == 0 {
		t.Fatalf("no files under %s/files", dir)
	}
	names := make([]string, 0, len(reps))
	for n := range reps {
		names = append(names, n)
	}
	sort.Strings(names)
	kinds := map[string]int{}
	endpoints := 0
	for _, n := range names {
		res := reps[n].TOM
		if res != nil {
			kinds[res.Verdict.Kind]++
			endpoints += len(res.Endpoints)
		}
		if res == nil {
			t.Errorf("%s: no TOM result", n)
			continue
		}
		switch res.Verdict.Kind {
		case tom.KindUnrelated, tom.KindUndetermined:
		default:
			t.Errorf("%s: verdict %s, evidence %+v", n, res.Verdict.Kind, res.Verdict.Evidence)
		}
		if len(res.KeywordLists) > 0 || res.DESUploadKey != nil {
			t.Errorf("%s: %d lists, DES %v reported for goodware", n, len(res.KeywordLists), res.DESUploadKey)
		}
		for _, e := range res.Endpoints {
			if e.Class == "surveillance-upload" || e.Class == "keyword-list" || e.Host == "tom.com" || strings.HasSuffix(e.Host, ".tom.com") {
				t.Errorf("%s: TOM-Skype endpoint %s (%s) in goodware at %+v", n, e.Value, e.Class, e.Locations[0])
			}
		}
	}
	t.Logf("%d files: verdicts %v; %d ordinary endpoints listed", len(names), kinds, endpoints)
}

func firstOf(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
