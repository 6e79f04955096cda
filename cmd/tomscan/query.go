package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tomscan/tomscan/reports"
	"github.com/tomscan/tomscan/reports/archive"
	"github.com/tomscan/tomscan/reports/export"
)

// matchExpr is the one matching rule of query's text filters, as SQL over
// col with the filter as parameter ?1: a case-insensitive substring by
// default (SQLite's lower() folds ASCII letters only, which is what hosts
// and URLs use; Chinese keywords have no case), the whole value, byte for
// byte, with --exact.
func matchExpr(col string, exact bool) string {
	if exact {
		return col + " = ?1"
	}
	return "instr(lower(" + col + "), lower(?1)) > 0"
}

// querySQL is the SQL of a preset. Every preset gives one row per build,
// in version order; --per-endpoint gives one row per matching endpoint.
func querySQL(preset string, exact, perEndpoint bool) string {
	epMatch := "(" + matchExpr("e.value", exact) + " OR " + matchExpr("e.host", exact) + ")"
	kwMatch := matchExpr("k.keyword", exact)
	switch preset {
	case "verdict":
		return `SELECT sha256, version, verdict, confidence, status, endpoints, keywords, path
FROM builds WHERE verdict = ?1 ORDER BY version_rank, sha256`
	case "endpoint":
		if perEndpoint {
			return `SELECT b.sha256, b.version, b.verdict, e.host, e.value, e.class, e.country, e.node
FROM endpoints e JOIN builds b ON b.sha256 = e.build
WHERE ` + epMatch + ` ORDER BY b.version_rank, b.sha256, e.value, e.node`
		}
		return `SELECT b.sha256, b.version, b.verdict, count(*) AS endpoints,
  (SELECT group_concat(host, ', ') FROM (SELECT DISTINCT e.host FROM endpoints e
     WHERE e.build = b.sha256 AND ` + epMatch + ` ORDER BY e.host)) AS hosts, b.path
FROM builds b JOIN endpoints e ON e.build = b.sha256
WHERE ` + epMatch + ` GROUP BY b.sha256 ORDER BY b.version_rank, b.sha256`
	case "keyword":
		return `SELECT b.sha256, b.version, b.verdict, count(DISTINCT k.keyword) AS matched,
  (SELECT group_concat(list, ', ') FROM (SELECT DISTINCT k.list FROM keywords k
     WHERE k.build = b.sha256 AND ` + kwMatch + ` ORDER BY k.list)) AS lists,
  min(k.keyword) AS first_match, b.path
FROM builds b JOIN keywords k ON k.build = b.sha256
WHERE ` + kwMatch + ` GROUP BY b.sha256 ORDER BY b.version_rank, b.sha256`
	case "keyword-history":
		// every build that has a keyword list, in version order, with
		// whether one of its lists holds the word: when it appeared, when
		// it went away
		return `SELECT b.version, b.sha256, b.verdict, b.keyword_lists, b.keywords,
  EXISTS (SELECT 1 FROM keywords k WHERE k.build = b.sha256 AND ` + kwMatch + `) AS present
FROM builds b WHERE b.keyword_lists > 0 ORDER BY b.version_rank, b.sha256`
	}
	return ""
}

// cmdQuery answers questions from the archive's index: presets for the
// common ones, read-only SQL for the rest.
func cmdQuery(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	installHelp(fs, "query", stdout)
	var (
		out     = fs.String("out", "", "archive folder (required)")
		verdict = fs.String("verdict", "", "builds with this verdict kind: "+strings.Join(export.Kinds, ", "))
		host    = fs.String("endpoint", "", "builds with an endpoint whose URL or host contains this text")
		keyword = fs.String("keyword", "", "builds whose keyword lists hold a keyword containing this text")
		history = fs.String("keyword-history", "", "every build with keyword lists, in version order, and whether it holds a keyword containing this text")
		sqlText = fs.String("sql", "", "one read-only SELECT on index.sqlite (tables: builds, nodes, matches, endpoints, build_lists, list_keywords; view keywords)")
		exact   = fs.Bool("exact", false, "text filters match the whole value, case-sensitively, instead of a substring")
		perEP   = fs.Bool("per-endpoint", false, "with --endpoint: one row per matching endpoint instead of one per build")
		asJSON  = fs.Bool("json", false, "print a JSON array of rows instead of a table")
	)
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return parseExit(flagErr("query", err))
	}
	if len(rest) > 0 {
		return exitUsage, usagef("query: unexpected argument %q", rest[0])
	}
	if *out == "" {
		return exitUsage, usagef("query: --out DIR is required: the archive a scan wrote")
	}
	preset, val, n := "", "", 0
	for _, p := range []struct{ preset, val string }{{"verdict", *verdict}, {"endpoint", *host}, {"keyword", *keyword}, {"keyword-history", *history}, {"sql", *sqlText}} {
		if p.val != "" {
			n++
			preset, val = p.preset, p.val
		}
	}
	if n != 1 {
		return exitUsage, usagef("query: give exactly one of --verdict, --endpoint, --keyword, --keyword-history, --sql")
	}
	if preset == "verdict" && !validKind(val) {
		return exitUsage, usagef("query: --verdict %q is not a verdict kind; valid: %s", val, strings.Join(export.Kinds, ", "))
	}
	if *perEP && preset != "endpoint" {
		return exitUsage, usagef("query: --per-endpoint goes with --endpoint")
	}
	if *exact && (preset == "verdict" || preset == "sql") {
		return exitUsage, usagef("query: --exact goes with --endpoint, --keyword or --keyword-history")
	}
	if err := checkArchive("query", *out, true); err != nil {
		return exitUsage, err
	}
	var res *archive.Result
	if preset == "sql" {
		res, err = archive.Query(ctx, *out, val)
	} else {
		res, err = archive.Query(ctx, *out, querySQL(preset, *exact, *perEP), val)
	}
	if errors.Is(err, archive.ErrNotSelect) {
		return exitUsage, usagef("query: --sql: %v", err)
	}
	if preset == "sql" && isSQLError(err) {
		// a SELECT SQLite cannot run (a typo, a missing column) is the
		// user's to fix: a usage error, not a failed run
		return exitUsage, usagef("query: --sql: %v; the tables and columns: tomscan query --out %s --sql \"SELECT sql FROM sqlite_master\"", err, *out)
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

func validKind(k string) bool {
	for _, x := range export.Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// isSQLError says whether err is SQLite's own error about a statement
// (SQLITE_ERROR: syntax, unknown table or column), as modernc.org/sqlite
// reports it.
func isSQLError(err error) bool {
	var se interface{ Code() int }
	return errors.As(err, &se) && se.Code() == 1
}
