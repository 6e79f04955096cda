package scratch

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/runlock"
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

// TestSweepRemovesOnlyDeadRuns: a dead run's folder goes, whether its lock
// names the owner or, when the run died before its lock was written (or
// while), its folder's name does; a live run's folder, one a live run is
// still creating, an older tomscan's run folder without a lock and an
// unrelated folder stay.
func TestSweepRemovesOnlyDeadRuns(t *testing.T) {
	parent := t.TempDir()
	live, _, err := NewRun(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	me, err := runlock.Self()
	if err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(parent, runPrefix+"dead")
	// Killed before the lock file was created, and while it was written:
	// No process has pid 2^31-1 (pid_max is at most 2^22).
	deadNoLock := filepath.Join(parent, runPrefix+"2147483647-5-123")
	deadCutLock := filepath.Join(parent, runPrefix+"2147483647-5-456")
	// This process with another start time: a reused pid, so dead too.
	reused := filepath.Join(parent, fmt.Sprintf("%s%d-%s1-789", runPrefix, me.PID, me.Start))
	creating := filepath.Join(parent, fmt.Sprintf("%s%d-%s-42", runPrefix, me.PID, me.Start))
	noLock := filepath.Join(parent, runPrefix+"nolock")
	badName := filepath.Join(parent, runPrefix+"x-0-1")
	other := filepath.Join(parent, "tomscan-build-other")
	for _, d := range []string{dead, deadCutLock, other, noLock, badName} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{deadNoLock, reused, creating} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// pid 1 with a start time no process has: a dead owner
	if err := os.WriteFile(filepath.Join(dead, lockName), []byte("1 never\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deadCutLock, lockName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, swept, err := NewRun(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := []string{dead, deadNoLock, deadCutLock, reused}
	sort.Strings(want)
	sort.Strings(swept)
	if !slices.Equal(swept, want) {
		t.Fatalf("swept %v, want %v", swept, want)
	}
	for _, d := range []string{live.Dir(), creating, noLock, badName, other, r.Dir()} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
	for _, d := range want {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("dead run folder %s still there: %v", d, err)
		}
	}
	if owner, ok := ownerFromName(filepath.Base(r.Dir())); !ok || owner != me {
		t.Errorf("run folder %s names owner %+v (%v), want %+v", r.Dir(), owner, ok, me)
	}
}

// TestSweepLeavesOtherUsersFolders: in a shared temp folder, another user's
// run folder whose name says its owner is dead and whose lock this user
// cannot read is not this user's to remove: the sweep leaves it, and the
// scan starts. (Needs root, to give the folder to another user.)
func TestSweepLeavesOtherUsersFolders(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make a folder of another user's")
	}
	parent := t.TempDir()
	theirs := filepath.Join(parent, runPrefix+"2147483647-5-123")
	if err := os.Mkdir(theirs, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	r, swept, err := NewRun(parent)
	if err != nil {
		t.Fatalf("NewRun beside another user's folder: %v", err)
	}
	defer r.Close()
	if len(swept) != 0 {
		t.Errorf("swept %v, want nothing", swept)
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("another user's folder removed: %v", err)
	}
}

func TestNewRunBadParent(t *testing.T) {
	if _, _, err := NewRun(filepath.Join(t.TempDir(), "typo", "dir")); err == nil {
		t.Fatal("NewRun under a missing folder succeeded")
	}
}

// TestRootIsMadeOnFirstUse: New makes no folder; a build that never spills
// leaves nothing to remove, and the first write makes the folder.
func TestRootIsMadeOnFirstUse(t *testing.T) {
	parent := t.TempDir()
	r, err := New(parent)
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("New made %d entries before any write", len(left))
	}
	if err := r.Close(); err != nil || r.Failed() != nil {
		t.Fatalf("Close of an unused root = %v, Failed = %v", err, r.Failed())
	}
	r, err = New(parent)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.WriteTemp("in", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(filepath.Dir(p)) != parent {
		t.Fatalf("WriteTemp wrote %s, not in a folder under %s", p, parent)
	}
	if left, _ := os.ReadDir(parent); len(left) != 1 {
		t.Fatalf("after the first write %d entries under the parent, want the root's folder", len(left))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("Close left %d entries", len(left))
	}
}

// TestFailureToMakeTheRootIsKept: when the folder cannot be made at the
// first write (its parent went away), every write fails with the same error
// and Failed reports it, so the pipeline can tell the machine's failure from
// the build's.
func TestFailureToMakeTheRootIsKept(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "p")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	r, err := New(parent)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(parent); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Spill(strings.NewReader("x"), 10); err == nil {
		t.Fatal("Spill succeeded without a parent folder")
	}
	if _, err := r.MkdirTemp("7z"); err == nil {
		t.Fatal("MkdirTemp succeeded without a parent folder")
	}
	if r.Failed() == nil || !strings.Contains(r.Failed().Error(), "scratch: create") {
		t.Fatalf("Failed = %v, want the create error", r.Failed())
	}
	if r.Dir() != "" {
		t.Fatalf("Dir = %q after a failure", r.Dir())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(filepath.Join(parent, "gone")); err == nil {
		t.Fatal("New accepted a parent that does not exist")
	}
}

// TestNoFolderAfterClose: a goroutine that outlives its build and writes
// after Close makes no folder (nothing would remove it); on a root that was
// made, its writes fail on the closed handle.
func TestNoFolderAfterClose(t *testing.T) {
	parent := t.TempDir()
	r, err := New(parent)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := r.WriteTemp("late", strings.NewReader("x")); err == nil {
		t.Fatal("a write after Close succeeded")
	}
	if _, _, err := r.Spill(strings.NewReader("x"), 10); err == nil {
		t.Fatal("a spill after Close succeeded")
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("writes after Close left %d entries", len(left))
	}

	r, _ = New(parent)
	dir, err := r.MkdirTemp("out")
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := r.MkdirTemp("late"); err == nil {
		t.Fatal("a mkdir after Close succeeded")
	}
	if _, err := r.OSRoot().Stat(filepath.Base(dir)); err == nil {
		t.Fatal("the closed handle still reads")
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("writes after Close left %d entries", len(left))
	}
}
