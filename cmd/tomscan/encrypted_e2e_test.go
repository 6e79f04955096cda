package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeView is the part of a report's tree these tests read.
type nodeView struct {
	ID       string            `json:"id"`
	Type     string            `json:"type"`
	Meta     map[string]string `json:"meta"`
	Issues   []struct{ Kind, Message string }
	Children []*nodeView `json:"children"`
}

func (n *nodeView) walk(fn func(*nodeView)) {
	fn(n)
	for _, c := range n.Children {
		c.walk(fn)
	}
}

// reportOf reads the one report whose build path ends in name.
func reportOf(t *testing.T, out, name string) (status string, tree *nodeView, raw []byte) {
	t.Helper()
	for _, b := range readArchive(t, filepath.Join(out)) {
		var r struct {
			Status string `json:"status"`
			Build  struct {
				Path string `json:"path"`
			} `json:"build"`
			Tree nodeView `json:"tree"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(r.Build.Path, name) {
			return r.Status, &r.Tree, b
		}
	}
	t.Fatalf("no report for %s", name)
	return "", nil, nil
}

// TestScanTarballsAndEncryptedArchives is the issue's first cases from the
// command line: a tarball's PE is a node of its own; a ZIP shared with the
// password "infected" is read and says so; one with an unknown password is an
// encrypted issue and a partial build, and opens with --password or
// --password-file, whose password never appears in the report.
func TestScanTarballsAndEncryptedArchives(t *testing.T) {
	for _, tool := range []string{"tar", "zip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing (make setup)", tool)
		}
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	pe := buildPE(t, dir)
	in := filepath.Join(dir, "in")
	run := func(d string, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = d
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, b)
		}
	}
	builds := filepath.Join(dir, "builds")
	os.MkdirAll(builds, 0o755)
	run(in, "tar", "-czf", filepath.Join(builds, "old.tar.gz"), filepath.Base(pe))
	run(in, "zip", "-q", "-P", "infected", filepath.Join(builds, "shared.zip"), filepath.Base(pe))
	const secret = "Zq9-unguessable-secret"
	run(in, "zip", "-q", "-P", secret, filepath.Join(builds, "locked.zip"), filepath.Base(pe))

	out := filepath.Join(dir, "out")
	if code, _, stderr := runTool(t, bin, "scan", builds, "--out", out, "--quiet", "--format", "json"); code != 0 {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}
	status, tree, _ := reportOf(t, out, "old.tar.gz")
	var client *nodeView
	tree.walk(func(n *nodeView) {
		if n.ID == "old.tar.gz!old.tar!client.exe" {
			client = n
		}
	})
	if status != "succeeded" || client == nil || client.Type != "pe" {
		t.Errorf("old.tar.gz: status %s, client node %+v", status, client)
	}

	status, tree, _ = reportOf(t, out, "shared.zip")
	if status != "succeeded" || len(tree.Children) != 1 || tree.Children[0].Type != "pe" ||
		tree.Children[0].Meta["encrypted"] != "true" || tree.Children[0].Meta["password"] != "infected" {
		t.Errorf("shared.zip: status %s, children %+v", status, tree.Children)
	}

	status, tree, _ = reportOf(t, out, "locked.zip")
	if status != "partial" || len(tree.Children) != 0 || len(tree.Issues) != 1 || tree.Issues[0].Kind != "encrypted" {
		t.Errorf("locked.zip: status %s, issues %+v", status, tree.Issues)
	}

	pwFile := filepath.Join(dir, "pw.txt")
	os.WriteFile(pwFile, []byte("first\n"+secret+"\n"), 0o600)
	for flag, label := range map[string]string{"--password": "--password #1", "--password-file": "--password-file line 2"} {
		arg := secret
		if flag == "--password-file" {
			arg = pwFile
		}
		out := filepath.Join(dir, "out-"+flag)
		if code, _, stderr := runTool(t, bin, "scan", filepath.Join(builds, "locked.zip"), "--out", out, "--quiet", "--format", "json", flag, arg); code != 0 {
			t.Fatalf("scan %s: exit %d: %s", flag, code, stderr)
		}
		status, tree, raw := reportOf(t, out, "locked.zip")
		if status != "succeeded" || len(tree.Children) != 1 || tree.Children[0].Meta["password"] != label {
			t.Errorf("%s: status %s children %+v", flag, status, tree.Children)
		}
		if strings.Contains(string(raw), secret) {
			t.Errorf("%s: the report holds the user's password", flag)
		}
	}
	if code, _, _ := runTool(t, bin, "scan", builds, "--out", filepath.Join(dir, "x"), "--password-file", filepath.Join(dir, "missing.txt")); code != exitUsage {
		t.Errorf("missing --password-file: exit %d, want %d", code, exitUsage)
	}
}
