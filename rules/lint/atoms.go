package lint

import (
	"strconv"
	"strings"
)

// AtomLength approximates the longest fixed byte sequence of a string: the
// length libyara can build its atoms from. Text strings are fixed as a whole;
// hex strings are fixed between wildcards, jumps and alternatives; regular
// expressions between metacharacters.
func AtomLength(s String) int {
	n := 0
	switch s.Kind {
	case KindText:
		n = len(s.Value)
	case KindHex:
		return hexAtom(s.Value)
	case KindRegex:
		n = regexAtom(s.Value)
	}
	// A wide-only string is searched as UTF-16LE: two bytes per character.
	wide, ascii := false, false
	for _, m := range s.Modifiers {
		wide = wide || m == "wide"
		ascii = ascii || m == "ascii"
	}
	if wide && !ascii {
		n *= 2
	}
	return n
}

// hexAtom is the longest run of fully known bytes.
func hexAtom(body string) int {
	best, run, depth := 0, 0, 0
	i := 0
	for i < len(body) {
		c := body[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '(':
			depth++
			run = 0
		case c == ')':
			depth--
			run = 0
		case c == '|' || c == '[' || c == ']' || c == '-' || c == '~':
			run = 0
		case i+1 < len(body) && isHex(c) && isHex(body[i+1]) && depth == 0:
			run++
			if run > best {
				best = run
			}
			i += 2
			continue
		case i+1 < len(body) && (isHex(c) || c == '?') && (isHex(body[i+1]) || body[i+1] == '?'):
			run = 0
			i += 2
			continue
		default:
			run = 0
		}
		i++
	}
	return best
}

// regexAtom is the longest literal run; with alternation at the top level,
// the weakest branch decides.
func regexAtom(re string) int {
	branches := splitTopLevel(re)
	if len(branches) > 1 {
		min := -1
		for _, b := range branches {
			if n := regexAtom(b); min < 0 || n < min {
				min = n
			}
		}
		return min
	}
	best, run := 0, 0
	note := func() {
		if run > best {
			best = run
		}
	}
	i := 0
	for i < len(re) {
		c := re[i]
		lit := false
		width := 1
		switch c {
		case '\\':
			if i+1 < len(re) {
				e := re[i+1]
				width = 2
				switch e {
				case 'x':
					width = 4
					lit = true
				case 'w', 'W', 's', 'S', 'd', 'D', 'b', 'B':
				default:
					lit = true
				}
			}
		case '[':
			width = classEnd(re, i) - i
		case '(', ')', '|', '.', '^', '$':
		case '*', '+', '?', '{':
			// handled as a quantifier of the previous item below
		default:
			lit = true
		}
		if i+width > len(re) {
			width = len(re) - i
		}
		next := i + width
		// A quantifier after this item decides whether it stays in the run.
		if next < len(re) && (re[next] == '*' || re[next] == '?' || re[next] == '+' || re[next] == '{') {
			min, qw := quantifier(re, next)
			if lit && min >= 1 {
				run++
			}
			note()
			run = 0
			i = next + qw
			continue
		}
		if lit {
			run++
			note()
		} else {
			run = 0
		}
		i = next
	}
	note()
	return best
}

// splitTopLevel splits a regex at '|' outside groups and classes.
func splitTopLevel(re string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(re); i++ {
		switch re[i] {
		case '\\':
			i++
		case '[':
			i = classEnd(re, i) - 1
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, re[start:i])
				start = i + 1
			}
		}
	}
	return append(out, re[start:])
}

// classEnd returns the index just past the class that starts at i.
func classEnd(re string, i int) int {
	j := i + 1
	if j < len(re) && re[j] == '^' {
		j++
	}
	if j < len(re) && re[j] == ']' {
		j++
	}
	for j < len(re) {
		switch re[j] {
		case '\\':
			j += 2
			continue
		case ']':
			return j + 1
		}
		j++
	}
	return len(re)
}

// quantifier reads the quantifier at i and returns its minimum count and its
// width (a trailing '?' for laziness included).
func quantifier(re string, i int) (min, width int) {
	switch re[i] {
	case '*':
		min, width = 0, 1
	case '?':
		min, width = 0, 1
	case '+':
		min, width = 1, 1
	case '{':
		end := strings.IndexByte(re[i:], '}')
		if end < 0 {
			return 1, 1
		}
		body := re[i+1 : i+end]
		lo := body
		if k := strings.IndexByte(body, ','); k >= 0 {
			lo = body[:k]
		}
		n, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			n = 0
		}
		min, width = n, end+1
	}
	if i+width < len(re) && re[i+width] == '?' {
		width++
	}
	return min, width
}

// UnboundedRepetitions lists the repetitions without an upper bound in a
// regular expression (`.*`, `x+`, `[^x]*`, `{n,}`), each with the item it
// repeats. libyara scans such a repetition to the end of its window for every
// atom hit, which is what makes a rule slow.
func UnboundedRepetitions(re string) []string {
	var out []string
	itemStart := -1
	for i := 0; i < len(re); i++ {
		c := re[i]
		switch c {
		case '\\':
			itemStart = i
			i++
			if i < len(re) && re[i] == 'x' {
				i += 2
			}
			continue
		case '[':
			itemStart = i
			i = classEnd(re, i) - 1
			continue
		case '(':
			itemStart = -1
			continue
		case ')':
			itemStart = matchingOpen(re, i)
			continue
		case '*', '+':
			if itemStart >= 0 {
				out = append(out, "`"+re[itemStart:i+1]+"`")
			} else {
				out = append(out, "`"+string(c)+"`")
			}
			itemStart = -1
			continue
		case '{':
			end := strings.IndexByte(re[i:], '}')
			if end > 0 {
				body := re[i+1 : i+end]
				if k := strings.IndexByte(body, ','); k >= 0 && strings.TrimSpace(body[k+1:]) == "" {
					item := ""
					if itemStart >= 0 {
						item = re[itemStart:i]
					}
					out = append(out, "`"+item+re[i:i+end+1]+"`")
				}
				i += end
				itemStart = -1
				continue
			}
		case '?', '|', '^', '$':
			itemStart = -1
			continue
		}
		itemStart = i
	}
	return out
}

func matchingOpen(re string, close int) int {
	depth := 0
	for j := close; j >= 0; j-- {
		if j > 0 && re[j-1] == '\\' {
			continue
		}
		switch re[j] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// UnboundedJumps lists hex-string jumps without an upper bound: [-], [n-].
func UnboundedJumps(hex string) []string {
	var out []string
	for i := 0; i < len(hex); i++ {
		if hex[i] != '[' {
			continue
		}
		end := strings.IndexByte(hex[i:], ']')
		if end < 0 {
			break
		}
		body := strings.TrimSpace(hex[i+1 : i+end])
		if strings.HasSuffix(body, "-") {
			out = append(out, "["+body+"]")
		}
		i += end
	}
	return out
}
