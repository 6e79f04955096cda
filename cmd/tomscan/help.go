package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// cmdDoc is what `tomscan CMD -h` says besides the flags.
type cmdDoc struct {
	synopsis string
	about    string
	examples [2]string
}

// docs holds every command's help; the keys are the command paths.
var docs = map[string]cmdDoc{
	"scan": {"tomscan scan PATH... --out DIR [flags]",
		"Scan installers (files, or folders walked in sorted order) and write one report per build into the archive DIR. builds/<sha256>/report.json is always written: it is the archive's record; --format adds the md and html pages.",
		[2]string{"tomscan scan corpus/out/builds --out archive",
			"tomscan scan setup.exe --out archive --keyword-lists ../shared/data/tom-skype-keyword-lists --ndjson | jq .verdict"}},
	"merge": {"tomscan merge OUT SHARD... [--quiet]",
		"Merge archives (the --out folders of scan --shard i/n runs) into the archive OUT: reports copied byte for byte, the index merged and written canonically, index.html rendered. The result is byte-identical to one scan of all the inputs.",
		[2]string{"tomscan merge archive shard-0 shard-1 shard-2 shard-3", "tomscan merge /srv/tomscan/archive /srv/tomscan/shards/*"}},
	"report": {"tomscan report --out DIR",
		"Re-render every build's Markdown and HTML page and the archive index from the archived JSON, without rescanning.",
		[2]string{"tomscan report --out archive", "tomscan report --out /srv/tomscan/archive"}},
	"query": {"tomscan query --out DIR (--verdict K | --endpoint TEXT | --keyword TEXT | --keyword-history TEXT | --sql SELECT) [flags]",
		"Ask the archive's index. Text filters match a case-insensitive substring (ASCII letters), or the whole value with --exact; one row per build.",
		[2]string{"tomscan query --out archive --endpoint tom.com", "tomscan query --out archive --sql \"SELECT sha256, kind FROM builds\" --json"}},
	"diff": {"tomscan diff A B [--out DIR] [--format text|json|html]",
		"Compare two builds: each a sha256 prefix in the archive (--out), a report.json or a build folder.",
		[2]string{"tomscan diff 1a2b 3c4d --out archive", "tomscan diff archive/builds/<sha256>/report.json other.json --format html > diff.html"}},
	"export": {"tomscan export --out DIR --format csv|ndjson|stix [flags]",
		"Write the archive's builds to stdout as CSV (one row per build, or per keyword with --keywords), NDJSON (one JSON object per line) or a STIX 2.1 bundle (TOM-Skype builds: indicators for file hashes and endpoints).",
		[2]string{"tomscan export --out archive --format csv > builds.csv", "tomscan export --out archive --format stix --verdict tom-skype-chinese > tom.stix2"}},
	"version": {"tomscan version (or tomscan --version)",
		"Print tomscan's version and commit, the report schema version, and the versions of the libraries that shape reports.",
		[2]string{"tomscan version", "tomscan --version"}},
	"completion": {"tomscan completion bash|zsh",
		"Print a shell completion script for commands, subcommands and flags.",
		[2]string{"source <(tomscan completion bash)", "tomscan completion zsh > \"${fpath[1]}/_tomscan\""}},
	"rules check": {"tomscan rules check [PATH...] [flags]",
		"Compile rule files or folders (default: the shipped pack; testdata folders are skipped) and lint them.",
		[2]string{"tomscan rules check rules/", "tomscan rules check --strict --json my-rules/"}},
	"rules test": {"tomscan rules test [--corpus DIR] [--real DIR] [flags]",
		"Scan the corpus and the real files; per rule TP/FP/FN, precision and recall against the manifest.",
		[2]string{"tomscan rules test --corpus corpus/out --real corpus/real", "tomscan rules test --corpus corpus/out --rules my-rules/ --json"}},
	"rules bench": {"tomscan rules bench [--corpus DIR] [flags]",
		"Each rule's CPU cost over the corpus nodes, slowest first, against a measured baseline and noise floor.",
		[2]string{"tomscan rules bench --corpus corpus/out", "tomscan rules bench --corpus corpus/out --rules my-rules/ --rounds 20 --json"}},
	"rules suggest": {"tomscan rules suggest --positive DIR --negative DIR [flags]",
		"Draft a rule from strings found in every positive file and no negative one.",
		[2]string{"tomscan rules suggest --positive tom-builds/ --negative regular-builds/",
			"tomscan rules suggest --positive tom-builds/ --negative corpus/real/files --json"}},
}

// helpOutput records whether the flag package wrote an error: it then calls
// Usage too, and a usage error must stay one line (the caller's), while -h
// must print the whole help.
type helpOutput struct{ wrote bool }

func (h *helpOutput) Write(p []byte) (int, error) { h.wrote = true; return len(p), nil }

// installHelp makes fs print name's help to stdout on -h, and nothing on a
// parse error (the command reports that error in one line).
func installHelp(fs *flag.FlagSet, name string, stdout io.Writer) {
	rec := &helpOutput{}
	fs.SetOutput(rec)
	fs.Usage = func() {
		if rec.wrote {
			return
		}
		printHelp(stdout, name, fs)
	}
}

