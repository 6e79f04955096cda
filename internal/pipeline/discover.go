package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
)

// Input is one top-level file to scan.
type Input struct {
	Path string // as opened
	Ref  string // as reported: relative to the parent of the argument it came from, slash-separated
}

// Skipped is an input that was found and deliberately not scanned. The run
// summary lists every one with its reason, so nothing is left out unsaid.
type Skipped struct {
	Path   string // as found (not escaped: print it through reports.Terminal)
	Reason string
}

// DiscoverOptions shape what Discover leaves out.
type DiscoverOptions struct {
	// Exclude is a folder never walked into: the --out archive, so that a
	// scan never reads its own reports when the archive lies under an input.
	Exclude string
}

// Discover walks paths (files or folders) and returns every regular file,
// sorted by Ref, then Path, and what it skipped. Only regular files are
// read: named pipes, devices and sockets would block or never end (a FIFO,
// /dev/zero), so they are skipped. Symbolic links met while walking are not
// followed (a link could lead the scan outside the corpus) and are listed as
// skipped; a path named on the command line is the user's choice and is
// followed. A named path that does not exist is an error; a folder that
// cannot be listed is skipped with its reason.
func Discover(paths []string, opts DiscoverOptions) ([]Input, []Skipped, error) {
	var exclude os.FileInfo
	if opts.Exclude != "" {
		exclude, _ = os.Stat(opts.Exclude) // not there yet: nothing to leave out
	}
	var out []Input
	var skipped []Skipped
	skip := func(p, reason string) { skipped = append(skipped, Skipped{Path: p, Reason: reason}) }
	for _, arg := range paths {
		arg = filepath.Clean(arg)
		info, err := os.Stat(arg)
		if err != nil {
			return nil, nil, fmt.Errorf("discover: %w", err)
		}
		base := filepath.Dir(arg)
		if !info.IsDir() {
			if !info.Mode().IsRegular() {
				skip(arg, notRegular(info.Mode()))
				continue
			}
			out = append(out, Input{Path: arg, Ref: filepath.ToSlash(filepath.Base(arg))})
			continue
		}
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				// A folder that cannot be listed (or vanished): say so and
				// go on with its siblings.
				skip(p, "cannot be read: "+errText(err))
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if exclude != nil {
					if fi, err := d.Info(); err == nil && os.SameFile(fi, exclude) {
						skip(p, "the --out archive of this scan: tomscan does not read its own output")
						return fs.SkipDir
					}
				}
				return nil
			}
			if !d.Type().IsRegular() {
				skip(p, notRegular(d.Type()))
				return nil
			}
			rel, err := filepath.Rel(base, p)
			if err != nil {
				return fmt.Errorf("discover: %w", err)
			}
			out = append(out, Input{Path: p, Ref: filepath.ToSlash(rel)})
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Ref != out[j].Ref {
			return out[i].Ref < out[j].Ref
		}
		return out[i].Path < out[j].Path
	})
	return out, skipped, nil
}

func notRegular(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link: not followed (name its target to scan it)"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO): not a regular file"
	case m&fs.ModeSocket != 0:
		return "socket: not a regular file"
	case m&fs.ModeCharDevice != 0:
		return "character device: not a regular file"
	case m&fs.ModeDevice != 0:
		return "block device: not a regular file"
	}
	return fmt.Sprintf("not a regular file (%s)", m.Type())
}

// errText is an error without the path fs errors repeat (the summary line
// already starts with the path).
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	if errors.Is(err, ErrNotRegular) {
		return strings.TrimPrefix(err.Error(), "open input: ")
	}
	return err.Error()
}

// ErrNotRegular says an input is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// openRegular opens a file for reading only if it is a regular file. The
// open does not block on a FIFO (O_NONBLOCK), so a path swapped for a pipe
// after discovery is refused, not waited on.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat input: %w", err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open input: %w: %s", ErrNotRegular, notRegular(info.Mode()))
	}
	return f, nil
}

// ownOutput recognises files tomscan wrote into an archive, by name and by
// how tomscan starts them, so that a scan over a folder holding an archive
// (or a copy of one) does not analyse its own reports: they quote the
// evidence they found and would be judged by it. Both must match: a sample
// merely named report.json is scanned.
var ownOutput = map[string]*regexp.Regexp{
	"report.json":  regexp.MustCompile(`^\{\s*"schema_version":\s*"[0-9.]+",\s*"tool":\s*\{\s*"name":\s*"tomscan"`),
	"report.md":    regexp.MustCompile(`^# tomscan report: `),
	"report.html":  regexp.MustCompile(`^<!DOCTYPE html>\n<html lang="en">\n<head>\n(?:<meta [^\n]*\n)*<title>tomscan: `),
	"index.html":   regexp.MustCompile(`^<!DOCTYPE html>\n<html lang="en">\n<head>\n(?:<meta [^\n]*\n)*<title>tomscan archive: `),
	"index.sqlite": regexp.MustCompile(`^SQLite format 3\x00`),
}

// ownOutputHead is how much of a file ownOutput looks at.
const ownOutputHead = 1024

func isOwnOutput(path string, head []byte) bool {
	re := ownOutput[filepath.Base(path)]
	return re != nil && re.Match(head)
}
