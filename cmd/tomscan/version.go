package main

import (
	"fmt"
	"io"

	"github.com/tomscan/tomscan/internal/version"
	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/rules"
)

func toolInfo() reports.Tool {
	return reports.Tool{
		Name:         "tomscan",
		Version:      version.Version,
		Commit:       version.Commit,
		Dependencies: version.Dependencies(map[string]string{"libyara": rules.LibyaraVersion}),
	}
}

func cmdVersion(args []string, stdout io.Writer) error {
	fs := helpFlagSet("version", stdout)
	if err := fs.Parse(args); err != nil {
		return flagErr("version", err)
	}
	if fs.NArg() > 0 {
		return usagef("version: unexpected argument %q", fs.Arg(0))
	}
	t := toolInfo()
	fmt.Fprintf(stdout, "tomscan %s", t.Version)
	if t.Commit != "" {
		fmt.Fprintf(stdout, " (%s)", t.Commit)
	}
	fmt.Fprintf(stdout, "\nreport schema %s\n", reports.SchemaVersion)
	for _, k := range version.SortedKeys(t.Dependencies) {
		fmt.Fprintf(stdout, "%s %s\n", k, t.Dependencies[k])
	}
	return nil
}