// printHelp writes the synopsis, what the command does, every flag with its
// default, and two examples.
func printHelp(w io.Writer, name string, fs *flag.FlagSet) {
	d := docs[name]
	fmt.Fprintf(w, "usage: %s\n\n%s\n\nflags:\n", d.synopsis, d.about)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + arg
		}
		def := f.DefValue
		switch {
		case def == "":
			def = "none"
		case isStringFlag(f):
			def = fmt.Sprintf("%q", def)
		}
		if strings.Contains(usage, "(default") {
			// the usage already says what the default means
			fmt.Fprintf(w, "  --%s%s\n      %s\n", f.Name, arg, usage)
			return
		}
		fmt.Fprintf(w, "  --%s%s\n      %s (default: %s)\n", f.Name, arg, usage, def)
	})
	fmt.Fprintf(w, "\nexamples:\n  %s\n  %s\n", d.examples[0], d.examples[1])
}

func isStringFlag(f *flag.Flag) bool {
	type getter interface{ Get() any }
	g, ok := f.Value.(getter)
	if !ok {
		return false
	}
	_, s := g.Get().(string)
	return s
}

// helpFlagSet is the flag set of commands without flags of their own.
func helpFlagSet(name string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	installHelp(fs, name, stdout)
	return fs
}

// cmdHelp is `tomscan help [COMMAND...]`: the command list, or one
// command's help (the same as `tomscan COMMAND -h`).
func cmdHelp(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return exitOK, nil
	}
	name := strings.Join(args, " ")
	if _, ok := docs[name]; !ok && name != "rules" {
		return exitUsage, usagef("help: unknown command %q: run 'tomscan help' for the list", name)
	}
	return run(ctx, append(append([]string(nil), args...), "-h"), stdout, stderr), nil
}

// commandFlags lists each command's flags by asking the command itself for
// its help: one source of truth for help and completion.
func commandFlags(ctx context.Context) map[string][]string {
	out := map[string][]string{}
	for name := range docs {
		var buf bytes.Buffer
		run(ctx, append(strings.Fields(name), "-h"), &buf, io.Discard)
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.HasPrefix(line, "  --") {
				out[name] = append(out[name], strings.Fields(line)[0])
			}
		}
		sort.Strings(out[name])
	}
	return out
}

// cmdCompletion prints a bash or zsh completion script.
func cmdCompletion(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := helpFlagSet("completion", stdout)
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return parseExit(flagErr("completion", err))
	}
	if len(rest) != 1 || (rest[0] != "bash" && rest[0] != "zsh") {
		return exitUsage, usagef("completion: give the shell: tomscan completion bash|zsh")
	}
	flags := commandFlags(ctx)
	var top, sub []string
	for name := range docs {
		if f := strings.Fields(name); len(f) == 1 {
			top = append(top, name)
		} else {
			sub = append(sub, f[1])
		}
	}
	top = append(top, "rules", "help")
	sort.Strings(top)
	sort.Strings(sub)
	var cases strings.Builder
	keys := make([]string, 0, len(flags))
	for k := range flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&cases, "    %q) flags=%q ;;\n", k, strings.Join(flags[k], " "))
	}
	if rest[0] == "bash" {
		fmt.Fprintf(stdout, bashCompletion, strings.Join(top, " "), strings.Join(sub, " "), cases.String())
	} else {
		fmt.Fprintf(stdout, zshCompletion, strings.Join(top, " "), strings.Join(sub, " "), cases.String())
	}
	return exitOK, nil
}

const bashCompletion = `# bash completion for tomscan: source <(tomscan completion bash)
_tomscan() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} flags=""
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "%s" -- "$cur")); return
  fi
  if [[ $cmd == rules ]]; then
    if [[ $COMP_CWORD -eq 2 ]]; then
      COMPREPLY=($(compgen -W "%s" -- "$cur")); return
    fi
    cmd="rules ${COMP_WORDS[2]}"
  fi
  case "$cmd" in
%s  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _tomscan tomscan
`

const zshCompletion = `#compdef tomscan
# zsh completion for tomscan: tomscan completion zsh > "${fpath[1]}/_tomscan"
_tomscan() {
  local cmd=${words[2]} flags=""
  if (( CURRENT == 2 )); then
    compadd -- %s; return
  fi
  if [[ $cmd == rules ]]; then
    if (( CURRENT == 3 )); then
      compadd -- %s; return
    fi
    cmd="rules ${words[3]}"
  fi
  case "$cmd" in
%s  esac
  if [[ ${words[CURRENT]} == -* ]]; then
    compadd -- ${=flags}
  else
    _files
  fi
}
compdef _tomscan tomscan
`

// flagErr turns a flag-parsing error into the exit path: nil after -h
// (help was printed), else a one-line usage error that says where help is.
func flagErr(name string, err error) error {
	if err == nil || err == flag.ErrHelp {
		return nil
	}
	return usagef("%s: %v (run 'tomscan %s -h')", name, err, name)
}
