package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// buildBinary compiles tomscan once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tomscan")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// buildPE cross-compiles a small Windows program whose data carries a TOM
// endpoint, so the shipped rules have something real to match.
func buildPE(t *testing.T, dir string) string {
	t.Helper()
	cc, err := exec.LookPath("x86_64-w64-mingw32-gcc")
	if err != nil {
		t.Fatalf("mingw-w64 missing (make setup installs it): %v", err)
	}
	src := filepath.Join(dir, "client.c")
	code := `#include <windows.h>
const char *endpoint = "http://skypetools.tom.com/agent/keyfile";
const char *ver = "http://skypetools.tom.com/agent/skypever.php?md5=";
int main(void) { MessageBoxA(0, endpoint, ver, 0); return 0; }
`
	if err := os.WriteFile(src, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "in", "client.exe")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cc, "-O1", "-s", "-Wl,--no-insert-timestamp", "-o", out, src, "-luser32")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mingw: %v\n%s", err, b)
	}
	return out
}

func runTool(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return code, stdout.String(), stderr.String()
}

// readArchive returns report.json path -> bytes for every build in out.
func readArchive(t *testing.T, out string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join(out, "builds", "*", "report.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(out, f)
		got[rel] = b
	}
	return got
}

type reportView struct {
	SchemaVersion string `json:"schema_version"`
	Tool          struct {
		Name         string            `json:"name"`
		Dependencies map[string]string `json:"dependencies"`
	} `json:"tool"`
	Rules struct {
		Digest string `json:"digest"`
	} `json:"rules"`
	Build struct {
		Path   string `json:"path"`
		Size   int64  `json:"size"`
		MD5    string `json:"md5"`
		SHA1   string `json:"sha1"`
		SHA256 string `json:"sha256"`
		Type   string `json:"type"`
	} `json:"build"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason"`
	Summary      struct {
		Rules []string `json:"rules"`
	} `json:"summary"`
	Tree struct {
		ID string          `json:"id"`
		PE json.RawMessage `json:"pe"`
	} `json:"tree"`
}

func TestScanEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	work := t.TempDir()
	pe := buildPE(t, work)
	in := filepath.Dir(pe)
	if err := os.WriteFile(filepath.Join(in, "notes.txt"), []byte("plain text, not a PE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "empty.bin"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	out1, out4 := filepath.Join(work, "out1"), filepath.Join(work, "out4")
	code, stdout, stderr := runTool(t, bin, "scan", in, "--out", out1, "--jobs", "1")
	if code != exitBuildFailed {
		t.Fatalf("exit code = %d, want %d (the empty file fails)\n%s", code, exitBuildFailed, stderr)
	}
	if stdout != "" {
		t.Errorf("scan wrote to stdout: %q", stdout)
	}
	if !strings.Contains(stderr, "tomscan: 3 builds:") || !strings.Contains(stderr, "1 failed") {
		t.Errorf("no summary line on stderr: %q", stderr)
	}
	if code, _, stderr := runTool(t, bin, "scan", in, "--out", out4, "--jobs", "4", "--quiet"); code != exitBuildFailed || stderr != "" {
		t.Fatalf("--jobs 4 --quiet: exit %d, stderr %q", code, stderr)
	}

	r1, r4 := readArchive(t, out1), readArchive(t, out4)
	if len(r1) != 3 {
		t.Fatalf("%d reports, want 3", len(r1))
	}
	for k, b := range r1 {
		if !bytes.Equal(b, r4[k]) {
			t.Errorf("%s differs between --jobs 1 and --jobs 4", k)
		}
	}

	byPath := map[string]reportView{}
	for k, b := range r1 {
		var r reportView
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s is not valid JSON: %v", k, err)
		}
		if !strings.Contains(k, r.Build.SHA256) {
			t.Errorf("%s is not keyed by its sha256 %s", k, r.Build.SHA256)
		}
		if r.SchemaVersion == "" || r.Tool.Name != "tomscan" || r.Rules.Digest == "" {
			t.Errorf("%s lacks provenance: %+v", k, r)
		}
		for _, dep := range []string{"github.com/saferwall/pe", "github.com/hillu/go-yara/v4", "libyara"} {
			if r.Tool.Dependencies[dep] == "" {
				t.Errorf("%s: no version for %s", k, dep)
			}
		}
		byPath[r.Build.Path] = r
	}

	exe := byPath["in/client.exe"]
	if exe.Status == "failed" || exe.Build.Type != "pe" || len(exe.Tree.PE) == 0 || exe.Build.MD5 == "" || exe.Build.SHA1 == "" {
		t.Errorf("client.exe report: %+v", exe)
	}
	if !contains(exe.Summary.Rules, "TOMSkype_Endpoint_Agent") {
		t.Errorf("client.exe: rules %v lack TOMSkype_Endpoint_Agent", exe.Summary.Rules)
	}
	txt := byPath["in/notes.txt"]
	if txt.Status == "failed" || txt.Build.Type != "text" || len(txt.Tree.PE) != 0 {
		t.Errorf("notes.txt report: %+v", txt)
	}
	empty := byPath["in/empty.bin"]
	if empty.Status != "failed" || !strings.Contains(empty.StatusReason, "empty") {
		t.Errorf("empty.bin: status %q reason %q, want failed/empty", empty.Status, empty.StatusReason)
	}
}

