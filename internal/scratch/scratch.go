// Package scratch is the per-build temporary root. Everything tomscan writes
// to disk while unpacking lives under one directory opened as an os.Root, so
// no name read from a sample can place a file anywhere else, and the whole
// directory is removed when the build ends, even on cancel or panic (the
// pipeline defers Close).
package scratch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tomscan/tomscan/internal/runlock"
)

// Root is one build's scratch directory. The directory is made at the
// first write that needs it, not by New: most builds (a bare PE, a ZIP read
// in memory) never spill, and a folder made and removed per build costs two
// inode operations on the hot path (on ext4 without a journal each inode
// allocation also steps over every inode freed in the last seconds, so the
// cost grew with the batch).
type Root struct {
	parent string
	seq    atomic.Uint64

	mu      sync.Mutex
	dir     string
	root    *os.Root
	makeErr error // the first failure to make the directory, kept for Failed
	closed  bool
	open    []*os.File
}

// errClosed is a write after Close: a goroutine that outlived its build
// must not make a folder no one will remove.
var errClosed = errors.New("scratch: root closed")

// New prepares a scratch root under parent ("" for the system temp dir).
// The parent must be a folder this process may write in; the root's own
// directory is made when first needed.
func New(parent string) (*Root, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	info, err := os.Stat(parent)
	if err != nil {
		return nil, fmt.Errorf("scratch: parent: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("scratch: parent %s is not a folder", parent)
	}
	return &Root{parent: parent}, nil
}

// made makes the directory on first use and returns its handle.
func (r *Root) made() (*os.Root, error) {
	root, _, err := r.madeDir()
	return root, err
}

// madeDir is made with the directory's path.
func (r *Root) madeDir() (*os.Root, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.root != nil {
		return r.root, r.dir, nil // after Close, a closed handle: its uses fail
	}
	if r.closed {
		return nil, "", errClosed
	}
	if r.makeErr != nil {
		return nil, "", r.makeErr
	}
	dir, err := os.MkdirTemp(r.parent, "tomscan-build-")
	if err != nil {
		r.makeErr = fmt.Errorf("scratch: create: %w", err)
		return nil, "", r.makeErr
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		os.RemoveAll(dir)
		r.makeErr = fmt.Errorf("scratch: open root %s: %w", dir, err)
		return nil, "", r.makeErr
	}
	r.dir, r.root = dir, root
	return root, dir, nil
}

// Failed is the error that kept the directory from being made, nil when it
// was made or never needed. Such a failure is the machine's, not the
// build's: the pipeline reports it as a run error rather than as a damaged
// build.
func (r *Root) Failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.makeErr
}

// Dir is the absolute path of the root, for external tools' output folders.
// It makes the directory when nothing has yet; "" when that failed.
func (r *Root) Dir() string {
	_, dir, _ := r.madeDir()
	return dir
}

// OSRoot is the root handle; open files below Dir through it so a symlink
// planted by an external tool's extraction cannot lead outside. Callers hold
// a path made by MkdirTemp or WriteTemp, so the directory exists.
func (r *Root) OSRoot() *os.Root {
	root, _ := r.made()
	return root
}

// name returns a fresh name chosen by us, never by the sample.
func (r *Root) name(prefix string) string {
	return fmt.Sprintf("%s-%06d", prefix, r.seq.Add(1))
}

// Spill copies src into a new file and returns it open for reading, with the
// number of bytes written. At most max bytes are copied; more is an error.
func (r *Root) Spill(src io.Reader, max int64) (*os.File, int64, error) {
	root, err := r.made()
	if err != nil {
		return nil, 0, err
	}
	name := r.name("blob")
	f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("scratch: create %s: %w", name, err)
	}
	n, err := io.Copy(f, io.LimitReader(src, max+1))
	if err == nil && n > max {
		err = fmt.Errorf("scratch: more than %d bytes", max)
	}
	if err != nil {
		f.Close()
		root.Remove(name)
		return nil, n, err
	}
	r.track(f)
	return f, n, nil
}

// MkdirTemp makes a new empty folder for an external tool's output and returns
// its absolute path.
func (r *Root) MkdirTemp(prefix string) (string, error) {
	root, dir, err := r.madeDir()
	if err != nil {
		return "", err
	}
	name := r.name(prefix)
	if err := root.Mkdir(name, 0o700); err != nil {
		return "", fmt.Errorf("scratch: mkdir %s: %w", name, err)
	}
	return filepath.Join(dir, name), nil
}

// WriteTemp writes b to a new file and returns its absolute path, for tools
// that need a path to a blob held in memory.
func (r *Root) WriteTemp(prefix string, b io.Reader) (string, error) {
	root, dir, err := r.madeDir()
	if err != nil {
		return "", err
	}
	name := r.name(prefix)
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("scratch: create %s: %w", name, err)
	}
	if _, err := io.Copy(f, b); err != nil {
		f.Close()
		return "", fmt.Errorf("scratch: write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("scratch: close %s: %w", name, err)
	}
	return filepath.Join(dir, name), nil
}

