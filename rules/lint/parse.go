// Package lint reads YARA rule files with a small parser of its own (enough of
// the grammar for rules and their meta, strings and condition sections) and
// reports what makes a rule slow, fragile or undocumented: unbounded regular
// expressions, short atoms, missing meta, duplicate names, unused strings.
//
// libyara says whether a file compiles; it does not expose the parsed rule, so
// these checks need their own reading of the text. The parser is tolerant of
// what it does not need (conditions are kept as text and only scanned for
// string references) and strict about structure, so a file it cannot read
// yields a positioned error instead of a guess.
package lint

import (
	"fmt"
	"strings"
)

// File is one parsed rule file.
type File struct {
	Path    string
	Imports []string
	Rules   []Rule
}

// Rule is one rule as written.
type Rule struct {
	Name      string
	Line      int
	Start     int      // byte offset of the first modifier or of "rule"
	End       int      // byte offset just past the closing brace
	Modifiers []string // private, global
	Tags      []string
	Meta      []Meta
	Strings   []String
	Condition string
	CondLine  int
	Refs      []Ref // string references in the condition
}

// Meta is one meta entry; Value holds the literal text without quotes.
type Meta struct {
	Key   string
	Value string
	Kind  string // "string", "int", "bool"
	Line  int
}

// String kinds.
const (
	KindText  = "text"
	KindHex   = "hex"
	KindRegex = "regex"
)

// String is one entry of the strings section.
type String struct {
	ID        string // with its "$"; "$" alone for anonymous strings
	Kind      string
	Value     string // text: unescaped; hex: between the braces; regex: between the slashes
	Flags     string // regex flags after the closing slash (i, s)
	Modifiers []string
	Line      int
}

// Ref is one reference to strings in a condition: "$a", "$a*", "#a", "@a",
// "!a", "$*" or "them".
type Ref struct {
	Text string
	Line int
}

// ParseError is a parse failure at a line.
type ParseError struct {
	Path string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg) }

// maxRules bounds what one file may declare, so hostile input cannot make the
// parser allocate without limit.
const maxRules = 100000

// Parse reads a whole rule file.
func Parse(path string, src []byte) (*File, error) {
	p := &parser{path: path, src: src, line: 1}
	f := &File{Path: path}
	for {
		if err := p.skip(); err != nil {
			return f, err
		}
		if p.eof() {
			return f, nil
		}
		start, startLine := p.pos, p.line
		word := p.ident()
		switch word {
		case "import", "include":
			s, err := p.quoted()
			if err != nil {
				return f, err
			}
			if word == "import" {
				f.Imports = append(f.Imports, s)
			}
		case "private", "global", "rule":
			if len(f.Rules) >= maxRules {
				return f, p.errf("more than %d rules", maxRules)
			}
			r, err := p.rule(word, start, startLine)
			if err != nil {
				return f, err
			}
			f.Rules = append(f.Rules, r)
		case "":
			return f, p.errf("unexpected %q", p.peekRune())
		default:
			return f, p.errf("unexpected %q: want import, include or rule", word)
		}
	}
}

type parser struct {
	path string
	src  []byte
	pos  int
	line int
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

func (p *parser) peekRune() string {
	if p.eof() {
		return "end of file"
	}
	return string(p.src[p.pos])
}

func (p *parser) advance() byte {
	c := p.src[p.pos]
	p.pos++
	if c == '\n' {
		p.line++
	}
	return c
}

func (p *parser) errf(format string, a ...any) error {
	return &ParseError{Path: p.path, Line: p.line, Msg: fmt.Sprintf(format, a...)}
}

// skip passes white space and comments.
func (p *parser) skip() error {
	for !p.eof() {
		c := p.peek()
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v':
			p.advance()
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/':
			for !p.eof() && p.peek() != '\n' {
				p.advance()
			}
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '*':
			line := p.line
			p.advance()
			p.advance()
			for {
				if p.eof() {
					return &ParseError{Path: p.path, Line: line, Msg: "unterminated comment"}
				}
				if p.peek() == '*' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/' {
					p.advance()
					p.advance()
					break
				}
				p.advance()
			}
		default:
			return nil
		}
	}
	return nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// ident reads an identifier, or returns "" without moving.
func (p *parser) ident() string {
	if p.eof() || !isIdentStart(p.peek()) {
		return ""
	}
	start := p.pos
	for !p.eof() && isIdentChar(p.peek()) {
		p.advance()
	}
	return string(p.src[start:p.pos])
}

func (p *parser) expect(c byte) error {
	if err := p.skip(); err != nil {
		return err
	}
	if p.peek() != c || p.eof() {
		return p.errf("want %q, got %q", c, p.peekRune())
	}
	p.advance()
	return nil
}

