// Package unpacktest is the one harness every extractor's tests use: it runs
// an extractor on bytes with a fresh scratch root and limits, collects what
// it emits as (name, size, sha256) plus issues, and checks that the
// extractor left nothing behind on disk.
package unpacktest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/limits"
	"github.com/tomscan/tomscan/internal/scratch"
	"github.com/tomscan/tomscan/internal/unpack"
	"github.com/tomscan/tomscan/pe"
)

// File is one emitted child.
type File struct {
	Name   string // as the extractor emitted it (not vetted)
	Size   int64  // bytes actually read
	SHA256 string
	Err    string // body read error, if any
	Meta   map[string]string
}

func (f File) String() string { return fmt.Sprintf("%s %d %s", f.Name, f.Size, f.SHA256) }

// Result is everything one extraction produced.
type Result struct {
	Files     []File // sorted by name
	Issues    []string
	Installer *artifact.Installer
	Signature *pe.Signature
	Err       error
}

// Names lists the emitted names, sorted.
func (r *Result) Names() []string {
	var out []string
	for _, f := range r.Files {
		out = append(out, f.Name)
	}
	return out
}

// SetOf is what Set must equal for an extraction that yields exactly files
// (name -> content).
func SetOf(files map[string][]byte) []string {
	var out []string
	for name, b := range files {
		out = append(out, File{Name: name, Size: int64(len(b)), SHA256: Digest(b)}.String())
	}
	sort.Strings(out)
	return out
}

// Set returns the files as "name size sha256" lines, sorted, for comparing.
func (r *Result) Set() []string {
	var out []string
	for _, f := range r.Files {
		out = append(out, f.String())
	}
	sort.Strings(out)
	return out
}

// Options tune one run; zero values mean limits.Default and the tools on PATH.
type Options struct {
	Limits    *limits.Limits
	Tools     *unpack.Tools
	MaxBody   int64 // bytes read per body; default 64 MiB
	Node      *artifact.Node
	StopAfter int               // the sink answers ErrStop after this many entries (0: never)
	Passwords []unpack.Password // nil: unpack.DefaultPasswords
}

// Run runs x on data. It fails t if the extractor leaves files in the
// scratch root after returning, or writes anywhere outside it.
func Run(t testing.TB, x unpack.Extractor, data []byte, o Options) *Result {
	t.Helper()
	return RunContext(context.Background(), t, x, data, o)
}

// RunContext is Run with a caller's context (for cancellation tests).
func RunContext(ctx context.Context, t testing.TB, x unpack.Extractor, data []byte, o Options) *Result {
	t.Helper()
	parent := t.TempDir()
	sc, err := scratch.New(parent)
	if err != nil {
		t.Fatal(err)
	}
	lim := limits.Default()
	if o.Limits != nil {
		lim = *o.Limits
	}
	tools := unpack.FindTools()
	if o.Tools != nil {
		tools = *o.Tools
	}
	if o.MaxBody == 0 {
		o.MaxBody = 64 << 20
	}
	node := o.Node
	if node == nil {
		node = artifact.NewRoot("input.bin")
	}
	s := &sink{res: &Result{}, max: o.MaxBody, stopAfter: o.StopAfter}
	pw := o.Passwords
	if pw == nil {
		pw = unpack.DefaultPasswords()
	}
	in := unpack.Input{Node: node, Blob: artifact.MemoryBlob(data), Scratch: sc, Limits: lim, Tools: tools, Passwords: pw}
	s.res.Err = x.Extract(ctx, in, s)
	sort.SliceStable(s.res.Files, func(i, j int) bool { return s.res.Files[i].Name < s.res.Files[j].Name })

	if left := listTree(t, sc.Dir()); len(left) > 0 {
		t.Errorf("%s left files in the scratch root: %v", x.Name(), left)
	}
	if err := sc.Close(); err != nil {
		t.Errorf("scratch close: %v", err)
	}
	if left := listTree(t, parent); len(left) > 0 {
		t.Errorf("%s wrote outside the scratch root: %v", x.Name(), left)
	}
	return s.res
}

func listTree(t testing.TB, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	return out
}

type sink struct {
	res       *Result
	max       int64
	stopAfter int
}

func (s *sink) Emit(ctx context.Context, e unpack.Entry) error {
	if s.stopAfter > 0 && len(s.res.Files) >= s.stopAfter {
		return unpack.ErrStop
	}
	f := File{Name: e.Name, Meta: e.Meta}
	if e.Body != nil {
		h := sha256.New()
		n, err := io.Copy(h, io.LimitReader(e.Body, s.max))
		f.Size, f.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		if err != nil {
			f.Err = err.Error()
		}
	}
	s.res.Files = append(s.res.Files, f)
	return nil
}

func (s *sink) Installer(info *artifact.Installer) { s.res.Installer = info }
func (s *sink) Signature(sig *pe.Signature)        { s.res.Signature = sig }
func (s *sink) Issue(kind, message string) {
	s.res.Issues = append(s.res.Issues, kind+": "+message)
}

// Digest is the hex sha256 of b, for expected values.
func Digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
