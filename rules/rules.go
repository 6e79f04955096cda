// Package rules compiles YARA rule files (the shipped TOM-Skype pack embedded
// in this package, plus any user folders) and scans node bytes with them. It
// is the only package that uses cgo: go-yara over libyara.
//
// Compile once, share the compiled Set across workers, one Scanner per worker
// (a libyara scanner holds per-scan state and is not safe for concurrent use).
package rules

/*
#include <yara.h>
*/
import "C"

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	yara "github.com/hillu/go-yara/v4"

	"github.com/tomscan/tomscan/internal/artifact"
)

//go:embed *.yar
var builtin embed.FS

// LibyaraVersion is the libyara this binary was compiled against.
const LibyaraVersion = C.YR_VERSION

// GoYaraVersion is the go-yara module version pinned in go.mod.
const GoYaraVersion = "v4.2.4"

// Variables are the external variables every rule can use; Compile defines
// them with these defaults and Scan sets them per node.
type Variables struct {
	FileName       string // the node's own name
	FilePath       string // the node's path chain, "!"-joined
	FileType       string // sniffed type of the node
	ParentFileType string // sniffed type of the container ("" for a build root)
	Extractor      string // extractor that found the node ("" for a build root)
	Depth          int    // 0 for a build root
}

func (v Variables) pairs() []struct {
	name  string
	value interface{}
} {
	return []struct {
		name  string
		value interface{}
	}{
		{"filename", v.FileName},
		{"filepath", v.FilePath},
		{"filetype", v.FileType},
		{"parent_filetype", v.ParentFileType},
		{"extractor", v.Extractor},
		{"depth", v.Depth},
	}
}

// Source is one rule file, with its namespace.
type Source struct {
	Namespace string `json:"namespace"`
	Path      string `json:"path"` // "builtin:<name>" for the shipped pack
	Text      []byte `json:"-"`
}

// CompileError lists every error the compiler reported, each as file:line: message.
type CompileError struct{ Messages []string }

func (e *CompileError) Error() string {
	return "rules: compile failed:\n  " + strings.Join(e.Messages, "\n  ")
}

// Set is a compiled rule set, safe to share across goroutines.
type Set struct {
	rules    *yara.Rules
	Sources  []Source
	Digest   string   // sha256 over namespaces and texts, in order
	Warnings []string // file:line: message
	Names    []string // namespace:rule, sorted
}

// Builtin returns the shipped pack's sources, sorted by file name.
func Builtin() ([]Source, error) {
	entries, err := fs.ReadDir(builtin, ".")
	if err != nil {
		return nil, fmt.Errorf("rules: read builtin pack: %w", err)
	}
	var out []Source
	for _, e := range entries {
		b, err := builtin.ReadFile(e.Name())
		if err != nil {
			return nil, fmt.Errorf("rules: read builtin %s: %w", e.Name(), err)
		}
		out = append(out, Source{Namespace: strings.TrimSuffix(e.Name(), ".yar"), Path: "builtin:rules/" + e.Name(), Text: b})
	}
	return out, nil
}

