package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readmeExitTable reads README.md's per-command exit-code table: command ->
// codes marked "yes".
func readmeExitTable(t *testing.T) map[string]map[int]bool {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]map[int]bool{}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| command | 0 | 1 | 2 | 3 |") {
			in = true
			continue
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 {
			t.Fatalf("exit table row %q", line)
		}
		cmd := strings.TrimSpace(cells[0])
		table[cmd] = map[int]bool{}
		for code := 0; code < 4; code++ {
			switch strings.TrimSpace(cells[code+1]) {
			case "yes":
				table[cmd][code] = true
			case "no":
			default:
				t.Fatalf("exit table %s code %d: %q", cmd, code, cells[code+1])
			}
		}
	}
	if len(table) == 0 {
		t.Fatal("README.md has no exit-code table")
	}
	return table
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// exitCase is one command line that must end with code.
type exitCase struct {
	cmd    string // the README table's row
	code   int
	args   []string
	failW  bool // stdout fails every write
	corpus bool // needs $TOMSCAN_CORPUS
}

// TestExitCodeTable runs, for every command, a case for each exit code the
// README's table marks, and checks the table marks every code a case shows.
func TestExitCodeTable(t *testing.T) {
	table := readmeExitTable(t)
	work := t.TempDir()
	arch := fixtureArchive(t)
	if code, _, errOut := runCmd(t, "report", "--out", arch); code != exitOK {
		t.Fatalf("report: %d %s", code, errOut)
	}
	write := func(name, text string) string {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := write("in/notes.txt", "plain text, not a PE\n")
	empty := write("empty/zero.bin", "")
	notDir := write("a-file", "x")
	everything := write("everything/all.yar", "rule Everything { condition: true }\n")
	pos := write("pos/a.txt", "TOMSKYPE_MARKER_STRING_ONE and more\n")
	neg := write("neg/b.txt", "something else entirely\n")
	// an archive whose report.json is damaged, and one whose index is
	broken := t.TempDir()
	if err := os.MkdirAll(filepath.Join(broken, "builds", "ab"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(broken, "builds", "ab", "report.json"), []byte("{not json"), 0o644)
	_ = os.WriteFile(filepath.Join(broken, "index.sqlite"), []byte("not a database, long enough to be read as a header.............."), 0o644)
	// report heals a damaged index by rebuilding it; one it cannot replace
	// (a folder where the index file goes) stops it
	unfixable := t.TempDir()
	for _, d := range []string{filepath.Join(unfixable, "builds", "ab"), filepath.Join(unfixable, "index.sqlite")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// the synthetic corpus only: the real files would add a minute and
	// prove nothing more about exit codes
	corpus := os.Getenv("TOMSCAN_CORPUS")
	t.Setenv("TOMSCAN_REAL_CORPUS", "")
	a := filepath.Join(arch, "builds")
	keys, _ := os.ReadDir(a)
	k1, k2 := keys[0].Name(), keys[1].Name()

	cases := []exitCase{
		{cmd: "scan", code: 0, args: []string{"scan", filepath.Dir(text), "--out", filepath.Join(work, "o0"), "--quiet"}},
		{cmd: "scan", code: 1, args: []string{"scan", filepath.Dir(empty), "--out", filepath.Join(work, "o1"), "--quiet"}},
		{cmd: "scan", code: 2, args: []string{"scan", filepath.Dir(text), "--out", filepath.Join(work, "o2"), "--jobs", "0"}},
		// an --out that cannot be created is found before anything is scanned
		{cmd: "scan", code: 2, args: []string{"scan", filepath.Dir(text), "--out", filepath.Join(notDir, "sub"), "--quiet"}},
		// the run cannot go on: stdout (--ndjson) fails under it
		{cmd: "scan", code: 3, args: []string{"scan", filepath.Dir(text), "--out", filepath.Join(work, "o3"), "--quiet", "--ndjson"}, failW: true},
		// a shard that does not exist (shards are 0 to n-1)
		{cmd: "scan", code: 2, args: []string{"scan", filepath.Dir(text), "--out", filepath.Join(work, "o4"), "--shard", "4/4"}},
		{cmd: "merge", code: 0, args: []string{"merge", filepath.Join(work, "m0"), arch, "--quiet"}},
		{cmd: "merge", code: 2, args: []string{"merge", filepath.Join(work, "m2")}},
		{cmd: "merge", code: 2, args: []string{"merge", filepath.Join(work, "m2b"), notDir}},
		// a shard whose report cannot be read: the rest is merged, exit 3
		{cmd: "merge", code: 3, args: []string{"merge", filepath.Join(work, "m3"), arch, broken, "--quiet"}},
		{cmd: "rules check", code: 0, args: []string{"rules", "check", "../../rules/"}},
		{cmd: "rules check", code: 1, args: []string{"rules", "check", "../../rules/testdata/broken"}},
		{cmd: "rules check", code: 2, args: []string{"rules", "check", "/nonexistent/rules"}},
		{cmd: "rules test", code: 0, args: []string{"rules", "test", "--corpus", corpus}, corpus: true},
		{cmd: "rules test", code: 1, args: []string{"rules", "test", "--corpus", corpus, "--rules", filepath.Dir(everything)}, corpus: true},
		{cmd: "rules test", code: 2, args: []string{"rules", "test", "--corpus", corpus, "--jobs", "x"}},
		{cmd: "rules bench", code: 0, args: []string{"rules", "bench", "--corpus", corpus, "--rounds", "1"}, corpus: true},
		{cmd: "rules bench", code: 2, args: []string{"rules", "bench", "--corpus", filepath.Join(work, "no-corpus")}},
		{cmd: "rules suggest", code: 0, args: []string{"rules", "suggest", "--positive", filepath.Dir(pos), "--negative", filepath.Dir(neg), "--min-len", "8"}},
		{cmd: "rules suggest", code: 2, args: []string{"rules", "suggest", "--positive", filepath.Dir(pos)}},
		{cmd: "report", code: 0, args: []string{"report", "--out", arch}},
		{cmd: "report", code: 2, args: []string{"report", "--out", work}},
		{cmd: "report", code: 1, args: []string{"report", "--out", broken, "--check"}},
		{cmd: "report", code: 3, args: []string{"report", "--out", unfixable}},
		{cmd: "query", code: 0, args: []string{"query", "--out", arch, "--endpoint", "TOM.com"}},
		{cmd: "query", code: 2, args: []string{"query", "--out", arch, "--sql", "SELECT sha256, nonsense FROM builds"}},
		{cmd: "query", code: 3, args: []string{"query", "--out", broken, "--verdict", "unrelated"}},
		{cmd: "diff", code: 0, args: []string{"diff", k1, k1, "--out", arch}},
		{cmd: "diff", code: 1, args: []string{"diff", k1, k2, "--out", arch}},
		{cmd: "diff", code: 2, args: []string{"diff", "nope.json", k2, "--out", arch}},
		{cmd: "diff", code: 3, args: []string{"diff", k1, k2, "--out", arch}, failW: true},
		{cmd: "export", code: 0, args: []string{"export", "--out", arch, "--format", "stix"}},
		{cmd: "export", code: 2, args: []string{"export", "--out", arch, "--format", "xlsx"}},
		{cmd: "export", code: 3, args: []string{"export", "--out", broken, "--format", "csv"}},
		{cmd: "version", code: 0, args: []string{"--version"}},
		{cmd: "version", code: 2, args: []string{"version", "extra"}},
		{cmd: "completion", code: 0, args: []string{"completion", "zsh"}},
		{cmd: "completion", code: 2, args: []string{"completion", "fish"}},
	}
	shown := map[string]map[int]bool{}
	for _, c := range cases {
		if shown[c.cmd] == nil {
			shown[c.cmd] = map[int]bool{}
		}
		shown[c.cmd][c.code] = true
		t.Run(strings.Join(c.args[:min(3, len(c.args))], " ")+"->"+string(rune('0'+c.code)), func(t *testing.T) {
			if c.corpus && corpus == "" {
				t.Skip("TOMSCAN_CORPUS not set")
			}
			var stdout bytes.Buffer
			var stderr bytes.Buffer
			var code int
			if c.failW {
				code = run(context.Background(), c.args, failWriter{}, &stderr)
			} else {
				code = run(context.Background(), c.args, &stdout, &stderr)
			}
			if code != c.code {
				t.Errorf("%v: exit %d, want %d\nstderr: %s", c.args, code, c.code, stderr.String())
			}
			if code == exitUsage && strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 {
				t.Errorf("usage error is not one line: %q", stderr.String())
			}
		})
	}
	for cmd, codes := range table {
		for code := range codes {
			if !shown[cmd][code] {
				t.Errorf("README: %s exits %d, and no case here shows it", cmd, code)
			}
		}
	}
	for cmd, codes := range shown {
		for code := range codes {
			if !table[cmd][code] {
				t.Errorf("%s exits %d, and README's table does not say so", cmd, code)
			}
		}
	}
}
