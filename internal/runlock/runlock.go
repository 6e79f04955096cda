// Package runlock marks a folder as in use by one tomscan run: a lock file
// holding the run's pid and the kernel's start time of that process. A later
// run that finds the lock can tell a live owner (leave everything alone) from
// a dead one (killed, crashed, powered off), whose temporary files it may
// remove. The start time guards against a reused pid.
package runlock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Lock is a held lock file.
type Lock struct {
	path string
}

// Owner is what a lock file says about the run that wrote it.
type Owner struct {
	PID   int
	Start string // /proc/<pid>/stat field 22, clock ticks since boot
}

// ErrHeld says a live run holds the lock.
var ErrHeld = errors.New("held by a running tomscan")

// Acquire creates the lock file at path for this process. When a lock is
// already there: a live owner is ErrHeld (with its pid); a dead owner's lock is
// replaced and stale is true, so the caller may sweep what that run left.
func Acquire(path string) (l *Lock, stale bool, err error) {
	me, err := Self()
	if err != nil {
		return nil, false, err
	}
	for attempt := 0; attempt < 3; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := fmt.Fprintf(f, "%d %s\n", me.PID, me.Start)
			cerr := f.Close()
			if werr != nil || cerr != nil {
				os.Remove(path)
				return nil, false, fmt.Errorf("runlock: write %s: %w", path, errors.Join(werr, cerr))
			}
			return &Lock{path: path}, stale, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, false, fmt.Errorf("runlock: create %s: %w", path, err)
		}
		owner, rerr := Read(path)
		if rerr == nil && owner.Alive() {
			return nil, false, fmt.Errorf("runlock: %s: %w (pid %d)", path, ErrHeld, owner.PID)
		}
		// Dead owner, or a lock file cut short by a crash while it was
		// being written: nobody holds it.
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, false, fmt.Errorf("runlock: remove stale %s: %w", path, err)
		}
		stale = true
	}
	return nil, false, fmt.Errorf("runlock: %s: contended", path)
}

// Release removes the lock file.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("runlock: release %s: %w", l.path, err)
	}
	return nil
}

// Read parses a lock file.
func Read(path string) (Owner, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Owner{}, fmt.Errorf("runlock: read %s: %w", path, err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return Owner{}, fmt.Errorf("runlock: %s: not a lock file", path)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return Owner{}, fmt.Errorf("runlock: %s: bad pid %q", path, f[0])
	}
	return Owner{PID: pid, Start: f[1]}, nil
}

// Alive says whether the process that wrote the lock still runs: the pid
// exists and started at the same time (a reused pid has another start).
func (o Owner) Alive() bool {
	start, err := startTime(o.PID)
	return err == nil && start == o.Start
}

// Self is this process as a lock owner.
func Self() (Owner, error) {
	pid := os.Getpid()
	start, err := startTime(pid)
	if err != nil {
		return Owner{}, err
	}
	return Owner{PID: pid, Start: start}, nil
}

// startTime reads field 22 (starttime) of /proc/<pid>/stat. The command name
// (field 2) is in parentheses and may hold spaces, so fields are counted
// after its closing parenthesis.
func startTime(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", fmt.Errorf("runlock: %w", err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", fmt.Errorf("runlock: /proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return "", fmt.Errorf("runlock: /proc/%d/stat: unexpected format", pid)
	}
	if f[0] == "Z" || f[0] == "X" {
		return "", fmt.Errorf("runlock: pid %d is a zombie", pid)
	}
	return f[19], nil
}
