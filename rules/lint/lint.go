package lint

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Finding codes, one per lint class.
const (
	CodeParse          = "parse"
	CodeUnboundedRegex = "unbounded-regex"
	CodeUnboundedJump  = "unbounded-jump"
	CodeShortAtom      = "short-atom"
	CodeMissingMeta    = "missing-meta"
	CodeBadMeta        = "bad-meta"
	CodeDuplicateRule  = "duplicate-rule"
	CodeUnusedString   = "unused-string"
	CodeUndefinedRef   = "undefined-string"
)

// Finding is one lint result, positioned at file:line.
type Finding struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Rule    string `json:"rule,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	if f.Rule != "" {
		return fmt.Sprintf("%s:%d: %s: rule %s: %s", f.File, f.Line, f.Code, f.Rule, f.Message)
	}
	return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Code, f.Message)
}

// Options choose what the lints demand.
type Options struct {
	// RequiredMeta are the meta keys every non-private rule must carry.
	RequiredMeta []string
	// MinAtom is the shortest acceptable fixed substring, in bytes.
	MinAtom int
}

// PackMeta is what the shipped pack requires of every rule (README "Rule meta").
var PackMeta = []string{"description", "reference", "date", "category", "severity", "example"}

// Categories and severities a rule may declare.
var (
	Categories = []string{"identity", "endpoint", "filter-list", "contrast"}
	Severities = []string{"info", "low", "medium", "high", "critical"}
)

// DefaultOptions are the pack's own standards.
func DefaultOptions() Options { return Options{RequiredMeta: PackMeta, MinAtom: 4} }

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// Check lints parsed files together (duplicate names are a property of the
// set) and returns the findings sorted by file, line and code.
func Check(files []*File, opts Options) []Finding {
	var out []Finding
	firstSeen := map[string]Finding{}
	for _, f := range files {
		for _, r := range f.Rules {
			if prev, ok := firstSeen[r.Name]; ok {
				out = append(out, Finding{File: f.Path, Line: r.Line, Rule: r.Name, Code: CodeDuplicateRule,
					Message: fmt.Sprintf("also defined at %s:%d (rule names must be unique across the set: reports and manifests name rules without namespace)", prev.File, prev.Line)})
			} else {
				firstSeen[r.Name] = Finding{File: f.Path, Line: r.Line}
			}
			out = append(out, checkRule(f.Path, r, opts)...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Code < b.Code
	})
	return out
}

func checkRule(path string, r Rule, opts Options) []Finding {
	var out []Finding
	add := func(line int, code, format string, a ...any) {
		out = append(out, Finding{File: path, Line: line, Rule: r.Name, Code: code, Message: fmt.Sprintf(format, a...)})
	}
	private := false
	for _, m := range r.Modifiers {
		if m == "private" {
			private = true
		}
	}
	meta := map[string][]Meta{}
	for _, m := range r.Meta {
		meta[m.Key] = append(meta[m.Key], m)
	}
	if !private {
		for _, k := range opts.RequiredMeta {
			if len(meta[k]) == 0 {
				add(r.Line, CodeMissingMeta, "no %q in meta", k)
			}
		}
	}
	for _, m := range meta["category"] {
		if !contains(Categories, m.Value) {
			add(m.Line, CodeBadMeta, "category %q is not one of %s", m.Value, strings.Join(Categories, ", "))
		}
	}
	for _, m := range meta["severity"] {
		if !contains(Severities, m.Value) {
			add(m.Line, CodeBadMeta, "severity %q is not one of %s", m.Value, strings.Join(Severities, ", "))
		}
	}
	for _, m := range meta["date"] {
		if !dateRE.MatchString(m.Value) {
			add(m.Line, CodeBadMeta, "date %q is not YYYY-MM-DD", m.Value)
		}
	}
	for _, k := range []string{"description", "reference", "example"} {
		for _, m := range meta[k] {
			if strings.TrimSpace(m.Value) == "" {
				add(m.Line, CodeBadMeta, "%s is empty", k)
			}
		}
	}

	for _, s := range r.Strings {
		switch s.Kind {
		case KindRegex:
			for _, u := range UnboundedRepetitions(s.Value) {
				add(s.Line, CodeUnboundedRegex, "%s: %s: use a bounded repetition such as {0,64}", s.ID, u)
			}
		case KindHex:
			for _, j := range UnboundedJumps(s.Value) {
				add(s.Line, CodeUnboundedJump, "%s: jump %s has no upper bound", s.ID, j)
			}
		}
		if n := AtomLength(s); n < opts.MinAtom {
			add(s.Line, CodeShortAtom, "%s: longest fixed substring is %d bytes (< %d): libyara cannot pick a selective atom and checks it everywhere", s.ID, n, opts.MinAtom)
		}
	}

	defined := map[string]bool{}
	for _, s := range r.Strings {
		defined[strings.TrimPrefix(s.ID, "$")] = true
	}
	usesAll := false
	for _, ref := range r.Refs {
		if ref.Text == "them" || ref.Text == "$*" {
			usesAll = true
		}
	}
	for _, s := range r.Strings {
		name := strings.TrimPrefix(s.ID, "$")
		if name == "" || usesAll || used(name, r.Refs) {
			continue
		}
		add(s.Line, CodeUnusedString, "%s is not used by the condition", s.ID)
	}
	for _, ref := range r.Refs {
		if ref.Text == "them" || strings.HasSuffix(ref.Text, "*") {
			continue
		}
		name := ref.Text[1:]
		if name != "" && !defined[name] {
			add(ref.Line, CodeUndefinedRef, "condition refers to %s, which the strings section does not define", ref.Text)
		}
	}
	return out
}

func used(name string, refs []Ref) bool {
	for _, ref := range refs {
		t := ref.Text
		if strings.HasSuffix(t, "*") {
			if strings.HasPrefix(name, t[1:len(t)-1]) {
				return true
			}
			continue
		}
		if t[1:] == name {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