func (r *Root) track(f *os.File) {
	r.mu.Lock()
	r.open = append(r.open, f)
	r.mu.Unlock()
}

// Close closes every spilled file and removes the directory, if it was made.
func (r *Root) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, f := range r.open {
		f.Close()
	}
	r.open = nil
	if r.root == nil {
		return nil
	}
	r.root.Close()
	if err := os.RemoveAll(r.dir); err != nil {
		return fmt.Errorf("scratch: remove %s: %w", r.dir, err)
	}
	return nil
}

// runPrefix names a run's folder under the scratch parent; lockName is the
// lock file inside it naming the run's process.
const (
	runPrefix = "tomscan-run-"
	lockName  = ".lock"
)

// Run is one scan's scratch folder: every build root (and each worker's
// folder) lives below it, and a lock file inside names the run's process, so
// a later run can tell the folder of a killed run from a live one.
type Run struct {
	dir  string
	lock *runlock.Lock
}

// NewRun sweeps the run folders that dead runs left under parent ("" for the
// system temp dir), then creates this run's folder. Only folders named
// tomscan-run-* whose owner is dead are removed (SweepDead). It is also the
// start-up check of --scratch: an error means the folder is unusable.
//
// The folder's name carries the owner too (tomscan-run-<pid>-<start>-*):
// a run killed between creating the folder and writing its lock file leaves
// a folder without a readable lock, and only the name can then tell a dead
// owner's folder from one a live run is creating.
func NewRun(parent string) (*Run, []string, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	swept, err := SweepDead(parent)
	if err != nil {
		return nil, nil, err
	}
	me, err := runlock.Self()
	if err != nil {
		return nil, swept, fmt.Errorf("scratch: %w", err)
	}
	dir, err := os.MkdirTemp(parent, fmt.Sprintf("%s%d-%s-", runPrefix, me.PID, me.Start))
	if err != nil {
		return nil, swept, fmt.Errorf("scratch: create run folder: %w", err)
	}
	l, _, err := runlock.Acquire(filepath.Join(dir, lockName))
	if err != nil {
		os.RemoveAll(dir)
		return nil, swept, fmt.Errorf("scratch: %w", err)
	}
	return &Run{dir: dir, lock: l}, swept, nil
}

// Dir is the run's folder: the parent of its build roots.
func (r *Run) Dir() string { return r.dir }

// Close removes the run's folder and everything under it.
func (r *Run) Close() error {
	if err := os.RemoveAll(r.dir); err != nil {
		return fmt.Errorf("scratch: remove %s: %w", r.dir, err)
	}
	return nil
}

// SweepDead removes the run folders under parent whose owner is no longer
// running, and returns their paths. The owner is the one the lock file names;
// a folder of this user's without a readable lock (its run died before the
// lock was written, or while it was) is judged by the owner its name
// carries, and one whose name carries none (an older tomscan's) is left
// alone: it may be being created.
func SweepDead(parent string) ([]string, error) {
	des, err := os.ReadDir(parent)
	if err != nil {
		return nil, fmt.Errorf("scratch: list %s: %w", parent, err)
	}
	var swept []string
	for _, de := range des {
		if !de.IsDir() || !strings.HasPrefix(de.Name(), runPrefix) {
			continue
		}
		dir := filepath.Join(parent, de.Name())
		owner, err := runlock.Read(filepath.Join(dir, lockName))
		if err != nil {
			// Only a folder of this user's: in a shared temp folder another
			// user's lock is unreadable to us, and their folder is not ours
			// to remove (nor could we).
			var named bool
			if owner, named = ownerFromName(de.Name()); !named || !ownedByMe(dir) {
				continue
			}
		}
		if owner.Alive() {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return swept, fmt.Errorf("scratch: sweep %s: %w", dir, err)
		}
		swept = append(swept, dir)
	}
	return swept, nil
}

// ownerFromName reads the owner NewRun put in a run folder's name:
// tomscan-run-<pid>-<start>-<random>.
func ownerFromName(name string) (runlock.Owner, bool) {
	f := strings.SplitN(strings.TrimPrefix(name, runPrefix), "-", 3)
	if len(f) != 3 {
		return runlock.Owner{}, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 || f[1] == "" || strings.Trim(f[1], "0123456789") != "" {
		return runlock.Owner{}, false
	}
	return runlock.Owner{PID: pid, Start: f[1]}, true
}

// ownedByMe tells whether the folder at path (not followed) belongs to this
// process's user.
func ownedByMe(path string) bool {
	info, err := os.Lstat(path)
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
