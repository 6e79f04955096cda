// Package suggest proposes YARA strings for a new rule, as yarGen does: the
// ASCII and UTF-16LE strings found (after unpacking) in every positive file
// and in no negative one, ranked, written as a draft rule that a person edits.
package suggest

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tomscan/tomscan/internal/artifact"
	"github.com/tomscan/tomscan/internal/filetype"
	"github.com/tomscan/tomscan/rules"
	"github.com/tomscan/tomscan/rules/ruletest"
)

// Encodings a candidate was seen in.
const (
	ASCII = 1 << iota
	Wide
)

// Config says where to look.
type Config struct {
	Walker   ruletest.Walker
	Positive []string // files that must all contain a candidate
	Negative []string // files none of which may contain it
	MinLen   int      // shortest candidate, in characters
	// MaxPerFile bounds the distinct strings kept per positive file, so one
	// huge file cannot exhaust memory; the longest-lived are the first seen.
	MaxPerFile int
	// MaxCandidates bounds how many survive to the negative check (the best
	// ranked); the negative files are scanned once for all of them.
	MaxCandidates int
}

// Candidate is one proposed string.
type Candidate struct {
	Text      string  `json:"text"`
	Encodings int     `json:"encodings"` // ASCII|Wide bits
	Score     float64 `json:"score"`
}

// archive names the container types whose own bytes are compression or
// structure: their strings are entry names and packaging, not traits of the
// software, and their content is seen in their children anyway.
var archive = map[string]bool{
	filetype.ZIP: true, filetype.CAB: true, filetype.SevenZ: true, filetype.Gzip: true,
	filetype.Bzip2: true, filetype.XZ: true, filetype.RAR: true,
}

// maxRun is the longest string kept whole; longer runs are data, not names.
const maxRun = 256

// Suggest returns the ranked candidates, best first.
func Suggest(ctx context.Context, cfg Config) ([]Candidate, error) {
	if len(cfg.Positive) == 0 {
		return nil, fmt.Errorf("suggest: no positive files")
	}
	if cfg.MinLen < 4 {
		cfg.MinLen = 4
	}
	if cfg.MaxPerFile <= 0 {
		cfg.MaxPerFile = 500000
	}
	if cfg.MaxCandidates <= 0 {
		cfg.MaxCandidates = 5000
	}
	var common map[string]int
	for _, p := range cfg.Positive {
		seen := map[string]int{}
		_, err := cfg.Walker.Walk(ctx, p, func(n *artifact.Node, data []byte, _ rules.Variables) error {
			if archive[n.Type] {
				return ctx.Err()
			}
			Strings(data, cfg.MinLen, func(s string, enc int) {
				if _, ok := seen[s]; ok || len(seen) < cfg.MaxPerFile {
					seen[s] |= enc
				}
			})
			return ctx.Err()
		})
		if err != nil {
			return nil, fmt.Errorf("suggest: positive %s: %w", p, err)
		}
		if common == nil {
			common = seen
			continue
		}
		for s, enc := range common {
			if e, ok := seen[s]; ok {
				common[s] = enc | e
			} else {
				delete(common, s)
			}
		}
	}
	var cands []Candidate
	for s, enc := range common {
		cands = append(cands, Candidate{Text: s, Encodings: enc, Score: score(s)})
	}
	rank(cands)
	if len(cands) > cfg.MaxCandidates {
		cands = cands[:cfg.MaxCandidates]
	}
	if len(cands) == 0 || len(cfg.Negative) == 0 {
		return cands, nil
	}
	hit, err := negativeHits(ctx, cfg, cands)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for i, c := range cands {
		if !hit[i] {
			out = append(out, c)
		}
	}
	return out, nil
}

