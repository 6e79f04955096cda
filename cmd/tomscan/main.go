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
		os.Exit(cmdWorker(context.Background(), os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal the run winds down (builds in flight are
		// not archived, the index is written); a second one ends it at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: tomscan <command> [flags]

commands:
  scan PATH... --out DIR   scan installers and write one report per build
  rules check|test|bench|suggest  lint, measure, time and draft YARA rules
  report --out DIR         re-render every build's pages and the archive index from the JSON
  query --out DIR ...      builds by --verdict, --endpoint, --keyword, --keyword-history, or --sql SELECT
  diff A B [--out DIR]     compare two builds (sha256 prefix or report.json): text, json or html
  version                  print tomscan's and its dependencies' versions

Run 'tomscan <command> -h' for a command's flags.
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
	case "query":
		code, err = cmdQuery(ctx, args[1:], stdout, stderr)
	case "diff":
		code, err = cmdDiff(ctx, args[1:], stdout, stderr)
	case "version":
		err = cmdVersion(args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		err = usagef("unknown command %q\n%s", args[0], usage)
	}
	if err != nil {
		// Errors quote paths and names from outside: escaped, line by line.
		lines := strings.Split(err.Error(), "\n")
		for i, l := range lines {
			lines[i] = reports.Terminal(l)
		}
		fmt.Fprintf(stderr, "tomscan: %s\n", strings.Join(lines, "\n"))
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		if code == exitOK {
			code = exitRuntime
		}
	}
	return code
}
