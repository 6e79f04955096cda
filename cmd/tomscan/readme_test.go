package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tomscan/tomscan/reports/export/exporttest"
)

// readmeExamples returns every "$ " line inside a fenced block of the
// file: the examples the READMEs promise work as written.
func readmeExamples(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fenced := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced && strings.HasPrefix(line, "$ ") {
			out = append(out, strings.TrimPrefix(line, "$ "))
		}
	}
	return out
}

// TestReadmeExamples runs every example of README.md and rules/README.md,
// in order, exactly as written, with bash in a folder laid out like the
// checkout (corpus/out, corpus/real, rules/, ../shared/data/...) and the
// freshly built tomscan first on PATH. Each must exit 0.
func TestReadmeExamples(t *testing.T) {
	corpus, real, kw := os.Getenv("TOMSCAN_CORPUS"), os.Getenv("TOMSCAN_REAL_CORPUS"), os.Getenv("TOMSCAN_KEYWORD_LISTS")
	for name, v := range map[string]string{"TOMSCAN_CORPUS": corpus, "TOMSCAN_REAL_CORPUS": real, "TOMSCAN_KEYWORD_LISTS": kw} {
		if v == "" {
			t.Skipf("%s not set", name)
		}
	}
	examples := append(readmeExamples(t, "../../README.md"), readmeExamples(t, "../../rules/README.md")...)
	if len(examples) < 15 {
		t.Fatalf("only %d examples found", len(examples))
	}
	bin := buildBinary(t)
	root := t.TempDir()
	work := filepath.Join(root, "checkout")
	rulesDir, _ := filepath.Abs("../../rules")
	deployDir, _ := filepath.Abs("../../deploy")
	links := map[string]string{
		filepath.Join(work, "deploy"):                                    deployDir,
		filepath.Join(work, "corpus", "out"):                             corpus,
		filepath.Join(work, "corpus", "real"):                            real,
		filepath.Join(work, "rules"):                                     rulesDir,
		filepath.Join(root, "shared", "data", "tom-skype-keyword-lists"): kw,
	}
	for link, target := range links {
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
	done := map[string]bool{}
	for _, ex := range examples {
		if done[ex] {
			continue // both READMEs show it; once proves it
		}
		done[ex] = true
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", ex)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("README example failed: %s\n%v\n%s", ex, err, tail(out, 2000))
			continue
		}
		t.Logf("ok: %s", ex)
	}
	// the STIX file of the real corpus validates and carries the builds
	sch := exporttest.STIXSchema(t)
	f, err := os.Open(filepath.Join(work, "tom.stix2"))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("tom.stix2: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(work, "tom.stix2")); strings.Count(string(b), `"type": "report"`) < 20 {
		t.Errorf("tom.stix2 has %d reports", strings.Count(string(b), `"type": "report"`))
	}
	// what the examples wrote is what they promise
	for _, f := range []string{"builds.csv", "keywords.csv", "tom.stix2", "tomscan.bash", "archive/index.sqlite", "diff.html"} {
		if st, err := os.Stat(filepath.Join(work, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