// negativeHits scans every negative file once with a rule per candidate
// (ASCII and wide, whatever the positives used: either form in goodware
// disqualifies it) and returns the candidates that matched.
func negativeHits(ctx context.Context, cfg Config, cands []Candidate) (map[int]bool, error) {
	var b strings.Builder
	for i, c := range cands {
		fmt.Fprintf(&b, "rule c%d { strings: $s = \"%s\" ascii wide condition: $s }\n", i, escape(c.Text))
	}
	set, err := rules.Compile(ctx, []rules.Source{{Namespace: "suggest", Path: "suggest:candidates", Text: []byte(b.String())}})
	if err != nil {
		return nil, fmt.Errorf("suggest: compile candidates: %w", err)
	}
	sc, err := set.NewScanner(time.Minute)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	hit := map[int]bool{}
	for _, p := range cfg.Negative {
		_, err := cfg.Walker.Walk(ctx, p, func(_ *artifact.Node, data []byte, vars rules.Variables) error {
			ms, err := sc.Scan(ctx, data, vars)
			for _, m := range ms {
				var i int
				if _, e := fmt.Sscanf(m.Rule, "c%d", &i); e == nil {
					hit[i] = true
				}
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("suggest: negative %s: %w", p, err)
		}
	}
	return hit, nil
}

// Strings calls fn for every printable ASCII run and every UTF-16LE run of
// printable ASCII characters of at least min characters in data, and for the
// tokens of each run split at separators (a host inside a URL, a file name
// inside a path), so that a string embedded in different text in different
// files is still found common to them.
func Strings(data []byte, min int, fn func(s string, enc int)) {
	emit := func(run []byte, enc int) {
		if len(run) < min || len(run) > maxRun {
			return
		}
		s := string(run)
		fn(s, enc)
		for _, tok := range strings.FieldsFunc(s, isSeparator) {
			if len(tok) >= min && tok != s {
				fn(tok, enc)
			}
		}
	}
	start := -1
	for i := 0; i <= len(data); i++ {
		if i < len(data) && printable(data[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			emit(data[start:i], ASCII)
			start = -1
		}
	}
	for parity := 0; parity < 2; parity++ {
		var run []byte
		for i := parity; i+1 < len(data)+2; i += 2 {
			if i+1 < len(data) && data[i+1] == 0 && printable(data[i]) {
				run = append(run, data[i])
				continue
			}
			emit(run, Wide)
			run = run[:0]
		}
	}
}

func printable(c byte) bool { return c >= 0x20 && c < 0x7f }

func isSeparator(r rune) bool {
	switch r {
	case ' ', '/', '\\', '?', '=', '&', ':', '"', '\'', ',', ';', '(', ')', '<', '>', '[', ']', '{', '}', '|', '\t':
		return true
	}
	return false
}

// score favours long, varied strings that look like names (hosts, paths,
// product names) over filler and hex dumps.
func score(s string) float64 {
	distinct := map[byte]bool{}
	letters, hexish := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		distinct[c] = true
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			letters++
		}
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
			hexish++
		}
	}
	n := len(s)
	if n > 64 {
		n = 64
	}
	sc := float64(n) + 2*float64(min(len(distinct), 20))
	if len(distinct) < 4 {
		sc -= 30
	}
	if hexish == len(s) {
		sc -= 20 // hex dumps and hashes: too specific to one build
	}
	if letters*2 < len(s) {
		sc -= 10
	}
	if strings.ContainsAny(s, ".-_") && letters > 0 {
		sc += 5 // hosts, file names, product names
	}
	return sc
}

func rank(c []Candidate) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Score != c[j].Score {
			return c[i].Score > c[j].Score
		}
		return c[i].Text < c[j].Text
	})
}

// escape writes s as the inside of a YARA double-quoted string.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case printable(c):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	return b.String()
}

// Draft is what WriteRule needs besides the candidates.
type Draft struct {
	Name      string // rule name
	Date      time.Time
	Positives []string
	Negatives int
	Max       int // strings to put in the rule
}

// WriteRule writes the best candidates as a draft rule, skipping any that
// contains, or is contained in, one already chosen (they would match the
// same bytes).
func WriteRule(w io.Writer, d Draft, cands []Candidate) error {
	var chosen []Candidate
	for _, c := range cands {
		if len(chosen) >= d.Max {
			break
		}
		overlap := false
		for _, k := range chosen {
			if strings.Contains(k.Text, c.Text) || strings.Contains(c.Text, k.Text) {
				overlap = true
				break
			}
		}
		if !overlap {
			chosen = append(chosen, c)
		}
	}
	example := ""
	if len(d.Positives) > 0 {
		base := filepath.Base(d.Positives[0])
		example = strings.TrimSuffix(base, filepath.Ext(base))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// Draft written by tomscan rules suggest: %d strings found in all %d positive files and in none of %d negative files.\n",
		len(chosen), len(d.Positives), d.Negatives)
	b.WriteString("// Edit before use: keep the strings that are traits of the family, not of one build, and fill in the meta.\n")
	fmt.Fprintf(&b, "rule %s\n{\n    meta:\n", d.Name)
	b.WriteString("        description = \"TODO: what these strings show\"\n")
	b.WriteString("        reference = \"TODO: the source that documents the trait\"\n")
	fmt.Fprintf(&b, "        date = \"%s\"\n", d.Date.UTC().Format("2006-01-02"))
	b.WriteString("        category = \"identity\" // identity | endpoint | filter-list | contrast\n")
	b.WriteString("        severity = \"medium\"\n")
	fmt.Fprintf(&b, "        example = \"%s\"\n", escape(example))
	b.WriteString("    strings:\n")
	for i, c := range chosen {
		mods := "ascii wide"
		switch c.Encodings {
		case ASCII:
			mods = "ascii"
		case Wide:
			mods = "wide"
		}
		fmt.Fprintf(&b, "        $s%02d = \"%s\" %s // score %.0f\n", i+1, escape(c.Text), mods, c.Score)
	}
	if len(chosen) == 0 {
		b.WriteString("        // no string is common to every positive file and absent from every negative one\n")
		b.WriteString("    condition:\n        false\n}\n")
	} else {
		b.WriteString("    condition:\n        any of them\n}\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
