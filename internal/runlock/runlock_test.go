package runlock

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestAcquireHeldAndRelease(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	l, stale, err := Acquire(p)
	if err != nil || stale {
		t.Fatalf("Acquire = %v, stale %v", err, stale)
	}
	if _, _, err := Acquire(p); !errors.Is(err, ErrHeld) {
		t.Fatalf("second Acquire by a live owner: %v, want ErrHeld", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("lock still there after Release: %v", err)
	}
}

// TestDeadOwnerIsStale: a lock written by a process that has exited is
// replaced, and the caller is told it was stale.
func TestDeadOwnerIsStale(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "lock")
	// the exited process's pid, with a start time no live process has
	if err := os.WriteFile(p, []byte(fmt.Sprintf("%d never\n", cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	l, stale, err := Acquire(p)
	if err != nil || !stale {
		t.Fatalf("Acquire over a dead owner = %v, stale %v", err, stale)
	}
	o, err := Read(p)
	if err != nil || o.PID != os.Getpid() || !o.Alive() {
		t.Fatalf("lock now says %+v, %v", o, err)
	}
	l.Release()
}

// TestReusedPIDIsNotAlive: our own pid with another start time is a
// different, dead process.
func TestReusedPIDIsNotAlive(t *testing.T) {
	me, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if !me.Alive() {
		t.Fatal("this process is not alive")
	}
	if (Owner{PID: me.PID, Start: me.Start + "0"}).Alive() {
		t.Fatal("a reused pid counts as the same process")
	}
}

func TestGarbageLockIsStale(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	if err := os.WriteFile(p, []byte("12"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, stale, err := Acquire(p)
	if err != nil || !stale {
		t.Fatalf("Acquire over a cut lock file = %v, stale %v", err, stale)
	}
	l.Release()
}
