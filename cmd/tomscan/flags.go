package main

import (
	"flag"
	"fmt"
	"strings"
)

// multiFlag is a repeatable string flag (--rules DIR --rules DIR2).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parseInterleaved parses flags that may come before, between or after the
// positional arguments (`tomscan scan DIR --out OUT`), which the flag package
// alone does not do. "--" ends flag parsing.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		// fs.Parse stops at the first positional argument; it may also have
		// consumed a literal "--" just before it, which Args hides.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError marks errors that exit with code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// oneLine is a usage error as it is printed: with where to read the
// command's help when the message does not say. A message of several lines
// (every file:line of a rule file that does not compile) is printed whole.
func oneLine(msg string, args []string) string {
	if strings.Contains(msg, "\n") || strings.Contains(msg, "tomscan ") {
		return msg
	}
	cmd := args[0]
	if cmd == "rules" && len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		cmd += " " + args[1]
	}
	return msg + " (run 'tomscan " + cmd + " -h')"
}
