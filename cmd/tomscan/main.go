// Command tomscan scans Windows installers for TOM-Skype: it unpacks them,
// analyses every PE, applies YARA rules and the TOM-Skype analysers, and
// writes one report per build into an archive. This file only turns flags
// into configuration; the work happens in internal/pipeline.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tomscan/tomscan/internal/hugepages"
	"github.com/tomscan/tomscan/reports"
)

// Exit codes (README "Exit codes").
const (
	exitOK          = 0 // every build succeeded or was partial
	exitBuildFailed = 1 // at least one build failed (its report says why)
	exitUsage       = 2 // bad flags, bad limits, a rule file that does not compile
	exitRuntime     = 3 // the run itself could not go on: output not writable, interrupted
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == workerCommand {
		// A worker ignores interruption: its parent decides (see worker.Serve).
		stopProfile := startProfile(true)
		code := cmdWorker(context.Background(), os.Stderr)
		stopProfile()
		os.Exit(code)
	}
	if _, err := hugepages.PrepareHeap(hugepages.HeapBytes); err != nil {
		fmt.Fprintf(os.Stderr, "tomscan: %v\n", err) // a missed speed-up, nothing more
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal the run winds down (builds in flight are
		// not archived, the index is written); a second one ends it at once.
		<-ctx.Done()
		stop()
	}()
	stopProfile := startProfile(false)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

const usage = `usage: tomscan <command> [flags]

commands:
  scan PATH... --out DIR   scan installers and write one report per build
  rules check|test|bench|suggest  lint, measure, time and draft YARA rules
  merge OUT SHARD...       merge shard archives (scan --shard i/n) into one archive
  report --out DIR         re-render every build's pages and the archive index from the JSON
  query --out DIR ...      builds by --verdict, --endpoint, --keyword, --keyword-history, or --sql SELECT
  diff A B [--out DIR]     compare two builds (sha256 prefix or report.json): text, json or html
  export --out DIR --format csv|ndjson|stix   the archive as a spreadsheet, JSON lines or a STIX 2.1 bundle
  version, --version       print tomscan's and its dependencies' versions
  completion bash|zsh      print a shell completion script
  help [COMMAND]           this list, or a command's help

Run 'tomscan <command> -h' for a command's synopsis, flags and examples.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	code := exitOK
	switch args[0] {
	case "scan":
		code, err = cmdScan(ctx, args[1:], stdout, stderr)
	case "rules":
		code, err = cmdRules(ctx, args[1:], stdout, stderr)
	case "report":
		code, err = cmdReport(ctx, args[1:], stdout, stderr)
	case "merge":
		code, err = cmdMerge(ctx, args[1:], stdout, stderr)
	case "query":
		code, err = cmdQuery(ctx, args[1:], stdout, stderr)
	case "diff":
		code, err = cmdDiff(ctx, args[1:], stdout, stderr)
	case "export":
		code, err = cmdExport(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		err = cmdVersion(args[1:], stdout)
	case "completion":
		code, err = cmdCompletion(ctx, args[1:], stdout, stderr)
	case "help":
		code, err = cmdHelp(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		err = usagef("unknown command %q: run 'tomscan help' for the list", args[0])
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "tomscan: %s\n", terminalLines(oneLine(ue.msg, args)))
			return exitUsage
		}
		fmt.Fprintf(stderr, "tomscan: %s\n", terminalLines(err.Error()))
		if code == exitOK {
			code = exitRuntime
		}
	}
	return code
}

// terminalLines escapes each line of a message for the terminal: errors quote
// paths and names from outside (a file name can hold an escape sequence).
func terminalLines(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		lines[i] = reports.Terminal(l)
	}
	return strings.Join(lines, "\n")
}
