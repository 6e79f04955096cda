// Package scratch is the per-build temporary root. Everything tomscan writes
// to disk while unpacking lives under one directory opened as an os.Root, so
// no name read from a sample can place a file anywhere else, and the whole
// directory is removed when the build ends, even on cancel or panic (the
// pipeline defers Close).
package scratch

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Root is one build's scratch directory.
type Root struct {
	dir  string
	root *os.Root
	seq  atomic.Uint64
	mu   sync.Mutex
	open []*os.File
}

// New creates a fresh scratch root under parent ("" for the system temp dir).
func New(parent string) (*Root, error) {
	dir, err := os.MkdirTemp(parent, "tomscan-build-")
	if err != nil {
		return nil, fmt.Errorf("scratch: create: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("scratch: open root %s: %w", dir, err)
	}
	return &Root{dir: dir, root: r}, nil
}

// Dir is the absolute path of the root, for external tools' output folders.
func (r *Root) Dir() string { return r.dir }

// OSRoot is the root handle; open files below Dir through it so a symlink
// planted by an external tool's extraction cannot lead outside.
func (r *Root) OSRoot() *os.Root { return r.root }

// name returns a fresh name chosen by us, never by the sample.
func (r *Root) name(prefix string) string {
	return fmt.Sprintf("%s-%06d", prefix, r.seq.Add(1))
}

// Spill copies src into a new file and returns it open for reading, with the
// number of bytes written. At most max bytes are copied; more is an error.
func (r *Root) Spill(src io.Reader, max int64) (*os.File, int64, error) {
	name := r.name("blob")
	f, err := r.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("scratch: create %s: %w", name, err)
	}
	n, err := io.Copy(f, io.LimitReader(src, max+1))
	if err == nil && n > max {
		err = fmt.Errorf("scratch: more than %d bytes", max)
	}
	if err != nil {
		f.Close()
		r.root.Remove(name)
		return nil, n, err
	}
	r.track(f)
	return f, n, nil
}

// MkdirTemp makes a new empty folder for an external tool's output and returns
// its absolute path.
func (r *Root) MkdirTemp(prefix string) (string, error) {
	name := r.name(prefix)
	if err := r.root.Mkdir(name, 0o700); err != nil {
		return "", fmt.Errorf("scratch: mkdir %s: %w", name, err)
	}
	return filepath.Join(r.dir, name), nil
}

// WriteTemp writes b to a new file and returns its absolute path, for tools
// that need a path to a blob held in memory.
func (r *Root) WriteTemp(prefix string, b io.Reader) (string, error) {
	name := r.name(prefix)
	f, err := r.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
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
	return filepath.Join(r.dir, name), nil
}

func (r *Root) track(f *os.File) {
	r.mu.Lock()
	r.open = append(r.open, f)
	r.mu.Unlock()
}

// Close closes every spilled file and removes the directory.
func (r *Root) Close() error {
	r.mu.Lock()
	for _, f := range r.open {
		f.Close()
	}
	r.open = nil
	r.mu.Unlock()
	r.root.Close()
	if err := os.RemoveAll(r.dir); err != nil {
		return fmt.Errorf("scratch: remove %s: %w", r.dir, err)
	}
	return nil
}
