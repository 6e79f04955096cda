package unpack

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// OutDir is a folder under the build's scratch root that an external tool
// extracts into. Files are read back only through the scratch os.Root, so a
// symlink or a "../" the tool was tricked into writing cannot lead outside.
type OutDir struct {
	Abs string // for the tool's command line
	rel string // below the scratch root
	in  Input
}

// NewOutDir makes a fresh, empty folder for one tool run.
func NewOutDir(in Input, prefix string) (*OutDir, error) {
	if in.Scratch == nil {
		return nil, fmt.Errorf("%s: no scratch root", prefix)
	}
	abs, err := in.Scratch.MkdirTemp(prefix)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(in.Scratch.Dir(), abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("%s: scratch folder %s is outside the root", prefix, abs)
	}
	return &OutDir{Abs: abs, rel: rel, in: in}, nil
}

// Open opens the extracted file at name (slash-separated, relative to the
// folder) for reading, refusing anything that is not a regular file.
func (d *OutDir) Open(name string) (*os.File, int64, error) {
	p := filepath.Join(d.rel, filepath.FromSlash(name))
	if !strings.HasPrefix(p, d.rel+string(filepath.Separator)) {
		return nil, 0, fmt.Errorf("extracted name %q leaves the output folder", name)
	}
	root := d.in.Scratch.OSRoot()
	fi, err := root.Lstat(p)
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("extracted %q is not a regular file (%s)", name, fi.Mode().Type())
	}
	f, err := root.Open(p)
	if err != nil {
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// Files lists the regular files the tool wrote, slash-separated and sorted,
// together with anything else it wrote (links, devices), which is never read.
func (d *OutDir) Files(ctx context.Context, max int) (files, others []string, err error) {
	sub, err := d.in.Scratch.OSRoot().OpenRoot(d.rel)
	if err != nil {
		return nil, nil, err
	}
	defer sub.Close()
	err = fs.WalkDir(sub.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		switch {
		case e.IsDir():
			return nil
		case e.Type().IsRegular():
			files = append(files, p)
		default:
			others = append(others, p)
		}
		if len(files)+len(others) > max {
			return fmt.Errorf("more than %d files extracted", max)
		}
		return nil
	})
	return files, others, err
}

// Remove deletes the folder and everything in it. Extractors defer it so
// that disk use stays bounded by one container's content at a time; the
// pipeline's scratch Close removes whatever a crash leaves.
func (d *OutDir) Remove() error {
	return d.in.Scratch.OSRoot().RemoveAll(d.rel)
}

// InputPath gives an external tool a path to the container: the spilled
// file when there is one, else a copy written under the scratch root. The
// returned cleanup removes the copy (and is a no-op for a spilled blob).
func InputPath(in Input, prefix string) (path string, cleanup func(), err error) {
	if p := in.Blob.Path(); p != "" {
		return p, func() {}, nil
	}
	if in.Scratch == nil {
		return "", nil, fmt.Errorf("%s: no scratch root", prefix)
	}
	p, err := in.Scratch.WriteTemp(prefix, in.Blob.Reader())
	if err != nil {
		return "", nil, err
	}
	return p, func() {
		if rel, err := filepath.Rel(in.Scratch.Dir(), p); err == nil {
			in.Scratch.OSRoot().Remove(rel)
		}
	}, nil
}

// Remove1 deletes one extracted file, so that it is not emitted.
func (d *OutDir) Remove1(name string) error {
	return d.in.Scratch.OSRoot().Remove(filepath.Join(d.rel, filepath.FromSlash(name)))
}

// Write copies r into a new file called name (our choice, never a sample's)
// inside the folder and returns its absolute path.
func (d *OutDir) Write(name string, r io.Reader) (string, error) {
	p := filepath.Join(d.rel, filepath.FromSlash(name))
	f, err := d.in.Scratch.OSRoot().OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", name, err)
	}
	return filepath.Join(d.Abs, filepath.FromSlash(name)), nil
}