// quoted reads a double-quoted string literal and returns it unescaped.
func (p *parser) quoted() (string, error) {
	if err := p.skip(); err != nil {
		return "", err
	}
	if p.peek() != '"' {
		return "", p.errf("want a quoted string, got %q", p.peekRune())
	}
	line := p.line
	p.advance()
	var b strings.Builder
	for {
		if p.eof() || p.peek() == '\n' {
			return "", &ParseError{Path: p.path, Line: line, Msg: "unterminated string"}
		}
		c := p.advance()
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.eof() {
				return "", &ParseError{Path: p.path, Line: line, Msg: "unterminated string"}
			}
			e := p.advance()
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'x':
				if p.pos+2 > len(p.src) || !isHex(p.src[p.pos]) || !isHex(p.src[p.pos+1]) {
					return "", p.errf("bad \\x escape")
				}
				b.WriteByte(unhex(p.src[p.pos])<<4 | unhex(p.src[p.pos+1]))
				p.advance()
				p.advance()
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// sectionAhead tells whether an identifier followed by ':' starts here (a
// section header), without moving.
func (p *parser) sectionAhead() (string, bool) {
	save, saveLine := p.pos, p.line
	defer func() { p.pos, p.line = save, saveLine }()
	w := p.ident()
	if w == "" {
		return "", false
	}
	if p.skip() != nil {
		return "", false
	}
	return w, p.peek() == ':'
}

func (p *parser) rule(first string, start, startLine int) (Rule, error) {
	r := Rule{Start: start, Line: startLine}
	word := first
	for word == "private" || word == "global" {
		r.Modifiers = append(r.Modifiers, word)
		if err := p.skip(); err != nil {
			return r, err
		}
		word = p.ident()
	}
	if word != "rule" {
		return r, p.errf("want rule, got %q", word)
	}
	if err := p.skip(); err != nil {
		return r, err
	}
	r.Line = p.line
	r.Name = p.ident()
	if r.Name == "" {
		return r, p.errf("rule without a name")
	}
	if err := p.skip(); err != nil {
		return r, err
	}
	if p.peek() == ':' {
		p.advance()
		for {
			if err := p.skip(); err != nil {
				return r, err
			}
			t := p.ident()
			if t == "" {
				break
			}
			r.Tags = append(r.Tags, t)
		}
	}
	if err := p.expect('{'); err != nil {
		return r, err
	}
	seen := map[string]bool{}
	for {
		if err := p.skip(); err != nil {
			return r, err
		}
		if p.eof() {
			return r, &ParseError{Path: p.path, Line: r.Line, Msg: fmt.Sprintf("rule %s: unterminated", r.Name)}
		}
		if p.peek() == '}' {
			p.advance()
			r.End = p.pos
			if !seen["condition"] {
				return r, p.errf("rule %s: no condition section", r.Name)
			}
			return r, nil
		}
		sec := p.ident()
		if sec == "" {
			return r, p.errf("rule %s: unexpected %q", r.Name, p.peekRune())
		}
		if seen[sec] {
			return r, p.errf("rule %s: second %s section", r.Name, sec)
		}
		seen[sec] = true
		if err := p.expect(':'); err != nil {
			return r, err
		}
		var err error
		switch sec {
		case "meta":
			err = p.meta(&r)
		case "strings":
			err = p.strings(&r)
		case "condition":
			err = p.condition(&r)
			if err == nil {
				r.End = p.pos
				return r, nil
			}
		default:
			err = p.errf("rule %s: unknown section %q", r.Name, sec)
		}
		if err != nil {
			return r, err
		}
	}
}

func (p *parser) meta(r *Rule) error {
	for {
		if err := p.skip(); err != nil {
			return err
		}
		if p.eof() || p.peek() == '}' {
			return nil
		}
		if _, ok := p.sectionAhead(); ok {
			return nil
		}
		line := p.line
		key := p.ident()
		if key == "" {
			return p.errf("rule %s: meta: want an identifier, got %q", r.Name, p.peekRune())
		}
		if err := p.expect('='); err != nil {
			return err
		}
		if err := p.skip(); err != nil {
			return err
		}
		m := Meta{Key: key, Line: line}
		switch c := p.peek(); {
		case c == '"':
			s, err := p.quoted()
			if err != nil {
				return err
			}
			m.Value, m.Kind = s, "string"
		case c == '-' || (c >= '0' && c <= '9'):
			start := p.pos
			p.advance()
			for !p.eof() && (isIdentChar(p.peek())) {
				p.advance()
			}
			m.Value, m.Kind = string(p.src[start:p.pos]), "int"
		default:
			w := p.ident()
			if w != "true" && w != "false" {
				return p.errf("rule %s: meta %s: want a string, number or boolean", r.Name, key)
			}
			m.Value, m.Kind = w, "bool"
		}
		r.Meta = append(r.Meta, m)
	}
}

func (p *parser) strings(r *Rule) error {
	for {
		if err := p.skip(); err != nil {
			return err
		}
		if p.eof() || p.peek() == '}' {
			return nil
		}
		if p.peek() != '$' {
			if _, ok := p.sectionAhead(); ok {
				return nil
			}
			return p.errf("rule %s: strings: want $name, got %q", r.Name, p.peekRune())
		}
		line := p.line
		p.advance()
		s := String{ID: "$" + p.ident(), Line: line}
		if err := p.expect('='); err != nil {
			return err
		}
		if err := p.skip(); err != nil {
			return err
		}
		switch p.peek() {
		case '"':
			v, err := p.quoted()
			if err != nil {
				return err
			}
			s.Kind, s.Value = KindText, v
		case '{':
			p.advance()
			start := p.pos
			for !p.eof() && p.peek() != '}' {
				p.advance()
			}
			if p.eof() {
				return &ParseError{Path: p.path, Line: line, Msg: fmt.Sprintf("rule %s: %s: unterminated hex string", r.Name, s.ID)}
			}
			s.Kind, s.Value = KindHex, strings.TrimSpace(string(p.src[start:p.pos]))
			p.advance()
		case '/':
			v, flags, err := p.regex()
			if err != nil {
				return err
			}
			s.Kind, s.Value, s.Flags = KindRegex, v, flags
		default:
			return p.errf("rule %s: %s: want a string, hex string or regex", r.Name, s.ID)
		}
		if err := p.stringModifiers(&s); err != nil {
			return err
		}
		r.Strings = append(r.Strings, s)
	}
}

// regex reads /.../flags; slashes inside classes and after a backslash do
// not end it.
func (p *parser) regex() (string, string, error) {
	line := p.line
	p.advance() // '/'
	start := p.pos
	inClass := false
	for {
		if p.eof() || p.peek() == '\n' {
			return "", "", &ParseError{Path: p.path, Line: line, Msg: "unterminated regular expression"}
		}
		c := p.advance()
		switch {
		case c == '\\':
			if !p.eof() && p.peek() != '\n' {
				p.advance()
			}
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		case c == '/' && !inClass:
			body := string(p.src[start : p.pos-1])
			fstart := p.pos
			for !p.eof() && (p.peek() == 'i' || p.peek() == 's') {
				p.advance()
			}
			return body, string(p.src[fstart:p.pos]), nil
		}
	}
}

func (p *parser) stringModifiers(s *String) error {
	for {
		if err := p.skip(); err != nil {
			return err
		}
		if p.eof() || !isIdentStart(p.peek()) {
			return nil
		}
		if _, ok := p.sectionAhead(); ok {
			return nil
		}
		s.Modifiers = append(s.Modifiers, p.ident())
		if err := p.skip(); err != nil {
			return err
		}
		if p.peek() == '(' {
			if err := p.balanced(); err != nil {
				return err
			}
		}
	}
}

// balanced passes a parenthesised argument list (xor(1-255), base64("...")).
func (p *parser) balanced() error {
	depth := 0
	line := p.line
	for !p.eof() {
		switch p.peek() {
		case '"':
			if _, err := p.quoted(); err != nil {
				return err
			}
			continue
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				p.advance()
				return nil
			}
		}
		p.advance()
	}
	return &ParseError{Path: p.path, Line: line, Msg: "unbalanced parentheses"}
}

// condition reads up to the rule's closing brace, collecting string
// references; quoted strings and regular expressions in it are passed over so
// that a brace or "$" inside them is not taken for structure.
func (p *parser) condition(r *Rule) error {
	if err := p.skip(); err != nil {
		return err
	}
	r.CondLine = p.line
	start := p.pos
	lastWord := ""
	for {
		if err := p.skip(); err != nil {
			return err
		}
		if p.eof() {
			return &ParseError{Path: p.path, Line: r.Line, Msg: fmt.Sprintf("rule %s: unterminated condition", r.Name)}
		}
		c := p.peek()
		switch {
		case c == '}':
			r.Condition = strings.TrimSpace(string(p.src[start:p.pos]))
			p.advance()
			return nil
		case c == '"':
			if _, err := p.quoted(); err != nil {
				return err
			}
			lastWord = ""
		case c == '/' && lastWord == "matches":
			if _, _, err := p.regex(); err != nil {
				return err
			}
			lastWord = ""
		case c == '$' || c == '#' || c == '@' || c == '!':
			line := p.line
			p.advance()
			if c == '!' && (p.peek() == '=' || !isIdentStart(p.peek())) {
				lastWord = ""
				continue
			}
			name := p.ident()
			ref := string(c) + name
			if c == '$' && p.peek() == '*' {
				p.advance()
				ref += "*"
			}
			r.Refs = append(r.Refs, Ref{Text: ref, Line: line})
			lastWord = ""
		case isIdentStart(c):
			line := p.line
			lastWord = p.ident()
			if lastWord == "them" {
				r.Refs = append(r.Refs, Ref{Text: "them", Line: line})
			}
		default:
			p.advance()
			lastWord = ""
		}
	}
}
