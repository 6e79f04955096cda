package hostile

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func corpusBuilds(t *testing.T) []Build {
	t.Helper()
	dir := os.Getenv("TOMSCAN_CORPUS")
	if dir == "" {
		t.Skip("TOMSCAN_CORPUS not set")
	}
	b, err := LoadCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGenerateIsDeterministic: same corpus, count and seed, same inputs;
// every class is present and the lies cover CAB, 7z, MSI, NSIS, Inno, ZIP.
func TestGenerateIsDeterministic(t *testing.T) {
	builds := corpusBuilds(t)
	a, b := Generate(builds, 600, 1), Generate(builds, 600, 1)
	if len(a) != 600 {
		t.Fatalf("%d inputs", len(a))
	}
	classes := map[string]int{}
	lies := map[string]bool{}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Fatalf("input %d differs between two runs", i)
		}
		classes[a[i].Class]++
		if a[i].Class == ClassLie {
			lies[strings.Fields(a[i].What)[0]] = true
		}
	}
	for _, c := range Classes {
		if classes[c] == 0 {
			t.Errorf("no %s input", c)
		}
	}
	for _, f := range []string{"cab", "7z", "msi", "nsis", "inno", "zip"} {
		if !lies[f] {
			t.Errorf("no %s lie", f)
		}
	}
	if c := Generate(builds, 600, 2); bytes.Equal(c[len(c)-1].Data, a[len(a)-1].Data) {
		t.Error("another seed gave the same mutant")
	}
}

// TestCampaignSubset scans 200 hostile inputs with the tomscan binary (the
// full campaign is `make stress`): no crash, no hang, no lost build, no
// truncation reported succeeded, no hostile string unescaped, nothing left
// in scratch, no temp file or process left, nothing written outside.
func TestCampaignSubset(t *testing.T) {
	builds := corpusBuilds(t)
	if testing.Short() {
		t.Skip("scans 200 inputs")
	}
	bin := filepath.Join(t.TempDir(), "tomscan")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/tomscan/tomscan/cmd/tomscan").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	inputs := Generate(builds, 200, 14)
	res, err := Run(context.Background(), inputs, Options{Tomscan: bin, Work: t.TempDir(), Batch: 100, Jobs: 2, Timeout: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", res.Table())
	for _, f := range res.Failures() {
		t.Error(f)
	}
	f := res.Figures()
	if f.CrashedBatches > 0 || f.HungBatches > 0 || f.ScratchBytes > 0 || f.ScratchFiles > 0 || f.TempFiles > 0 || f.ProcsLeft > 0 {
		t.Errorf("figures: %+v", f)
	}
	if _, all := res.Summary(); all.Tried != len(inputs) || all.Handled != len(inputs) {
		t.Errorf("%d tried, %d handled of %d inputs", all.Tried, all.Handled, len(inputs))
	}
}

// TestEntryNamesSaysWhatWasLeft: a campaign's leftover line names what it
// found (folders with a slash), at most max of them, so that a failure in
// CI says which window a kill hit.
func TestEntryNamesSaysWhatWasLeft(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tomscan-run-1-2-x", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "z"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(entryNames(dir, 5), " "), "tomscan-run-1-2-x/ tomscan-run-1-2-x/sub/ z"; got != want {
		t.Errorf("entryNames = %q, want %q", got, want)
	}
	if got, want := strings.Join(entryNames(dir, 2), " "), "tomscan-run-1-2-x/ tomscan-run-1-2-x/sub/ ..."; got != want {
		t.Errorf("entryNames(max 2) = %q, want %q", got, want)
	}
	if got := entryNames(filepath.Join(dir, "missing"), 5); len(got) != 0 {
		t.Errorf("entryNames of a missing folder = %q", got)
	}
}
