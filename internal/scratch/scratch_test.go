package scratch

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpillWriteAndCloseRemovesEverything(t *testing.T) {
	parent := t.TempDir()
	r, err := New(parent)
	if err != nil {
		t.Fatal(err)
	}
	f, n, err := r.Spill(strings.NewReader("hello"), 10)
	if err != nil || n != 5 {
		t.Fatalf("Spill = %d, %v", n, err)
	}
	got, _ := io.ReadAll(io.NewSectionReader(f, 0, n))
	if string(got) != "hello" {
		t.Fatalf("spilled %q", got)
	}
	if !strings.HasPrefix(f.Name(), r.Dir()) {
		t.Fatalf("spilled file %s is outside the root %s", f.Name(), r.Dir())
	}
	dir, err := r.MkdirTemp("7z")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != r.Dir() {
		t.Fatalf("MkdirTemp %s not directly under %s", dir, r.Dir())
	}
	p, err := r.WriteTemp("in", bytes.NewReader([]byte("x")))
	if err != nil || filepath.Dir(p) != r.Dir() {
		t.Fatalf("WriteTemp = %s, %v", p, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(parent)
	if len(left) != 0 {
		t.Fatalf("Close left %d entries in %s", len(left), parent)
	}
}

func TestSpillRefusesMoreThanMax(t *testing.T) {
	r, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, _, err := r.Spill(strings.NewReader("0123456789"), 9); err == nil {
		t.Fatal("Spill accepted 10 bytes with max 9")
	}
	entries, _ := os.ReadDir(r.Dir())
	if len(entries) != 0 {
		t.Fatalf("a refused spill left %d files", len(entries))
	}
}

func TestRootRefusesEscapes(t *testing.T) {
	r, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A symlink planted inside the root (as an external tool's extraction
	// might) must not let a read through the root leave it.
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(r.Dir(), "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.OSRoot().Open("link"); err == nil {
		t.Fatal("os.Root followed a symlink out of the scratch root")
	}
	if _, err := r.OSRoot().Open("../x"); err == nil {
		t.Fatal("os.Root opened ../x")
	}
}

// TestSweepRemovesOnlyDeadRuns: a dead run's folder goes, a live run's folder,
// a run folder without a lock and an unrelated folder stay.
func TestSweepRemovesOnlyDeadRuns(t *testing.T) {
	parent := t.TempDir()
	live, _, err := NewRun(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	dead := filepath.Join(parent, runPrefix+"dead")
	noLock := filepath.Join(parent, runPrefix+"nolock")
	other := filepath.Join(parent, "tomscan-build-other")
	for _, d := range []string{dead, noLock, other} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// pid 1 with a start time no process has: a dead owner
	if err := os.WriteFile(filepath.Join(dead, lockName), []byte("1 never\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, swept, err := NewRun(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if len(swept) != 1 || swept[0] != dead {
		t.Fatalf("swept %v, want only %s", swept, dead)
	}
	for _, d := range []string{live.Dir(), noLock, other, r.Dir()} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("dead run folder still there: %v", err)
	}
}

func TestNewRunBadParent(t *testing.T) {
	if _, _, err := NewRun(filepath.Join(t.TempDir(), "typo", "dir")); err == nil {
		t.Fatal("NewRun under a missing folder succeeded")
	}
}
