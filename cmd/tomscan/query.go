package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
)

// cmdQuery answers questions from the archive's index: presets for the
// common ones, read-only SQL for the rest.
func cmdQuery(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		out     = fs.String("out", "", "archive folder (required)")
		verdict = fs.String("verdict", "", "builds with this verdict kind (tom-skype-english, regular-skype, ...)")
		host    = fs.String("endpoint", "", "builds carrying this endpoint host (or a URL containing it)")
		keyword = fs.String("keyword", "", "builds whose keyword lists hold this keyword")
		history = fs.String("keyword-history", "", "every build with keyword lists, in version order, and whether it holds this keyword")
		sqlText = fs.String("sql", "", "one read-only SELECT on index.sqlite (tables: builds, nodes, matches, endpoints, keywords)")
		asJSON  = fs.Bool("json", false, "print a JSON array of rows instead of a table")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, nil
		}
		return exitUsage, usagef("query: %v", err)
	}
	if *out == "" || fs.NArg() > 0 {
		return exitUsage, usagef("query: usage: tomscan query --out DIR (--verdict K | --endpoint H | --keyword W | --keyword-history W | --sql Q) [--json]")
	}
	var q string
	var qargs []any
	n := 0
	for _, p := range []struct{ preset, val string }{{"verdict", *verdict}, {"endpoint", *host}, {"keyword", *keyword}, {"keyword-history", *history}} {
		if p.val != "" {
			n++
			q, qargs = archive.Presets[p.preset], []any{p.val}
		}
	}
	if *sqlText != "" {
		n++
		q, qargs = *sqlText, nil
	}
	if n != 1 {
		return exitUsage, usagef("query: give exactly one of --verdict, --endpoint, --keyword, --keyword-history, --sql")
	}
	res, err := archive.Query(ctx, *out, q, qargs...)
	if errors.Is(err, archive.ErrNotSelect) {
		return exitUsage, usagef("query: --sql: %v", err)
	}
	if err != nil {
		return exitRuntime, fmt.Errorf("query: %w", err)
	}
	if *asJSON {
		objs := make([]map[string]any, 0, len(res.Rows))
		for _, row := range res.Rows {
			o := map[string]any{}
			for i, c := range res.Columns {
				o[c] = row[i]
			}
			objs = append(objs, o)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(objs); err != nil {
			return exitRuntime, fmt.Errorf("query: %w", err)
		}
		return exitOK, nil
	}
	fmt.Fprint(stdout, res.Table(reports.Terminal))
	fmt.Fprintf(stderr, "%d rows\n", len(res.Rows))
	return exitOK, nil
}