func contains(list []string, rule string) bool {
	for _, r := range list {
		if strings.HasSuffix(r, ":"+rule) || r == rule {
			return true
		}
	}
	return false
}

func TestScanRejectsBrokenRuleFileBeforeScanning(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "rule ok { condition: true }\n\nrule broken {\n  strings: $a = \"x\"\n  condition: $b\n}\n"
	if err := os.WriteFile(filepath.Join(rulesDir, "bad.yar"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, _, stderr := runTool(t, bin, "scan", in, "--out", out, "--rules", rulesDir)
	if code != exitUsage {
		t.Fatalf("exit = %d, want %d; stderr %s", code, exitUsage, stderr)
	}
	// libyara reports the line where it noticed the error (5 or 6 here,
	// depending on the version): check the shape file:line: message.
	if !regexp.MustCompile(`bad\.yar:[56]: undefined string "\$b"`).MatchString(stderr) {
		t.Errorf("error does not name file:line: %s", stderr)
	}
	if len(readArchive(t, out)) != 0 {
		t.Error("reports were written although the rules did not compile")
	}
}

func TestScanUsageErrors(t *testing.T) {
	bin := buildBinary(t)
	for _, args := range [][]string{
		{"scan"},
		{"scan", "x"},
		{"scan", "--out", t.TempDir()},
		{"scan", "--out", t.TempDir(), "--jobs", "0", "x"},
		{"scan", "--out", t.TempDir(), "--max-depth", "0", "x"},
		{"scan", "--out", t.TempDir(), "--format", "pdf", "x"},
		{"nosuchcommand"},
	} {
		if code, _, _ := runTool(t, bin, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestVersionNamesLibyara(t *testing.T) {
	bin := buildBinary(t)
	code, stdout, _ := runTool(t, bin, "version")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"tomscan ", "libyara 4.", "github.com/hillu/go-yara/v4 v4.2.4", "github.com/saferwall/pe v1.6.5"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestParseInterleaved(t *testing.T) {
	fs := newTestFlagSet()
	pos, err := parseInterleaved(fs.set, []string{"a", "--out", "o", "b", "--jobs", "2", "--", "--c"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pos, ",") != "a,b,--c" || *fs.out != "o" || *fs.jobs != 2 {
		t.Fatalf("pos %v out %q jobs %d", pos, *fs.out, *fs.jobs)
	}
}

// chainTrust returns the chain_trusted value of every signature in an
// archive, PE signatures and container (MSI, CAB) signatures alike, keyed by
// "pe:" or "container:" and the node's id.
func chainTrust(t *testing.T, out string) map[string]*bool {
	t.Helper()
	type signature struct {
		ChainTrusted *bool `json:"chain_trusted"`
	}
	got := map[string]*bool{}
	for _, b := range readArchive(t, out) {
		var r struct {
			Tree json.RawMessage `json:"tree"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		var walk func(raw json.RawMessage)
		walk = func(raw json.RawMessage) {
			var n struct {
				ID string `json:"id"`
				PE *struct {
					Signature *signature `json:"signature"`
				} `json:"pe"`
				Signature *signature        `json:"signature"`
				Children  []json.RawMessage `json:"children"`
			}
			if err := json.Unmarshal(raw, &n); err != nil {
				t.Fatal(err)
			}
			if n.PE != nil && n.PE.Signature != nil {
				got["pe:"+n.ID] = n.PE.Signature.ChainTrusted
			}
			if n.Signature != nil {
				got["container:"+n.ID] = n.Signature.ChainTrusted
			}
			for _, c := range n.Children {
				walk(c)
			}
		}
		walk(r.Tree)
	}
	return got
}

// show prints a JSON boolean that may be null.
func show(v *bool) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(*v)
}

// The host's certificate store is never consulted: without --trust-store no
// chain is judged (null); with one, every signature — of PEs and of MSI and
// CAB containers — is judged against it at its signing time: trusted with
// the signer's own (synthetic, valid from 2010) root, untrusted with another.
func TestTrustStoreIsExplicit(t *testing.T) {
	corpus := os.Getenv("TOMSCAN_CORPUS")
	if corpus == "" {
		t.Skip("TOMSCAN_CORPUS unset")
	}
	bin := buildBinary(t)
	certs := filepath.Join("..", "..", "corpus", "testdata", "certs")
	dir := t.TempDir()
	// The corpus signs PEs and MSIs; a signed cabinet is made here the way
	// the corpus signs, with osslsigncode at the corpus's fixed signing time.
	cab := filepath.Join(dir, "signed.cab")
	sign := exec.Command("osslsigncode", "sign", "-certs", filepath.Join(certs, "skype.crt"), "-key", filepath.Join(certs, "skype.key"),
		"-h", "sha256", "-time", "1303862400", "-in", filepath.Join(corpus, "builds", "skype-en-5.0.0.156-cab.cab"), "-out", cab)
	if out, err := sign.CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode: %v: %s", err, out)
	}
	builds := []string{cab}
	for _, f := range []string{"skype-en-5.1.0.112-zip.zip", "skype-en-4.0.0.224-msi.msi", "skype-en-5.5.0.124-zip-msi.zip"} {
		builds = append(builds, filepath.Join(corpus, "builds", f))
	}
	scan := func(out string, extra ...string) map[string]*bool {
		t.Helper()
		args := append(append([]string{"scan"}, builds...), append([]string{"--out", filepath.Join(dir, out), "--quiet"}, extra...)...)
		if code, _, stderr := runTool(t, bin, args...); code != 0 {
			t.Fatalf("scan %v: exit %d %s", extra, code, stderr)
		}
		return chainTrust(t, filepath.Join(dir, out))
	}
	without := scan("a")
	own := scan("b", "--trust-store", filepath.Join(certs, "skype.crt"))
	other := scan("c", "--trust-store", filepath.Join(certs, "tom.crt"))
	kinds := map[string]int{}
	for id, v := range without {
		kinds[strings.SplitN(id, ":", 2)[0]]++
		if v != nil {
			t.Errorf("%s: chain judged without a store: %v", id, *v)
		}
		if w := own[id]; w == nil || !*w {
			t.Errorf("%s: chain_trusted %s with the signer's root, want true", id, show(w))
		}
		if w := other[id]; w == nil || *w {
			t.Errorf("%s: chain_trusted %s with another root, want false", id, show(w))
		}
	}
	if kinds["pe"] == 0 || kinds["container"] < 3 || len(own) != len(without) || len(other) != len(without) {
		t.Fatalf("signatures: %v; %d without, %d and %d with a store", kinds, len(without), len(own), len(other))
	}
	if code, _, _ := runTool(t, bin, "scan", builds[0], "--out", filepath.Join(dir, "d"), "--trust-store", filepath.Join(dir, "none.pem")); code != exitUsage {
		t.Errorf("missing trust store: exit %d, want %d", code, exitUsage)
	}
}

// --max-strings trims the listing only: the set says truncated and keeps the
// full count, no issue is raised, and the build stays succeeded.
func TestStringsListingCap(t *testing.T) {
	bin := buildBinary(t)
	work := t.TempDir()
	pe := buildPE(t, work)
	out := filepath.Join(work, "out")
	if code, _, stderr := runTool(t, bin, "scan", pe, "--out", out, "--quiet", "--max-strings", "3"); code != 0 {
		t.Fatalf("scan: exit %d %s", code, stderr)
	}
	reports := readArchive(t, out)
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1", len(reports))
	}
	for _, b := range reports {
		var r struct {
			Status string `json:"status"`
			Tree   struct {
				Issues  []json.RawMessage `json:"issues"`
				Strings struct {
					Count     int               `json:"count"`
					Truncated bool              `json:"truncated"`
					Strings   []json.RawMessage `json:"strings"`
				} `json:"strings"`
			} `json:"tree"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		s := r.Tree.Strings
		if !s.Truncated || len(s.Strings) != 3 || s.Count <= 3 {
			t.Errorf("strings: truncated %v, %d listed of %d, want 3 listed of more", s.Truncated, len(s.Strings), s.Count)
		}
		if r.Status != "succeeded" || len(r.Tree.Issues) != 0 {
			t.Errorf("status %s, issues %s", r.Status, r.Tree.Issues)
		}
	}
}

// everyFourthBuild is every fourth corpus build from the first-th (a subset
// that keeps an end-to-end test well under a minute under -race) and the
// keyword-list folder; the test skips when either is not configured.
// rulesFolder makes dir, a --rules folder holding one file, extra.yar,
// with the rule text given.
func rulesFolder(t *testing.T, dir, rule string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.yar"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func everyFourthBuild(t *testing.T, first int) (inputs []string, keywordLists string) {
	t.Helper()
	corpus, kw := os.Getenv("TOMSCAN_CORPUS"), os.Getenv("TOMSCAN_KEYWORD_LISTS")
	if corpus == "" || kw == "" {
		t.Skip("TOMSCAN_CORPUS or TOMSCAN_KEYWORD_LISTS not set")
	}
	all, err := filepath.Glob(filepath.Join(corpus, "builds", "*"))
	if err != nil || len(all) < 30 {
		t.Fatalf("corpus builds: %d, %v", len(all), err)
	}
	sort.Strings(all)
	for i := first; i < len(all); i += 4 {
		inputs = append(inputs, all[i])
	}
	return inputs, kw
}