// LoadDir reads every *.yar and *.yara file below dir, sorted; the namespace
// is the file's path relative to dir without its extension. Folders named
// testdata below dir are skipped, as the go tool does: they hold deliberately
// broken fixtures (rules/testdata), not rules, so `rules check rules/` and
// `scan --rules rules/` read the pack only. Name a testdata folder itself to
// load it.
func LoadDir(dir string) ([]Source, error) {
	var out []Source
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(path))
		if ext != ".yar" && ext != ".yara" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		ns := strings.TrimSuffix(filepath.ToSlash(rel), filepath.Ext(rel))
		out = append(out, Source{Namespace: ns, Path: path, Text: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rules: load %s: %w", dir, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("rules: no .yar or .yara files in %s", dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// LoadPath reads one rule file (namespace: its base name without extension)
// or, for a folder, every rule file below it as LoadDir does.
func LoadPath(path string) ([]Source, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("rules: load %s: %w", path, err)
	}
	if info.IsDir() {
		return LoadDir(path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: load %s: %w", path, err)
	}
	base := filepath.Base(path)
	return []Source{{Namespace: strings.TrimSuffix(base, filepath.Ext(base)), Path: path, Text: b}}, nil
}

// Compile compiles sources into one Set. When some file does not compile,
// every file is compiled alone, so that all errors of all files are reported
// at once, each with its file and line; a set whose files all compile alone
// but not together (a duplicate namespace:rule across files) reports the
// error of the whole compile.
//
// A set that compiles is compiled once, all files together: libyara's
// compiles cost tens of milliseconds each (most of it building the scan
// automaton), and a scan, `rules check` and every test compile the shipped
// pack, so compiling each file alone first cost a run four more compiles for
// the errors it never had. Each file's warnings are those its AddString
// reported, named by its path, as the one-file compiles named them.
func Compile(ctx context.Context, sources []Source) (*Set, error) {
	if len(sources) == 0 {
		return nil, errors.New("rules: no rule sources")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r, warns, m := compile(sources); len(m) == 0 {
		return newSet(r, sources, warns), nil
	}
	var msgs []string
	for _, src := range sources {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, _, m := compile([]Source{src})
		if r != nil {
			r.Destroy()
		}
		msgs = append(msgs, m...)
	}
	if len(msgs) > 0 {
		return nil, &CompileError{Messages: msgs}
	}
	_, _, m := compile(sources)
	return nil, &CompileError{Messages: m}
}

func newSet(r *yara.Rules, sources []Source, warns []string) *Set {
	set := &Set{rules: r, Sources: sources, Digest: SourcesDigest(sources), Warnings: warns}
	for _, rule := range r.GetRules() {
		set.Names = append(set.Names, rule.Namespace()+":"+rule.Identifier())
	}
	sort.Strings(set.Names)
	return set
}

// compile runs one libyara compiler over sources; it returns the rules, the
// warnings and the errors, each formatted file:line: text, and each naming
// the file whose AddString reported it (AddString gives libyara no file name).
// After a file fails, the compiler takes no more: only its errors are
// returned.
func compile(sources []Source) (*yara.Rules, []string, []string) {
	runtime.LockOSThread() // every call of the compile on the arena prepared for it
	defer runtime.UnlockOSThread()
	prepareCompilerHeap()
	c, err := yara.NewCompiler()
	if err != nil {
		return nil, nil, []string{fmt.Sprintf("libyara: new compiler: %v", err)}
	}
	defer c.Destroy()
	// Rule files must be self-contained: includes would let a rule folder read
	// arbitrary files.
	c.DisableIncludes()
	for _, kv := range (Variables{}).pairs() {
		if err := c.DefineVariable(kv.name, kv.value); err != nil {
			return nil, nil, []string{fmt.Sprintf("libyara: define %s: %v", kv.name, err)}
		}
	}
	var warns []string
	for _, src := range sources {
		seen := len(c.Warnings)
		err := c.AddString(string(src.Text), src.Namespace)
		warns = append(warns, format(src.Path, c.Warnings[seen:])...)
		if err != nil {
			return nil, warns, format(src.Path, c.Errors)
		}
	}
	r, err := c.GetRules()
	if err != nil {
		return nil, warns, []string{fmt.Sprintf("libyara: get rules: %v", err)}
	}
	return r, warns, nil
}

func format(path string, ms []yara.CompilerMessage) []string {
	var out []string
	for _, m := range ms {
		file := path
		if file == "" {
			file = m.Filename
		}
		out = append(out, fmt.Sprintf("%s:%d: %s", file, m.Line, m.Text))
	}
	return out
}

// RuleInfo is one compiled rule with its meta; a meta key may repeat
// (several "example" entries), so values are lists in declaration order.
type RuleInfo struct {
	Namespace string              `json:"namespace"`
	Name      string              `json:"name"`
	Tags      []string            `json:"tags,omitempty"`
	Meta      map[string][]string `json:"meta,omitempty"`
	Private   bool                `json:"private,omitempty"`
}

// Rules lists the compiled rules sorted by namespace and name. Private rules
// are included: they never appear in matches, so callers skip them by name.
func (set *Set) Rules() []RuleInfo {
	var out []RuleInfo
	for _, r := range set.rules.GetRules() {
		ri := RuleInfo{Namespace: r.Namespace(), Name: r.Identifier(), Tags: r.Tags(), Private: r.IsPrivate()}
		for _, m := range r.Metas() {
			if ri.Meta == nil {
				ri.Meta = map[string][]string{}
			}
			ri.Meta[m.Identifier] = append(ri.Meta[m.Identifier], fmt.Sprint(m.Value))
		}
		out = append(out, ri)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// SetEnabled enables or disables rule namespace:name and reports whether it
// exists. A disabled rule never matches (and rules that depend on it see it
// false). It changes the set for every scanner: use it only on a set of your
// own that no other goroutine scans with (rules bench does).
func (set *Set) SetEnabled(namespace, name string, enabled bool) bool {
	for _, r := range set.rules.GetRules() {
		if r.Namespace() == namespace && r.Identifier() == name {
			if enabled {
				r.Enable()
			} else {
				r.Disable()
			}
			return true
		}
	}
	return false
}

// NodeVariables are the external variables for node n found in parent (nil
// for a build root), exactly as the pipeline sets them before a scan.
func NodeVariables(n, parent *artifact.Node) Variables {
	v := Variables{FileName: n.Name, FilePath: n.ID, FileType: n.Type, Extractor: n.Extractor, Depth: n.Depth}
	if parent != nil {
		v.ParentFileType = parent.Type
	}
	return v
}

// Pairs lists the variables as name and value, in a fixed order, for tools
// that pass them on (the yara CLI's -d).
func (v Variables) Pairs() [][2]string {
	var out [][2]string
	for _, kv := range v.pairs() {
		out = append(out, [2]string{kv.name, fmt.Sprint(kv.value)})
	}
	return out
}

// Scanner scans with a Set; one per worker.
type Scanner struct {
	s       *yara.Scanner
	timeout time.Duration
	// vars are the external variables the libyara scanner holds (they stay
	// set from one scan to the next); defined tells whether it holds them.
	vars    Variables
	defined bool
}

// NewScanner returns a scanner over set. Close it when the worker ends.
//
// Its scans run without libyara's try/catch (SCAN_FLAGS_NO_TRYCATCH). That
// guard is for mapped files, which can fault when they shrink under a scan;
// a Scanner scans Go memory only. It costs four sigaction calls and a
// signal-mask save on each of the two guarded steps of every scan, about half
// the cost of scanning a small node. And it is unsafe in a Go program: while
// a scan runs, libyara's handler replaces the Go runtime's for SIGSEGV and
// SIGBUS process-wide, and libyara 4.2's handler ignores a fault on a thread
// that is not scanning, so a nil dereference in another goroutine (a stage's
// panic that the pipeline recovers) would fault again forever instead of
// panicking. Without the guard a fault inside libyara kills the process,
// which a scan's worker isolation turns into an issue on that one build.
func (set *Set) NewScanner(timeout time.Duration) (*Scanner, error) {
	s, err := yara.NewScanner(set.rules)
	if err != nil {
		return nil, fmt.Errorf("rules: new scanner: %w", err)
	}
	s.SetFlags(yara.ScanFlags(C.SCAN_FLAGS_NO_TRYCATCH))
	return &Scanner{s: s, timeout: timeout}, nil
}

// Close frees the libyara scanner.
func (sc *Scanner) Close() { sc.s.Destroy() }

// Scan matches data, with vars describing the node, and returns the matches
// sorted by namespace and rule.
func (sc *Scanner) Scan(ctx context.Context, data []byte, vars Variables) ([]artifact.Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := sc.define(vars); err != nil {
		return nil, err
	}
	timeout := sc.timeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout || timeout == 0 {
			timeout = left
		}
	}
	if timeout < time.Second {
		timeout = time.Second // libyara counts whole seconds
	}
	var mr yara.MatchRules
	sc.s.SetTimeout(timeout).SetCallback(&mr)
	if err := sc.s.ScanMem(data); err != nil {
		return convert(mr), fmt.Errorf("rules: scan: %w", err)
	}
	return convert(mr), nil
}

// define sets the external variables that differ from those the scanner
// holds: each one set is a few cgo calls and a C string, and a build's nodes
// mostly share their type, parent type, extractor and depth.
func (sc *Scanner) define(vars Variables) error {
	held := sc.vars.pairs()
	for i, kv := range vars.pairs() {
		if sc.defined && held[i].value == kv.value {
			continue
		}
		if err := sc.s.DefineVariable(kv.name, kv.value); err != nil {
			sc.defined = false // some set, some not: set them all next time
			return fmt.Errorf("rules: set %s: %w", kv.name, err)
		}
	}
	sc.vars, sc.defined = vars, true
	return nil
}

func convert(mr yara.MatchRules) []artifact.Match {
	var out []artifact.Match
	for _, m := range mr {
		am := artifact.Match{Rule: m.Rule, Namespace: m.Namespace, Tags: m.Tags}
		if len(m.Metas) > 0 {
			am.Meta = map[string]string{}
			for _, meta := range m.Metas {
				am.Meta[meta.Identifier] = fmt.Sprint(meta.Value)
			}
		}
		for _, s := range m.Strings {
			am.Strings = append(am.Strings, artifact.MatchString{Name: s.Name, Offset: s.Base + s.Offset, Data: printable(s.Data)})
		}
		sort.SliceStable(am.Strings, func(i, j int) bool {
			if am.Strings[i].Offset != am.Strings[j].Offset {
				return am.Strings[i].Offset < am.Strings[j].Offset
			}
			return am.Strings[i].Name < am.Strings[j].Name
		})
		out = append(out, am)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Rule < out[j].Rule
	})
	return out
}

// printable renders matched bytes: as is when valid printable UTF-8, else Go-quoted.
func printable(b []byte) string {
	if utf8.Valid(b) {
		ok := true
		for _, r := range string(b) {
			if r < 0x20 || r == 0x7f {
				ok = false
				break
			}
		}
		if ok {
			return string(b)
		}
	}
	return strconv.Quote(string(b))
}
